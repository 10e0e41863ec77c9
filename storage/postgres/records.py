"""Conversations, operator accounts and attachments in PostgreSQL: one row each."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import datetime

from ..attachments import HEAD_BYTES
from ..concurrency import KeyedLock
from ..errors import StorageError
from ..layout import valid_attachment_id, valid_conversation_id
from ..models import Conversation, ConversationBrief, Operator, utcnow
from .database import Db, dumps


class ConversationStore:
    def __init__(self, db: Db) -> None:
        self._db = db
        # The saves of one conversation in this process land in the order they were asked
        # for; across processes the web layer's conversation lock orders them.
        self._locks = KeyedLock()

    async def get(self, conversation_id: str) -> Conversation | None:
        if not valid_conversation_id(conversation_id):
            return None
        row = await self._db.row(
            "SELECT record FROM conversations WHERE id = %s", (conversation_id,)
        )
        return Conversation.from_dict(row[0]) if row is not None else None

    async def save(self, conversation: Conversation, *, durable: bool = False) -> None:
        # Each save is a commit: durable whatever is asked.
        if not valid_conversation_id(conversation.id):
            raise ValueError(f"malformed conversation id {conversation.id!r}")
        async with self._locks.hold(conversation.id):
            conversation.updated_at = utcnow()
            await self._db.run(
                "INSERT INTO conversations (id, updated_at, record) VALUES (%s, %s, %s::json)"
                " ON CONFLICT (id) DO UPDATE"
                " SET updated_at = excluded.updated_at, record = excluded.record",
                (conversation.id, conversation.updated_at, dumps(conversation.to_dict())),
            )

    async def delete(self, conversation_id: str) -> None:
        if not valid_conversation_id(conversation_id):
            return
        async with self._locks.hold(conversation_id):
            await self._db.run("DELETE FROM conversations WHERE id = %s", (conversation_id,))

    async def briefs(self) -> list[ConversationBrief]:
        # Picked out in the database: the transcripts, the bulk of a chat, stay there.
        rows = await self._db.rows(
            "SELECT id, updated_at, record->'slots'->'email', record->'uploads'"
            " FROM conversations ORDER BY id"
        )
        return [ConversationBrief.of(row[0], row[1], row[2], row[3] or []) for row in rows]


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
