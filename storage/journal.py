"""Append-only logs (the audit trail, the FAQ events): JSON lines in one file per UTC day.

These entries only feed the figures and the audit view, and the chat appends one at nearly
every step: a disk flush each, under one lock, was what made a crowd of students wait. So an
append is queued and returns at once, and a group flush writes every line queued meanwhile
with one write and one fsync per day file (`flush()` waits for it; closing the storage does).
A crash can lose the last moments' entries, never a ticket or a message, and can only tear the
last line of a file, which was never flushed: the owner cuts it at start. A bad line anywhere
else is damage, reported like a damaged ticket.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from .concurrency import Gate, GroupFlush, finish
from .errors import DamagedFile, StorageError
from .faq_chats import FaqChats
from .files import FILE_MODE, atomic_write, fsync_dir, is_temp, write_all
from .models import AuditEntry, ChatsReached, FaqEvent

log = logging.getLogger(__name__)
E = TypeVar("E")
DAY_FILE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\.jsonl")
Problems = list[tuple[Path, str]]
FLUSH_DELAY = 0.05
# Lines parsed at once at start: big enough to be fast, small enough not to leave the memory
# of a whole season's parsed audit trail behind in the allocator.
BATCH = 2000


def read_day(
    path: Path,
    decode: Callable[[dict[str, Any]], E],
    keep: Callable[[list[E]], object],
    *,
    repair: bool,
) -> None:
    """Pass the entries of one day file to keep(), a batch at a time. repair: cut a torn last
    line (the owner only, at start); otherwise it is ignored, as a reader that does not own the
    folder may see an append in flight."""
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1
    if end < len(raw) and repair:
        torn = len(raw) - end
        log.warning("%s: cutting a torn last line of %d bytes (never acknowledged)", path, torn)
        with open(path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    # Batch by batch, so that a season of parsed entries never sits in memory at once.
    start, count = 0, 0
    while start < end:
        stop = start
        for _ in range(BATCH):
            stop = raw.index(b"\n", stop, end) + 1
            if stop == end:
                break
        lines = raw[start:stop].split(b"\n")[:-1]
        keep(_decode_lines(lines, count, decode, path))
        start, count = stop, count + len(lines)


def _decode_lines(
    lines: list[bytes], first: int, decode: Callable[[dict[str, Any]], E], path: Path
) -> list[E]:
    try:
        # One parse per batch of lines is several times faster than one per line, and a
        # season's audit trail is read at every start. Any doubt: go line by line to say where.
        parsed = json.loads(b"[" + b",".join(lines) + b"]")
        if len(parsed) == len(lines):
            return [decode(data) for data in parsed]
    except (ValueError, TypeError):
        pass
    entries: list[E] = []
    for n, line in enumerate(lines, start=first + 1):
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            entries.append(decode(data))
        except (ValueError, TypeError) as e:
            raise DamagedFile(path, f"line {n} is not a valid entry ({e})") from None
    return entries


def _append_batch(batch: list[tuple[Path, bytes]]) -> None:
    lines: dict[Path, list[bytes]] = {}
    for path, line in batch:
        lines.setdefault(path, []).append(line)
    for path, day in lines.items():
        _append(path, b"".join(day))


def _append(path: Path, line: bytes) -> None:
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        size = os.fstat(fd).st_size
        try:
            write_all(fd, line)
            os.fsync(fd)
        except BaseException:
            # A line half written by a failed write (disk full) would sit in the middle of the
            # file once the next append succeeds, and read as damage: take it back.
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def _delete_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    fsync_dir(paths[0].parent)


class Journal(Generic[E]):
    def __init__(
        self,
        folder: Path,
        gate: Gate,
        decode: Callable[[dict[str, Any]], E],
        encode: Callable[[E], dict[str, Any]],
        memory: int,
        observe: Callable[[list[E]], None] | None = None,
    ) -> None:
        self.folder = folder
        self._gate = gate
        self._decode = decode
        self._encode = encode
        # The latest entries, for the console; older ones stay in their day files.
        self._recent: deque[E] = deque(maxlen=memory)
        # Told of every entry read at start or appended: an index that must see them all.
        self._observe = observe
        self._pending: list[tuple[Path, bytes]] = []
        self._flusher = GroupFlush(self._write_locked, lambda: len(self._pending), FLUSH_DELAY,
                                   str(folder))
        # Held while lines are appended, and while erasure rewrites or deletes day files.
        self._lock = asyncio.Lock()

    def files(self, problems: Problems) -> list[Path]:
        if not self.folder.is_dir():
            return []
        days: list[Path] = []
        for entry in os.scandir(self.folder):
            if is_temp(entry.name):
                continue
            if DAY_FILE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                days.append(Path(entry.path))
            else:
                problems.append((Path(entry.path), "not a day file (expected YYYY-MM-DD.jsonl)"))
        return sorted(days)

    def load(self, problems: Problems, *, repair: bool) -> None:
        """Read and verify every day file, keeping the latest entries in memory."""
        for path in self.files(problems):
            try:
                read_day(path, self._decode, self._keep, repair=repair)
            except DamagedFile as e:
                problems.append((e.path, e.reason))
            except OSError as e:
                problems.append((path, f"cannot be read ({e.strerror})"))

    def _keep(self, entries: list[E]) -> None:
        self._recent.extend(entries)
        if self._observe is not None:
            self._observe(entries)

    def read(self, path: Path) -> list[E]:
        """Every entry of one day file, in order (for a copy elsewhere; the file is left as
        it is)."""
        entries: list[E] = []
        read_day(path, self._decode, entries.extend, repair=False)
        return entries

    async def append(self, entry: E) -> None:
        """Queued for the next group flush (see the module's docstring)."""
        if self._gate.closed:
            raise StorageError("the storage is closed")
        line = json.dumps(self._encode(entry), ensure_ascii=False).encode() + b"\n"
        self._pending.append((self.folder / f"{datetime.now(UTC):%Y-%m-%d}.jsonl", line))
        self._keep([entry])
        self._flusher.schedule()

    async def flush(self) -> None:
        """Return once every entry appended so far is on disk."""
        await self._flusher.flush()

    async def _write_locked(self) -> None:
        async with self._lock:
            await self._write_pending()

    async def _write_pending(self) -> None:
        """Under the lock: the lines queued so far, to their day files (put back on failure)."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await finish(asyncio.to_thread(_append_batch, batch))
        except OSError:
            self._pending[:0] = batch
            raise

    async def rewrite(self, change: Callable[[E], bool]) -> int:
        """Apply change() to every entry, in the day files and in memory; a file where it
        returned True for some entry is replaced whole, atomically. How many entries changed.
        For erasure, which is rare: it reads every day file. The lines still queued are
        written first, so that they are changed too, and no flush lands in a file being
        replaced."""
        async with self._gate.enter(), self._lock:
            await self._write_pending()
            for entry in self._recent:
                change(entry)
            return await finish(asyncio.to_thread(self._rewrite, change))

    def _rewrite(self, change: Callable[[E], bool]) -> int:
        changed = 0
        for path in self.files([]):
            entries: list[E] = []
            read_day(path, self._decode, entries.extend, repair=False)
            here = sum(1 for entry in entries if change(entry))
            if here:
                lines = b"".join(
                    json.dumps(self._encode(e), ensure_ascii=False).encode() + b"\n"
                    for e in entries
                )
                atomic_write(path, lines)
                changed += here
        return changed

    async def drop_days_before(self, day: str) -> int:
        """Delete the day files before `day` (YYYY-MM-DD), and their entries from memory. How
        many files went."""
        async with self._gate.enter(), self._lock:  # no flush appends to a file being deleted
            old = [p for p in self.files([]) if p.name < f"{day}.jsonl"]
            if not old:
                return 0
            await finish(asyncio.to_thread(_delete_files, old))
            kept = [e for e in self._recent if not self._day_of(e) < day]
            self._recent.clear()
            self._recent.extend(kept)
            return len(old)

    async def search(self, field: str, value: str, limit: int) -> list[E]:
        """Newest first, up to limit entries whose `field` is `value`, from every day file
        rather than the latest in memory. Only the lines that hold the pair as append() writes
        it are parsed: a season's files, read for one account, in tens of milliseconds."""
        if len(self._recent) < (self._recent.maxlen or 0):
            # every entry of every day file is in memory still
            found = (e for e in reversed(self._recent) if getattr(e, field, None) == value)
            return list(itertools.islice(found, limit))
        await self.flush()
        async with self._gate.enter():
            return await asyncio.to_thread(self._search, field, value, limit)

    def _search(self, field: str, value: str, limit: int) -> list[E]:
        needle = json.dumps({field: value}, ensure_ascii=False)[1:-1].encode()
        found: list[E] = []
        for path in reversed(self.files([])):
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue  # a day past the retention, deleted meanwhile
            # An append in flight is never a whole line yet: cut it, as read_day does.
            lines = raw[: raw.rfind(b"\n") + 1].split(b"\n")[:-1]
            held = [line for line in lines if needle in line]
            for entry in reversed(_decode_lines(held, 0, self._decode, path)):
                if getattr(entry, field, None) == value:
                    found.append(entry)
                    if len(found) >= limit:
                        return found
        return found

    def _day_of(self, entry: E) -> str:
        return str(self._encode(entry).get("at", ""))[:10]

    def latest(self, limit: int) -> list[E]:
        """Newest first."""
        out: list[E] = []
        for entry in reversed(self._recent):
            if len(out) >= limit:
                break
            out.append(entry)
        return out


class AuditLog:
    """Who changed what: every operator action and every ticket event."""

    MEMORY: ClassVar[int] = 10_000

    def __init__(self, folder: Path, gate: Gate) -> None:
        self.journal: Journal[AuditEntry] = Journal(
            folder, gate, lambda d: AuditEntry(**d), asdict, self.MEMORY
        )

    async def append(self, entry: AuditEntry) -> None:
        await self.journal.append(entry)

    async def flush(self) -> None:
        await self.journal.flush()

    async def recent(self, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        """Newest first: the latest MEMORY entries; of one target, from the day files, since
        a season's ticket events push what was done to an account out of memory in days."""
        if target is None:
            return self.journal.latest(limit)
        return await self.journal.search("target", target, limit)


class FaqEventLog:
    """What the FAQ suggested and whether it helped: the editors' report reads these."""

    MEMORY: ClassVar[int] = 20_000

    def __init__(self, folder: Path, gate: Gate) -> None:
        self._chats = FaqChats()
        self.journal: Journal[FaqEvent] = Journal(
            folder, gate, lambda d: FaqEvent(**d), asdict, self.MEMORY, observe=self._chats.add
        )

    async def append(self, event: FaqEvent) -> None:
        await self.journal.append(event)

    async def flush(self) -> None:
        await self.journal.flush()

    async def chats_between(self, since: str, until: str) -> ChatsReached:
        """Every event since the first day file counts, not only the MEMORY latest."""
        return self._chats.between(since, until)

    async def recent(self, limit: int = 1000) -> list[FaqEvent]:
        """Newest first, from the latest MEMORY events."""
        return self.journal.latest(limit)

    async def forget_conversations(self, conversation_ids: Collection[str]) -> int:
        """Blank what the students of these chats typed (an erasure); the counts stay."""
        ids = set(conversation_ids)

        def blank(event: FaqEvent) -> bool:
            if event.conversation_id not in ids or not event.query:
                return False
            event.query = ""
            return True

        return await self.journal.rewrite(blank) if ids else 0

    async def drop_before(self, day: str) -> int:
        """Delete the events of the days before `day` (YYYY-MM-DD): past the retention; the
        chats first seen then leave the figures with them."""
        dropped = await self.journal.drop_days_before(day)
        self._chats.drop_before(day)
        return dropped
