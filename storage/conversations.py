"""Chat conversations (step, slots, transcript): one TinyDB file each, keyed by an id the
widget keeps, so a reload or a server restart resumes the same conversation.

A chat in progress is a working copy, not a promise: what a student is promised (a ticket, a
message, an attachment) is on disk before its answer, in its own store. So a step's save is
written behind: the chats saved within WRITE_BEHIND_SECONDS are written by one worker-thread
call, a chat saved twice meanwhile is written once, and closing the storage writes what is
left. One atomic write with two fsyncs per step, handed to a thread, was most of a deadline
crowd's server CPU after the journals (bench.load). A crash loses at most the last moments of
the chats in progress; `save(durable=True)` waits for the disk when a step records something
promised (an upload); if that write fails, the caller sees the error and the save stays
queued, to be written at the next try.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .concurrency import Gate, GroupFlush, finish
from .errors import DamagedFile, StorageError
from .files import ensure_dir, fsync_dir, is_temp, write_temp
from .layout import Layout, conversation_shard, valid_conversation_id
from .models import Conversation, ConversationBrief, utcnow
from .tinyfile import DOC_ID, encode, read_record

log = logging.getLogger(__name__)

TABLE = "conversation"
# The chats kept in memory: a deadline crowd's worth; an older one is read from its file.
RECENT_MAX = 4096
WRITE_BEHIND_SECONDS = 0.2
SHARD = re.compile(r"[0-9a-f]{2}")

Problems = list[tuple[Path, str]]


def read_conversation(path: str | Path, conversation_id: str) -> Conversation | None:
    data = read_record(path, TABLE)
    if data is None:
        return None
    try:
        conversation = Conversation.from_dict(data)
    except (TypeError, ValueError) as e:
        raise DamagedFile(Path(path), f"not a valid conversation record ({e})") from None
    if conversation.id != conversation_id:
        raise DamagedFile(Path(path), f"holds conversation {conversation.id!r}")
    return conversation


def brief(conversation: Conversation) -> ConversationBrief:
    return ConversationBrief.of(
        conversation.id, conversation.updated_at, conversation.slots.get("email"),
        conversation.emails, conversation.uploads,
    )


def scan_conversations(
    layout: Layout, problems: Problems, seen: Callable[[Conversation], None] | None = None
) -> int:
    """Read every conversation file, pass each good one to seen(); add a line to problems for
    each bad one. Never writes. Returns how many are healthy."""
    healthy = 0
    if not layout.conversations.is_dir():
        return healthy
    for shard in sorted(os.scandir(layout.conversations), key=lambda e: e.name):
        if is_temp(shard.name):
            continue
        if not (shard.is_dir(follow_symlinks=False) and SHARD.fullmatch(shard.name)):
            problems.append((Path(shard.path), "unexpected entry in the conversations folder"))
            continue
        for entry in sorted(os.scandir(shard.path), key=lambda e: e.name):
            if is_temp(entry.name):
                continue
            conversation_id = entry.name.removesuffix(".json")
            if not (entry.name.endswith(".json") and valid_conversation_id(conversation_id)):
                problems.append((Path(entry.path), "not a conversation file name"))
                continue
            if conversation_shard(conversation_id) != shard.name:
                problems.append((Path(entry.path), "conversation in the wrong shard"))
                continue
            try:
                conversation = read_conversation(entry.path, conversation_id)
                healthy += 1
                if seen is not None and conversation is not None:
                    seen(conversation)
            except DamagedFile as e:
                problems.append((e.path, e.reason))
            except OSError as e:
                problems.append((Path(entry.path), f"cannot be read ({e.strerror})"))
    return healthy


class ConversationStore:
    """Every step of a chat reads its conversation and writes it back. The chats in progress
    are kept in memory as last saved (this process owns the folder, so the file holds nothing
    newer), and a save encodes the record once, without copying the transcript: a step costs
    no read, and its write is shared with the other chats of the moment (see the module)."""

    def __init__(self, layout: Layout, gate: Gate) -> None:
        self._layout = layout
        self._gate = gate
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Saved, not yet on disk: id -> (record, encoded file). Read before the files.
        self._unwritten: dict[str, tuple[dict[str, Any], bytes]] = {}
        # Held while a batch is written, so that a delete never races a write of its file.
        self._writing = asyncio.Lock()
        self._flusher = GroupFlush(
            self._write_unwritten, lambda: len(self._unwritten), WRITE_BEHIND_SECONDS,
            str(layout.conversations),
        )

    async def get(self, conversation_id: str) -> Conversation | None:
        """None for an unknown id, and for a malformed one (it could not have been ours)."""
        if not valid_conversation_id(conversation_id):
            return None
        unwritten = self._unwritten.get(conversation_id)
        if unwritten is not None:
            return thaw_conversation(unwritten[0])
        record = self._recent.get(conversation_id)
        if record is not None:
            self._recent.move_to_end(conversation_id)
            return thaw_conversation(record)
        path = self._layout.conversation(conversation_id)
        return await asyncio.to_thread(read_conversation, path, conversation_id)

    async def resume(self, conversation_id: str) -> Conversation | None:
        # One process: no socket elsewhere to share the chat with.
        return await self.get(conversation_id)

    async def working_copy(self, conversation_id: str) -> Conversation | None:
        # This process owns the folder: its copy is the stored one.
        return await self.get(conversation_id)

    async def save(self, conversation: Conversation, *, durable: bool = False) -> None:
        """Create or replace; stamps updated_at. Written behind unless `durable` (see the
        module); either way a crash leaves the old file or the new one, whole. ValueError for a
        malformed id, which must never become part of a path."""
        if not valid_conversation_id(conversation.id):
            raise ValueError(f"malformed conversation id {conversation.id!r}")
        if self._gate.closed:
            raise StorageError("the storage is closed")
        conversation.updated_at = utcnow()
        # Frozen and encoded here: the caller may change the object once we return. The
        # entries of a transcript are never changed once written, so the record shares them.
        record = freeze_conversation(conversation)
        self._unwritten[conversation.id] = (record, encode({TABLE: {str(DOC_ID): record}}))
        self._recent.pop(conversation.id, None)
        self._recent[conversation.id] = record
        if len(self._recent) > RECENT_MAX:
            self._recent.popitem(last=False)
        self._flusher.schedule()
        if durable:
            await self._write_unwritten()  # now, and a failure is the caller's to see

    async def flush(self) -> None:
        """Return once every conversation saved so far is on disk."""
        await self._flusher.flush()

    async def _write_unwritten(self) -> None:
        async with self._writing:
            batch, self._unwritten = self._unwritten, {}
            files = [(self._layout.conversation(cid), data) for cid, (_, data) in batch.items()]
            try:
                await finish(asyncio.to_thread(_write_files, files))
            except OSError:
                for cid, unwritten in batch.items():
                    self._unwritten.setdefault(cid, unwritten)  # a newer save wins
                raise

    async def delete(self, conversation_id: str) -> None:
        """Gone from disk for good; nothing for an unknown or malformed id. The caller holds the
        conversation's lock in the web layer, so that no step saves it again meanwhile."""
        if not valid_conversation_id(conversation_id):
            return
        async with self._gate.enter(), self._writing:
            self._unwritten.pop(conversation_id, None)
            self._recent.pop(conversation_id, None)
            path = self._layout.conversation(conversation_id)
            await finish(asyncio.to_thread(_delete, path))

    async def briefs(self) -> list[ConversationBrief]:
        """Every conversation, without its transcript: for the retention sweep and the erasure,
        which run rarely. Reads every file, in a worker thread, once the saves are written."""
        await self.flush()
        return await asyncio.to_thread(self._briefs)

    def _briefs(self) -> list[ConversationBrief]:
        found: list[ConversationBrief] = []
        problems: Problems = []
        scan_conversations(self._layout, problems, lambda c: found.append(brief(c)))
        for path, reason in problems:
            # Verified at start; damage since then is the check's to report, not the sweep's.
            log.warning("%s: %s", path, reason)
        return found


def _delete(path: Path) -> None:
    if path.exists():
        path.unlink(missing_ok=True)
        fsync_dir(path.parent)


def _copied(record: dict[str, Any]) -> dict[str, Any]:
    """The containers a caller may change in place, copied; the transcript's entries shared."""
    return {
        **record,
        "slots": dict(record["slots"]),
        "transcript": list(record["transcript"]),
        "uploads": [dict(u) for u in record["uploads"]],
    }


def freeze_conversation(conversation: Conversation) -> dict[str, Any]:
    return _copied(conversation.to_dict())


def thaw_conversation(record: dict[str, Any]) -> Conversation:
    return Conversation.from_dict(_copied(record))


def _write_files(files: list[tuple[Path, bytes]]) -> None:
    """Each file whole (files.atomic_write), with one fsync per folder for all the renames."""
    folders: set[Path] = set()
    for path, data in files:
        ensure_dir(path.parent)
        tmp = write_temp(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        folders.add(path.parent)
    for folder in folders:
        fsync_dir(folder)
