"""Durable file primitives: every write lands whole or not at all, and survives a crash once
acknowledged.

A write goes to a temporary file in the same folder (so the rename cannot cross file systems),
is fsync'ed, then renamed over the target, and the folder is fsync'ed so the rename itself is on
disk. A crash leaves either the old file or the new one, plus at worst a temporary file, which
`sweep_temp` removes at the next start.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

TEMP_PREFIX = ".tmp-"
# Personal data of students: readable by the service account only.
FILE_MODE = 0o600
DIR_MODE = 0o700
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def is_temp(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def temp_prefix(target: Path) -> str:
    return f"{TEMP_PREFIX}{target.name}."


def temp_path(target: Path) -> Path:
    # Random suffix: two writers of the same target (never at once for one file, but a crashed
    # one may have left its temporary behind) never share a temporary file.
    return target.with_name(temp_prefix(target) + secrets.token_hex(4))


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(folder: Path) -> None:
    """Create a folder (and parents) durably: a new folder's entry lives in its parent."""
    if folder.is_dir():
        return
    ensure_dir(folder.parent)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=DIR_MODE)
    fsync_dir(folder.parent)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_temp(target: Path, data: bytes) -> Path:
    tmp = temp_path(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def publish(tmp: Path, target: Path, *, exclusive: bool = False) -> None:
    """Move a complete, fsync'ed temporary file into place and make the move durable.

    exclusive: fail with FileExistsError rather than replace an existing file. A hard link is
    the atomic "create only if absent" that rename lacks; it keeps a new record from ever
    overwriting an old one, whatever bug upstream drew the same name.
    """
    try:
        if exclusive:
            _link_or_replace(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def _link_or_replace(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except OSError as e:
        if e.errno not in _NO_HARD_LINKS:
            raise
        # Some mounted shares have no hard links. The owner of the folder serialises writes
        # to one file, so check-then-rename cannot race there.
        if target.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(target)) from None
        os.replace(tmp, target)
    else:
        tmp.unlink()


def atomic_write(target: Path, data: bytes, *, exclusive: bool = False) -> None:
    publish(write_temp(target, data), target, exclusive=exclusive)


def sweep_temp(folders: Iterable[Path], prefix: str = TEMP_PREFIX) -> list[Path]:
    """Delete the temporary files a crash left in these folders (not recursive). Only the owner
    of the data folder may call this: another writer's temporary file would vanish under it.
    prefix: narrower than TEMP_PREFIX, to sweep one target's temporary files only."""
    removed: list[Path] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        here = [
            Path(e.path)
            for e in entries
            if e.name.startswith(prefix) and e.is_file(follow_symlinks=False)
        ]
        for path in here:
            path.unlink(missing_ok=True)
        if here:
            fsync_dir(folder)
        removed.extend(here)
    return removed


def subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []
