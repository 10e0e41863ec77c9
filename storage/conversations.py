"""Chat conversations (step, slots, transcript): one TinyDB file each, keyed by an id the
widget keeps, so a reload or a server restart resumes the same conversation."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from .concurrency import Gate, KeyedLock, finish
from .errors import DamagedFile
from .files import atomic_write, ensure_dir, fsync_dir, is_temp
from .layout import Layout, conversation_shard, valid_conversation_id
from .models import Conversation, ConversationBrief, utcnow
from .tinyfile import DOC_ID, encode, read_record

log = logging.getLogger(__name__)

TABLE = "conversation"
# The chats kept in memory: a deadline crowd's worth; an older one is read from its file.
RECENT_MAX = 4096
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
        conversation.uploads,
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
    are kept in memory as last written (this process owns the folder, so the file holds
    nothing newer), and a write encodes the record once, without copying the transcript: a
    step costs the atomic write of one small file and no read."""

    def __init__(self, layout: Layout, gate: Gate) -> None:
        self._layout = layout
        self._gate = gate
        self._locks = KeyedLock()
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def get(self, conversation_id: str) -> Conversation | None:
        """None for an unknown id, and for a malformed one (it could not have been ours)."""
        if not valid_conversation_id(conversation_id):
            return None
        record = self._recent.get(conversation_id)
        if record is not None:
            self._recent.move_to_end(conversation_id)
            return _thaw(record)
        path = self._layout.conversation(conversation_id)
        return await asyncio.to_thread(read_conversation, path, conversation_id)

    async def save(self, conversation: Conversation) -> None:
        """Create or replace, atomically; stamps updated_at. ValueError for a malformed id,
        which must never become part of a path."""
        if not valid_conversation_id(conversation.id):
            raise ValueError(f"malformed conversation id {conversation.id!r}")
        async with self._gate.enter(), self._locks.hold(conversation.id):
            conversation.updated_at = utcnow()
            path = self._layout.conversation(conversation.id)
            # Frozen and encoded here, on the loop: the caller may change the object once we
            # return. The entries of a transcript are never changed once written, so the
            # frozen record shares them.
            record = _freeze(conversation)
            data = encode({TABLE: {str(DOC_ID): record}})
            self._recent.pop(conversation.id, None)  # a failed write must not be remembered
            await finish(asyncio.to_thread(_write_file, path, data))
            self._recent[conversation.id] = record
            if len(self._recent) > RECENT_MAX:
                self._recent.popitem(last=False)

    async def delete(self, conversation_id: str) -> None:
        """Gone from disk for good; nothing for an unknown or malformed id. The caller holds the
        conversation's lock in the web layer, so that no step saves it again meanwhile."""
        if not valid_conversation_id(conversation_id):
            return
        async with self._gate.enter(), self._locks.hold(conversation_id):
            self._recent.pop(conversation_id, None)
            path = self._layout.conversation(conversation_id)
            await finish(asyncio.to_thread(_delete, path))

    async def briefs(self) -> list[ConversationBrief]:
        """Every conversation, without its transcript: for the retention sweep and the erasure,
        which run rarely. Reads every file, in a worker thread."""
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


_FIELDS = tuple(f.name for f in fields(Conversation))


def _freeze(conversation: Conversation) -> dict[str, Any]:
    return _copied({name: getattr(conversation, name) for name in _FIELDS})


def _thaw(record: dict[str, Any]) -> Conversation:
    return Conversation.from_dict(_copied(record))


def _write_file(path: Path, data: bytes) -> None:
    ensure_dir(path.parent)
    atomic_write(path, data)
