"""Conversations, operator accounts and attachments in PostgreSQL: one row each."""

from __future__ import annotations

import contextlib
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from ..attachments import HEAD_BYTES
from ..concurrency import KeyedLock
from ..conversations import RECENT_MAX, freeze_conversation, thaw_conversation
from ..errors import ConversationChanged, StorageError
from ..layout import valid_attachment_id, valid_conversation_id
from ..models import Conversation, ConversationBrief, Operator, utcnow
from .database import Db, dumps


class ConversationStore:
    """Each save names the version of the chat it changes (migrations/0006): a student's two
    tabs may sit on two processes, and a copy that another process's save has overtaken must
    not overwrite it (ConversationChanged; the chat step is taken again on the stored chat).
    That also lets a chat step work on this process's last copy (working_copy) instead of
    reading the row again: a round trip less per step, and the version still catches a copy
    that is behind."""

    def __init__(self, db: Db) -> None:
        self._db = db
        # The saves of one conversation in this process land in the order they were asked for.
        self._locks = KeyedLock()
        # id -> (version, shared, record) as last read or saved here
        self._recent: OrderedDict[str, tuple[int, bool, dict[str, Any]]] = OrderedDict()

    async def get(self, conversation_id: str) -> Conversation | None:
        if not valid_conversation_id(conversation_id):
            return None
        return self._known(
            conversation_id,
            await self._db.row(
                "SELECT version, shared, record FROM conversations WHERE id = %s",
                (conversation_id,),
            ),
        )

    async def resume(self, conversation_id: str) -> Conversation | None:
        # The mark and the read are one statement: a save by another process lands before it
        # (and is read here) or after it (and returns shared), never in between.
        if not valid_conversation_id(conversation_id):
            return None
        rows = await self._db.run(
            "UPDATE conversations SET shared = true WHERE id = %s"
            " RETURNING version, shared, record",
            (conversation_id,),
        )
        return self._known(conversation_id, rows[0] if rows else None)

    def _known(self, conversation_id: str, row: tuple[Any, ...] | None) -> Conversation | None:
        if row is None:
            self._recent.pop(conversation_id, None)
            return None
        version, shared, record = row
        self._remember(conversation_id, version, shared, record)
        return _thawed(version, shared, record)

    async def working_copy(self, conversation_id: str) -> Conversation | None:
        known = self._recent.get(conversation_id)
        if known is None:
            return await self.get(conversation_id)
        self._recent.move_to_end(conversation_id)
        return _thawed(*known)

    async def save(self, conversation: Conversation, *, durable: bool = False) -> None:
        # Each save is a commit: durable whatever is asked.
        if not valid_conversation_id(conversation.id):
            raise ValueError(f"malformed conversation id {conversation.id!r}")
        async with self._locks.hold(conversation.id):
            conversation.updated_at = utcnow()
            record = freeze_conversation(conversation)
            if conversation.version:
                rows = await self._db.run(
                    "UPDATE conversations SET updated_at = %s, record = %s::json,"
                    " version = version + 1 WHERE id = %s AND version = %s"
                    " RETURNING version, shared",
                    (conversation.updated_at, dumps(record), conversation.id,
                     conversation.version),
                )
            else:
                rows = await self._db.run(
                    "INSERT INTO conversations (id, updated_at, record, shared)"
                    " VALUES (%s, %s, %s::json, false)"
                    " ON CONFLICT (id) DO NOTHING RETURNING version, shared",
                    (conversation.id, conversation.updated_at, dumps(record)),
                )
            if not rows:
                self._recent.pop(conversation.id, None)
                raise ConversationChanged(conversation.id)
            conversation.version, conversation.shared = rows[0]
            self._remember(conversation.id, conversation.version, conversation.shared, record)

    def _remember(
        self, conversation_id: str, version: int, shared: bool, record: dict[str, Any]
    ) -> None:
        self._recent.pop(conversation_id, None)
        self._recent[conversation_id] = (version, shared, record)
        if len(self._recent) > RECENT_MAX:
            self._recent.popitem(last=False)

    async def delete(self, conversation_id: str) -> None:
        if not valid_conversation_id(conversation_id):
            return
        async with self._locks.hold(conversation_id):
            self._recent.pop(conversation_id, None)
            await self._db.run("DELETE FROM conversations WHERE id = %s", (conversation_id,))

    async def briefs(self) -> list[ConversationBrief]:
        # Picked out in the database: the transcripts, the bulk of a chat, stay there.
        rows = await self._db.rows(
            "SELECT id, updated_at, record->'slots'->'email', record->'emails', record->'uploads'"
            " FROM conversations ORDER BY id"
        )
        return [ConversationBrief.of(row[0], row[1], row[2], row[3], row[4] or []) for row in rows]


