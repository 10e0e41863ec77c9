"""One process owns a data folder. TinyDB files have no protection against two writers, and two
processes appending to the same ticket would silently lose each other's messages."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .errors import DataFolderBusy
from .files import FILE_MODE

LOCK_NAME = ".lock"


class FolderLock:
    """An exclusive flock on DATA_DIR/.lock. The kernel drops it when the process dies, however
    it dies, so a crash never leaves a stale lock that needs removing by hand."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or None
            os.close(fd)
            raise DataFolderBusy(self.data_dir, owner) from None
        except BaseException:
            os.close(fd)
            raise
        # The pid is only for the refusal message of the next process; the lock is the flock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None
