"""The data folder's outbox: the mail in the tickets' records, claimed through the in-memory
index. One process serves a folder, so its claims (leases) live in memory too; they keep the
same promise as the database's: a claimed mail is nobody else's until settled, released or
the lease ends."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta

from .models import OutboxMail, Ticket, arrived
from .ticket_index import TicketIndex
from .tickets import TicketStore

Key = tuple[str, str]  # (ticket number, mail id)


def _plus(when: str, seconds: float) -> str:
    return (datetime.fromisoformat(when) + timedelta(seconds=seconds)).isoformat(
        timespec="milliseconds"
    )


class FolderOutbox:
    def __init__(self, tickets: TicketStore, index: TicketIndex) -> None:
        self._tickets = tickets
        self._index = index
        self._leases: dict[Key, tuple[str, str]] = {}  # -> (worker, until)

    async def claim(
        self, worker: str, now: str, limit: int, lease: float, *, horizon: float | None = None
    ) -> list[tuple[str, OutboxMail]]:
        latest = None if horizon is None else _plus(now, horizon)
        claimed: list[tuple[str, OutboxMail]] = []
        for number, mail in self._index.due_mail(now, latest):
            if len(claimed) >= limit:
                break
            held = self._leases.get((number, mail.id))
            if held is not None and not arrived(held[1], now, latest):
                continue
            self._leases[(number, mail.id)] = (worker, _plus(now, lease))
            claimed.append((number, mail))
        return claimed

    async def settle(
        self, number: str, mail_id: str, change: Callable[[OutboxMail], None]
    ) -> OutboxMail | None:
        def apply(ticket: Ticket) -> OutboxMail | None:
            for mail in ticket.outbox:
                if mail.id == mail_id:
                    change(mail)
                    return replace(mail)
            return None

        try:
            _, stored = await self._tickets.update(number, apply, touch=False)
        finally:
            self._leases.pop((number, mail_id), None)
        return stored

    async def release(self, worker: str, keep: Collection[tuple[str, str]] = ()) -> None:
        for key in [
            k for k, (holder, _) in self._leases.items() if holder == worker and k not in keep
        ]:
            del self._leases[key]

    async def next_due(self) -> str | None:
        times = []
        for number, mail in self._index.queued_mail():
            held = self._leases.get((number, mail.id))
            times.append(max(mail.next_try_at, held[1]) if held else mail.next_try_at)
        return min(times, default=None)

    async def parked(self) -> list[tuple[str, OutboxMail]]:
        return self._index.parked_mail()

    async def queued(self) -> int:
        return len(self._index.queued_mail())