def _thawed(version: int, shared: bool, record: dict[str, Any]) -> Conversation:
    conversation = thaw_conversation(record)
    conversation.version = version
    conversation.shared = shared
    return conversation


class OperatorStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def get(self, username: str) -> Operator | None:
        row = await self._db.row("SELECT record FROM operators WHERE username = %s", (username,))
        return Operator.from_dict(row[0]) if row is not None else None

    async def list(self) -> list[Operator]:
        rows = await self._db.rows("SELECT record FROM operators ORDER BY username")
        return [Operator.from_dict(row[0]) for row in rows]

    async def put(self, operator: Operator) -> None:
        await self._db.run(
            "INSERT INTO operators (username, record) VALUES (%s, %s::json)"
            " ON CONFLICT (username) DO UPDATE SET record = excluded.record",
            (operator.username, dumps(operator.to_dict())),
        )

    async def add(self, operator: Operator) -> bool:
        rows = await self._db.run(
            "INSERT INTO operators (username, record) VALUES (%s, %s::json)"
            " ON CONFLICT (username) DO NOTHING RETURNING 1",
            (operator.username, dumps(operator.to_dict())),
        )
        return bool(rows)

    async def swap(self, old: Operator, new: Operator) -> bool:
        async def work(conn: AsyncConnection) -> bool:
            cur = await conn.execute(
                "SELECT record FROM operators WHERE username = %s FOR UPDATE", (old.username,)
            )
            row = await cur.fetchone()
            # Compared as records, not as JSON text: the key order is not the stored text's.
            if row is None or Operator.from_dict(row[0]) != old:
                return False
            await conn.execute(
                "UPDATE operators SET record = %s::json WHERE username = %s",
                (dumps(new.to_dict()), old.username),
            )
            return True

        return await self._db.write(work)


class Upload:
    """Received into memory (uploads are capped by the caller at 2 MiB), stored at commit."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self._data: bytearray | None = bytearray()
        self.size = 0
        self.head = b""
        self.attachment_id: str | None = None

    async def write(self, chunk: bytes) -> None:
        if self._data is None:
            raise StorageError("the upload is already committed or abandoned")
        self._data += chunk
        self.size = len(self._data)
        self.head = bytes(self._data[:HEAD_BYTES])

    async def commit(self) -> str:
        if self._data is None:
            raise StorageError("the upload is already committed or abandoned")
        data, self._data = bytes(self._data), None
        attachment_id = secrets.token_hex(16)
        await self._db.run(
            "INSERT INTO attachments (id, size, bytes) VALUES (%s, %s, %s)",
            (attachment_id, len(data), data),
        )
        self.attachment_id = attachment_id
        return attachment_id

    def abandon(self) -> None:
        self._data = None


class AttachmentStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    def receive(self) -> contextlib.AbstractAsyncContextManager[Upload]:
        return self._receive()

    @contextlib.asynccontextmanager
    async def _receive(self) -> AsyncIterator[Upload]:
        upload = Upload(self._db)
        try:
            yield upload
        finally:
            upload.abandon()

    async def read(self, attachment_id: str) -> bytes | None:
        if not valid_attachment_id(attachment_id):
            return None
        row = await self._db.row("SELECT bytes FROM attachments WHERE id = %s", (attachment_id,))
        return bytes(row[0]) if row is not None else None

    async def delete(self, attachment_id: str) -> None:
        if valid_attachment_id(attachment_id):
            await self._db.run("DELETE FROM attachments WHERE id = %s", (attachment_id,))

    async def stored_before(self, moment: datetime) -> list[str]:
        rows = await self._db.rows(
            "SELECT id FROM attachments WHERE created_at < %s ORDER BY id", (moment,)
        )
        return [row[0] for row in rows]
