"""The audit log and the FAQ events in PostgreSQL: append-only tables, newest by id."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from typing import ClassVar

from psycopg import AsyncConnection

from ..models import AuditEntry, FaqEvent
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


class FaqEventLog:
    # As many as the data folder keeps in memory: the editors' report reads the same window.
    MEMORY: ClassVar[int] = 20_000

    def __init__(self, db: Db) -> None:
        self._db = db

    async def append(self, event: FaqEvent) -> None:
        await self._db.run(
            "INSERT INTO faq_events (at, conversation_id, event) VALUES (%s, %s, %s::json)",
            (event.at, event.conversation_id, dumps(asdict(event))),
        )

    async def recent(self, limit: int = 1000) -> list[FaqEvent]:
        rows = await self._db.rows(
            "SELECT event FROM faq_events ORDER BY id DESC LIMIT %s", (min(limit, self.MEMORY),)
        )
        return [FaqEvent(**row[0]) for row in rows]

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
        row = await self._db.run(
            "WITH gone AS (DELETE FROM faq_events WHERE at < %s RETURNING left(at, 10) AS day)"
            " SELECT count(DISTINCT day) FROM gone",
            (day,),
        )
        return int(row[0][0])
