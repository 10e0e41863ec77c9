"""Tickets: one TinyDB file each, an in-memory index of all of them, random numbers that are
never reused.

The mail outbox lives inside each ticket (Ticket.outbox), so an event and the mail announcing it
are written in one atomic step: there is no moment where one exists without the other.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .concurrency import Gate, KeyedLock, finish
from .errors import DamagedFile, StorageError, TicketNotFound
from .files import ensure_dir, is_temp
from .layout import Layout, valid_number
from .models import (
    DURATIONS,
    MOMENTS,
    TICKET_STATUSES,
    Duration,
    Moment,
    Spread,
    Ticket,
    TicketStatus,
    TicketSummary,
    TicketTimes,
    utcnow,
)
from .queue import QueuePage, QueueQuery, page_by_status, page_of
from .ticket_index import TicketIndex
from .tinyfile import RecordFile, read_record

T = TypeVar("T")
M = TypeVar("M", bound=str)
TABLE = "ticket"
NUMBERS = 1_000_000
# Random draws before falling back to listing the free numbers: at the density a helpdesk
# reaches (a few percent of the range per season) the first draw almost always succeeds.
DRAWS = 64
SHARD = re.compile(r"[0-9]{2}")

Problems = list[tuple[Path, str]]


def read_ticket(path: str | Path, number: str) -> Ticket:
    data = read_record(path, TABLE)
    if data is None:
        raise DamagedFile(Path(path), "the ticket file is missing")
    try:
        ticket = Ticket.from_dict(data)
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise DamagedFile(Path(path), f"not a valid ticket record ({e})") from None
    if ticket.number != number:
        raise DamagedFile(Path(path), f"holds ticket {ticket.number!r}, not {number}")
    if ticket.status not in TICKET_STATUSES:
        raise DamagedFile(Path(path), f"unknown status {ticket.status!r}")
    return ticket


def scan_tickets(
    layout: Layout, problems: Problems, seen: Callable[[Ticket], None]
) -> None:
    """Read every ticket file, pass each good ticket to seen(), and add a line to problems for
    each file that is damaged or has no business being there. Never writes."""
    if not layout.tickets.is_dir():
        return
    for shard in sorted(os.scandir(layout.tickets), key=lambda e: e.name):
        if is_temp(shard.name):
            continue
        if not (shard.is_dir(follow_symlinks=False) and SHARD.fullmatch(shard.name)):
            problems.append((Path(shard.path), "unexpected entry in the tickets folder"))
            continue
        # Plain strings, not Path objects, in this loop: it runs once per ticket at every start.
        for entry in sorted(os.scandir(shard.path), key=lambda e: e.name):
            if is_temp(entry.name):
                continue
            number = entry.name.removesuffix(".json")
            if not (entry.name.endswith(".json") and valid_number(number)):
                problems.append((Path(entry.path), "not a ticket file name (expected NNNNNN.json)"))
                continue
            if number[:2] != shard.name:
                problems.append((Path(entry.path), f"ticket in the wrong shard ({number[:2]}/)"))
                continue
            try:
                seen(read_ticket(entry.path, number))
            except DamagedFile as e:
                problems.append((e.path, e.reason))
            except OSError as e:
                problems.append((Path(entry.path), f"cannot be read ({e.strerror})"))


class TicketStore:
    def __init__(self, layout: Layout, index: TicketIndex, gate: Gate) -> None:
        self._layout = layout
        self._index = index
        self._gate = gate
        self._locks = KeyedLock()
        self._timeline = index.timeline

    def _draw(self) -> str:
        # secrets, not random: with the email, the number is the student's only credential.
        for _ in range(DRAWS):
            number = f"{secrets.randbelow(NUMBERS):06d}"
            if not self._index.is_used(number):
                return number
        free = [n for n in (f"{i:06d}" for i in range(NUMBERS)) if not self._index.is_used(n)]
        if not free:
            raise StorageError("every ticket number from 000000 to 999999 has been used")
        return secrets.choice(free)

    async def create(
        self, build: Callable[[str], Ticket], *, idempotency_key: str | None = None
    ) -> Ticket:
        """Draw a number never used before, build the ticket with it, write it, index it.
        One process: a second attempt cannot be under way elsewhere (idempotency_key)."""
        async with self._gate.enter():
            # Drawn and reserved with no await in between: concurrent creations cannot draw
            # the same number.
            number = self._draw()
            self._index.reserve(number)
            try:
                ticket = build(number)
                if ticket.number != number:
                    raise ValueError(f"build() returned ticket {ticket.number}, not {number}")
                await finish(self._write(ticket, new=True))
            finally:
                self._index.release(number)
            return ticket

    async def get(self, number: str) -> Ticket | None:
        # Unknown numbers are answered from memory: guessing costs no disk read.
        if not valid_number(number) or self._index.summary(number) is None:
            return None
        return await asyncio.to_thread(read_ticket, self._layout.ticket(number), number)

    async def update(
        self, number: str, change: Callable[[Ticket], T], *, touch: bool = True
    ) -> tuple[Ticket, T]:
        """Load, change (which mutates the ticket and may return a value), stamp updated_at,
        write, reindex. One update of a ticket at a time, so none loses another's change; if
        change raises, nothing is written. `touch=False` keeps updated_at for bookkeeping that
        is no news to anyone (a mail marked sent), so the queue's order stays the students'."""
        async with self._gate.enter(), self._locks.hold(number):
            if not valid_number(number) or self._index.summary(number) is None:
                raise TicketNotFound(number)
            ticket = await asyncio.to_thread(read_ticket, self._layout.ticket(number), number)
            result = change(ticket)
            if ticket.number != number:
                raise ValueError("a ticket's number cannot change")
            if touch:
                ticket.updated_at = utcnow()
            await finish(self._write(ticket, new=False))
            return ticket, result

    async def _write(self, ticket: Ticket, *, new: bool) -> None:
        path = self._layout.ticket(ticket.number)
        # Serialised here, on the loop: the caller may change the ticket once we return.
        await asyncio.to_thread(_write_file, path, ticket.to_dict(), new)
        self._index.put(ticket)

    # answered from memory (async all the same: a database answers them with a query)

    async def summaries(self) -> list[TicketSummary]:
        """All tickets, newest created first."""
        return self._index.summaries()

    async def queue(self, query: QueueQuery) -> QueuePage:
        index = self._index
        if query.text.strip() or query.number:
            return page_of(index.matching(query.text, query.number), query)
        return page_by_status(index.of_status(), index.tally, query)

    async def summary(self, number: str) -> TicketSummary | None:
        return self._index.summary(number)

    async def of_email(self, email: str) -> list[TicketSummary]:
        return self._index.of_email(email)

    async def conversations_in_use(self, among: Collection[str] | None = None) -> set[str]:
        return self._index.conversations_in_use(among)

    async def attachments_in_use(self) -> set[str]:
        return self._index.attachments_in_use()

    async def purging(self) -> list[str]:
        return self._index.purging()

    async def count(self) -> int:
        return len(self._index)

    # the office's figures and the students' queue (storage/protocol.py says what each
    # answers), by bisection in the timeline

    async def times_between(self, moment: Moment, since: str, until: str) -> list[TicketTimes]:
        return self._timeline.between(_known(moment, MOMENTS), since, until)

    async def counts_between(self, moment: Moment, bounds: Sequence[str]) -> list[int]:
        return self._timeline.counts(_known(moment, MOMENTS), bounds)

    async def spread_between(self, moment: Duration, since: str, until: str) -> Spread:
        return self._timeline.spread(_known(moment, DURATIONS), since, until)

    async def durations_between(
        self, moment: Duration, since: str, until: str
    ) -> list[tuple[str, float]]:
        return self._timeline.durations(_known(moment, DURATIONS), since, until)

    async def opened_by_subtopic(self, since: str, until: str) -> dict[tuple[str, str], int]:
        counts = self._timeline.count_by("subtopic", since, until)
        return {key: n for key, n in counts.items() if isinstance(key, tuple)}

    async def scores_between(self, since: str, until: str) -> dict[int, int]:
        counts = self._timeline.count_by("score", since, until)
        return {key: n for key, n in counts.items() if isinstance(key, int)}

    async def count_by_status(self) -> dict[TicketStatus, int]:
        return self._timeline.count_by_status()

    async def erased_open_now(self) -> int:
        return self._timeline.erased_open_now()

    async def waiting_now(self) -> tuple[int, str | None]:
        return self._timeline.waiting_now()

    async def queue_positions(self, numbers: Collection[str]) -> dict[str, int]:
        return self._timeline.queue_positions(numbers)


def _known(moment: M, known: tuple[M, ...]) -> M:
    if moment not in known:
        raise ValueError(f"unknown moment {moment!r}")
    return moment


def _write_file(path: Path, record: dict[str, Any], new: bool) -> None:
    if new:
        ensure_dir(path.parent)
        RecordFile(path, TABLE).create(record)
    else:
        RecordFile(path, TABLE).replace(record)
