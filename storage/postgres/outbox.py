"""The outbox in PostgreSQL: each ticket's mails are rows of `outbox`, written with the ticket
(tickets.py). Workers of every process claim due mail with FOR UPDATE SKIP LOCKED and a lease,
so no two send one mail at once and a dead worker's mail is sent by another."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from ..models import OutboxMail, Ticket
from .database import Db
from .tickets import TicketStore


def _time(value: datetime) -> str:
    """A timestamptz in the records' shape (storage.utcnow)."""
    return value.isoformat(timespec="milliseconds")


def _later(now: str, seconds: float) -> datetime:
    return datetime.fromisoformat(now) + timedelta(seconds=seconds)


class OutboxStore:
    def __init__(self, db: Db, tickets: TicketStore) -> None:
        self._db = db
        self._tickets = tickets

    async def claim(
        self, worker: str, now: str, limit: int, lease: float, *, horizon: float | None = None
    ) -> list[tuple[str, OutboxMail]]:
        # latest: NULL without a horizon, and a comparison with NULL is never true
        rows = await self._db.run(
            "WITH due AS (SELECT number, id FROM outbox WHERE state = 'queued'"
            " AND (next_try_at <= %(now)s::timestamptz OR next_try_at > %(latest)s)"
            " AND (lease_until IS NULL OR lease_until <= %(now)s::timestamptz"
            " OR lease_until > %(latest)s)"
            " ORDER BY next_try_at, created_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
            " UPDATE outbox o SET leased_by = %(worker)s,"
            " lease_until = %(now)s::timestamptz + make_interval(secs => %(lease)s)"
            " FROM due WHERE o.number = due.number AND o.id = due.id"
            " RETURNING o.next_try_at, o.created_at, o.number, o.mail",
            {
                "now": now,
                "latest": None if horizon is None else _later(now, horizon),
                "limit": limit,
                "worker": worker,
                "lease": lease,
            },
        )
        rows.sort(key=lambda row: (row[0], row[1]))
        return [(row[2], OutboxMail(**row[3])) for row in rows]

    async def settle(
        self, number: str, mail_id: str, change: Callable[[OutboxMail], None]
    ) -> OutboxMail | None:
        def apply(ticket: Ticket) -> OutboxMail | None:
            for mail in ticket.outbox:
                if mail.id == mail_id:
                    change(mail)
                    return mail
            return None

        _, stored = await self._tickets.modify(number, apply, touch=False, settled=mail_id)
        return stored

    async def release(self, worker: str, keep: Collection[tuple[str, str]] = ()) -> None:
        await self._db.run(
            "UPDATE outbox SET leased_by = NULL, lease_until = NULL WHERE leased_by = %s"
            " AND (number, id) NOT IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            (worker, [number for number, _ in keep], [mail_id for _, mail_id in keep]),
        )

    async def next_due(self) -> str | None:
        row = await self._db.row(
            "SELECT min(greatest(next_try_at, lease_until)) FROM outbox WHERE state = 'queued'"
        )
        return _time(row[0]) if row is not None and row[0] is not None else None

    async def parked(self) -> list[tuple[str, OutboxMail]]:
        rows = await self._db.rows(
            "SELECT number, mail FROM outbox WHERE state = 'parked' ORDER BY created_at, number"
        )
        return [(row[0], OutboxMail(**row[1])) for row in rows]

    async def queued(self) -> int:
        row = await self._db.row("SELECT count(*) FROM outbox WHERE state = 'queued'")
        return int(row[0]) if row is not None else 0
