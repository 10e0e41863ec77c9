"""The audit log and the FAQ events in PostgreSQL: append-only tables, newest by id. A chat's
FAQ events also keep its row of `faq_chats` (migrations/0004_figures.sql): the deflection
rate counts a window of those rows instead of grouping every event ever written."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from typing import ClassVar

from psycopg import AsyncConnection

from ..faq_chats import SEARCHES
from ..models import AuditEntry, ChatsReached, FaqEvent
from .database import Db, dumps


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

    async def append(self, event: FaqEvent) -> None:
        row = (event.at, event.conversation_id, dumps(asdict(event)))
        chat = event.conversation_id
        if chat is not None and event.kind in SEARCHES:
            await self._db.run(SEARCHED, (*row, chat, event.at))
        elif chat is not None and event.kind == "solved":
            await self._db.run(SOLVED, (*row, chat))
        else:
            await self._db.run(EVENT, row)

    async def recent(self, limit: int = 1000) -> list[FaqEvent]:
        rows = await self._db.rows(
            "SELECT event FROM faq_events ORDER BY id DESC LIMIT %s", (min(limit, self.MEMORY),)
        )
        return [FaqEvent(**row[0]) for row in rows]

    async def chats_between(self, since: str, until: str) -> ChatsReached:
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
        # the chats first seen on those days leave the figures with their events
        row = await self._db.run(
            "WITH gone AS (DELETE FROM faq_events WHERE at < %(day)s"
            " RETURNING left(at, 10) AS day),"
            " chats AS (DELETE FROM faq_chats WHERE first_search < %(day)s)"
            " SELECT count(DISTINCT day) FROM gone",
            {"day": day},
        )
        return int(row[0][0])
