"""Uploaded files, kept under random names (never the uploaded name, which is the student's
input and could be anything, "../../x" included). Their metadata (shown name, size, type) lives
in the ticket's message; here there are only bytes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from .concurrency import Gate, finish
from .errors import StorageError
from .files import FILE_MODE, ensure_dir, fsync_dir, is_temp, publish, temp_path, write_all
from .layout import Layout, valid_attachment_id

HEAD_BYTES = 512
SHARD = re.compile(r"[0-9a-f]{2}")
Problems = list[tuple[Path, str]]


class Upload:
    """A file being received into a temporary file; it gets an id only when committed."""

    def __init__(self, layout: Layout, gate: Gate, tmp: Path, fd: int) -> None:
        self._layout = layout
        self._gate = gate
        self._tmp = tmp
        self._fd: int | None = fd
        self.size = 0
        # The caller detects the type from the content, never from the name or the header.
        self.head = b""
        self.attachment_id: str | None = None

    async def write(self, chunk: bytes) -> None:
        if self._fd is None:
            raise StorageError("the upload is already committed or abandoned")
        await asyncio.to_thread(write_all, self._fd, chunk)
        self.size += len(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head = (self.head + chunk)[:HEAD_BYTES]

    async def commit(self) -> str:
        """Make the file durable under a fresh random id and return the id."""
        if self._fd is None:
            raise StorageError("the upload is already committed or abandoned")
        async with self._gate.enter():
            fd, self._fd = self._fd, None
            attachment_id = secrets.token_hex(16)
            target = self._layout.attachment(attachment_id)
            await finish(asyncio.to_thread(_commit, fd, self._tmp, target))
            self.attachment_id = attachment_id
            return attachment_id

    def _abandon(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.attachment_id is None:
            self._tmp.unlink(missing_ok=True)


def _commit(fd: int, tmp: Path, target: Path) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    ensure_dir(target.parent)
    publish(tmp, target, exclusive=True)


def _open_temp(folder: Path) -> tuple[Path, int]:
    ensure_dir(folder)
    tmp = temp_path(folder / "upload")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    return tmp, fd


def scan_attachments(layout: Layout, problems: Problems) -> set[str]:
    """The ids of the attachment files present; a line in problems for anything else there."""
    return set(attachment_times(layout, problems))


def attachment_times(layout: Layout, problems: Problems) -> dict[str, float]:
    """The attachment files present, each with the time it was stored (its mtime: written once,
    never changed); a line in problems for anything else there."""
    found: dict[str, float] = {}
    if not layout.attachments.is_dir():
        return found
    for shard in os.scandir(layout.attachments):
        if is_temp(shard.name):
            continue
        if not (shard.is_dir(follow_symlinks=False) and SHARD.fullmatch(shard.name)):
            problems.append((Path(shard.path), "unexpected entry in the attachments folder"))
            continue
        for entry in os.scandir(shard.path):
            if is_temp(entry.name):
                continue
            if not (
                valid_attachment_id(entry.name)
                and entry.name[:2] == shard.name
                and entry.is_file(follow_symlinks=False)
            ):
                problems.append((Path(entry.path), "not an attachment file"))
                continue
            found[entry.name] = entry.stat(follow_symlinks=False).st_mtime
    return found


class AttachmentStore:
    def __init__(self, layout: Layout, gate: Gate) -> None:
        self._layout = layout
        self._gate = gate

    def receive(self) -> contextlib.AbstractAsyncContextManager[Upload]:
        """async with store.receive() as upload: write chunks, check size and head, commit.
        Leaving the block without commit (a rejected upload, an error) deletes what was
        received: nothing is left behind."""
        return self._receive()

    @contextlib.asynccontextmanager
    async def _receive(self) -> AsyncIterator[Upload]:
        tmp, fd = await asyncio.to_thread(_open_temp, self._layout.attachments)
        upload = Upload(self._layout, self._gate, tmp, fd)
        try:
            yield upload
        finally:
            await asyncio.to_thread(upload._abandon)

    def path(self, attachment_id: str) -> Path | None:
        """The file of an attachment; None for an unknown or malformed id (no traversal)."""
        if not valid_attachment_id(attachment_id):
            return None
        path = self._layout.attachment(attachment_id)
        return path if path.is_file() else None

    async def read(self, attachment_id: str) -> bytes | None:
        path = self.path(attachment_id)
        if path is None:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:  # deleted since path() looked
            return None

    async def stored_before(self, moment: datetime) -> list[str]:
        """The ids of the files stored before this moment (an aware datetime), whoever uses
        them: the retention sweep keeps those a ticket or a chat still points at."""
        limit = moment.timestamp()
        times = await asyncio.to_thread(attachment_times, self._layout, [])
        return sorted(a for a, stored in times.items() if stored < limit)

    async def delete(self, attachment_id: str) -> None:
        path = self.path(attachment_id)
        if path is None:
            return
        async with self._gate.enter():
            await finish(asyncio.to_thread(_delete, path))


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
