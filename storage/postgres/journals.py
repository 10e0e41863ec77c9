"""The audit log and the FAQ events in PostgreSQL: append-only tables, newest by id. A chat's
FAQ events also keep its row of `faq_chats` (migrations/0004_figures.sql): the deflection
rate counts a window of those rows instead of grouping every event ever written.

FAQ events only feed the figures, and the chat writes one at nearly every question: as in the
data folder (storage/journal.py), an append is queued and a group flush writes every event
queued meanwhile in one transaction. Whatever reads them flushes first; closing flushes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from typing import ClassVar

from psycopg import AsyncConnection

from ..concurrency import GroupFlush
from ..errors import DatabaseUnavailable, StorageError
from ..faq_chats import SEARCHES
from ..models import AuditEntry, ChatsReached, FaqEvent
from .database import Db, dumps

FLUSH_DELAY = 0.05


class AuditLog:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def append(self, entry: AuditEntry) -> None:
        await self._db.run(
            "INSERT INTO audit (target, entry) VALUES (%s, %s::json)",
            (entry.target, dumps(asdict(entry))),
        )

    async def flush(self) -> None:
        """Every append is a committed INSERT already."""

    async def recent(self, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        if target is None:
            rows = await self._db.rows(
                "SELECT entry FROM audit ORDER BY id DESC LIMIT %s", (limit,)
            )
        else:
            rows = await self._db.rows(
                "SELECT entry FROM audit WHERE target = %s ORDER BY id DESC LIMIT %s",
                (target, limit),
            )
        return [AuditEntry(**row[0]) for row in rows]


# A FAQ event of a chat, with its chat's row of faq_chats: one statement, one round trip.
EVENT = "INSERT INTO faq_events (at, conversation_id, event) VALUES (%s, %s, %s::json)"
SEARCHED = (
    f"WITH event AS ({EVENT}) INSERT INTO faq_chats (conversation_id, first_search)"
    " VALUES (%s, %s)"
    " ON CONFLICT (conversation_id) DO UPDATE"
    " SET first_search = least(faq_chats.first_search, excluded.first_search)"
)
SOLVED = (
    f"WITH event AS ({EVENT}) INSERT INTO faq_chats (conversation_id, solved) VALUES (%s, true)"
    " ON CONFLICT (conversation_id) DO UPDATE SET solved = true"
)

# Every chat's row of faq_chats computed again from its events: for events written without the
# store's insert (import-data's COPY). Running it twice changes nothing.
_SEARCHES = ", ".join(f"'{kind}'" for kind in SEARCHES)
CHATS_FROM_EVENTS = (
    "INSERT INTO faq_chats (conversation_id, first_search, solved) SELECT conversation_id,"
    f" min(at COLLATE \"C\") FILTER (WHERE event->>'kind' IN ({_SEARCHES})),"
    " bool_or(event->>'kind' = 'solved') FROM faq_events"
    f" WHERE conversation_id IS NOT NULL AND event->>'kind' IN ({_SEARCHES}, 'solved')"
    " GROUP BY conversation_id ON CONFLICT (conversation_id) DO UPDATE"
    " SET first_search = excluded.first_search, solved = excluded.solved"
)


class FaqEventLog:
    # As many as the data folder keeps in memory: the editors' report reads the same window.
    MEMORY: ClassVar[int] = 20_000

    def __init__(self, db: Db) -> None:
        self._db = db
        self._pending: list[FaqEvent] = []
        self._flusher = GroupFlush(
            self._write_pending, lambda: len(self._pending), FLUSH_DELAY, "faq_events",
            passing=(DatabaseUnavailable,),
        )

    async def append(self, event: FaqEvent) -> None:
        """Queued for the next group flush (see the module's docstring)."""
        if self._db.gate.closed:
            raise StorageError("the storage is closed")
        self._pending.append(event)
        self._flusher.schedule()

    async def flush(self) -> None:
        """Return once every event appended so far is in the database."""
        await self._flusher.flush()

    async def _write_pending(self) -> None:
        batch, self._pending = self._pending, []

        async def insert(conn: AsyncConnection) -> None:
            async with conn.pipeline():  # one round trip for the batch, in order
                for event in batch:
                    await conn.execute(*_statement(event))

        try:
            await self._db.write_queued(insert)
        except DatabaseUnavailable:
            self._pending[:0] = batch
            raise

    async def recent(self, limit: int = 1000) -> list[FaqEvent]:
        await self.flush()
        rows = await self._db.rows(
            "SELECT event FROM faq_events ORDER BY id DESC LIMIT %s", (min(limit, self.MEMORY),)
        )
        return [FaqEvent(**row[0]) for row in rows]

    async def chats_between(self, since: str, until: str) -> ChatsReached:
        await self.flush()
        row = await self._db.row(
            "SELECT count(*), count(*) FILTER (WHERE solved) FROM faq_chats"
            " WHERE first_search >= %s AND first_search < %s",
            (since, until),
        )
        return ChatsReached(*row) if row is not None else ChatsReached(0, 0)

    async def forget_conversations(self, conversation_ids: Collection[str]) -> int:
        ids = list(conversation_ids)
        if not ids:
            return 0
        await self.flush()

        # In Python rather than with jsonb_set: the record stays json, as written.
        async def blank(conn: AsyncConnection) -> int:
            cur = await conn.execute(
                "SELECT id, event FROM faq_events WHERE conversation_id = ANY(%s)"
                " AND event->>'query' <> '' FOR UPDATE",
                (ids,),
            )
            rows = await cur.fetchall()
            async with conn.cursor() as update:
                await update.executemany(
                    "UPDATE faq_events SET event = %s::json WHERE id = %s",
                    [(dumps({**event, "query": ""}), event_id) for event_id, event in rows],
                )
            return len(rows)

        return await self._db.write(blank)

    async def drop_before(self, day: str) -> int:
        await self.flush()
        # the chats first seen on those days leave the figures with their events
        row = await self._db.run(
            "WITH gone AS (DELETE FROM faq_events WHERE at < %(day)s"
            " RETURNING left(at, 10) AS day),"
            " chats AS (DELETE FROM faq_chats WHERE first_search < %(day)s)"
            " SELECT count(DISTINCT day) FROM gone",
            {"day": day},
        )
        return int(row[0][0])


def _statement(event: FaqEvent) -> tuple[str, tuple[object, ...]]:
    row = (event.at, event.conversation_id, dumps(asdict(event)))
    chat = event.conversation_id
    if chat is not None and event.kind in SEARCHES:
        return SEARCHED, (*row, chat, event.at)
    if chat is not None and event.kind == "solved":
        return SOLVED, (*row, chat)
    return EVENT, row
