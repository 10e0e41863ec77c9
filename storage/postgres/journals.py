"""The audit log and the FAQ events in PostgreSQL: append-only tables, newest by id."""

from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar

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
            "INSERT INTO faq_events (event) VALUES (%s::json)", (dumps(asdict(event)),)
        )

    async def recent(self, limit: int = 1000) -> list[FaqEvent]:
        rows = await self._db.rows(
            "SELECT event FROM faq_events ORDER BY id DESC LIMIT %s", (min(limit, self.MEMORY),)
        )
        return [FaqEvent(**row[0]) for row in rows]
