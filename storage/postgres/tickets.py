"""Tickets and their outboxes in PostgreSQL.

A ticket is a row (the record without its outbox, plus the columns the queue sorts and searches
on); its mails are rows of `outbox`, written in the same transaction as the ticket change that
queued them. An update holds the ticket's row lock from read to write, which serialises the
updates of one ticket across every process. Claiming the mail is outbox.py's.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import asdict
from typing import Any, TypeVar

from psycopg import AsyncConnection

from ..errors import StorageError, TicketNotFound
from ..layout import valid_number
from ..models import TICKET_STATUSES, OutboxMail, Ticket, TicketSummary, TicketTimes, utcnow
from ..queue import QueuePage, QueueQuery
from ..ticket_index import email_key, needles, search_text
from ..tickets import DRAWS, NUMBERS
from .database import Db, Row, dumps
from .figures import TicketFigures

T = TypeVar("T")
# LIKE's wildcards and its escape character (a backslash, by default)
_LIKE_SPECIAL = re.compile(r"[\\%_]")
# After DRAWS random numbers all taken, a free one is picked among those left; two processes
# may pick the same, so that is retried too, a few times.
PICKS = 8

TICKET = (
    "SELECT t.record, coalesce((SELECT json_agg(o.mail ORDER BY o.position) FROM outbox o"
    " WHERE o.number = t.number), '[]'::json) FROM tickets t WHERE t.number = %s"
)


def _ticket(row: Row) -> Ticket:
    record, outbox = row
    try:
        return Ticket.from_dict({**record, "outbox": outbox})
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise StorageError(f"ticket {record.get('number')!r} is not a valid record ({e})") from e


async def stored_ticket(conn: AsyncConnection, number: str) -> Ticket | None:
    cur = await conn.execute(TICKET, (number,))
    row = await cur.fetchone()
    return _ticket(row) if row is not None else None


async def _opened_with(conn: AsyncConnection, idempotency_key: str | None) -> str | None:
    """The number of the ticket already opened with this key, if any."""
    if idempotency_key is None:
        return None
    cur = await conn.execute(
        "SELECT number FROM used_numbers WHERE idempotency_key = %s", (idempotency_key,)
    )
    row = await cur.fetchone()
    return str(row[0]) if row is not None else None


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """The row of a ticket: its record, and the columns queries filter, sort and count on."""
    record = ticket.to_dict()
    del record["outbox"]
    times = TicketTimes.of(ticket)
    summary = TicketSummary.of(ticket)
    return {
        "email_key": email_key(ticket.email),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        # Text columns cannot hold NUL; search never looks for one.
        "search_text": search_text(ticket).decode("utf-8", "ignore").replace("\x00", ""),
        "summary": dumps(asdict(summary)),
        "record": dumps(record),
        # the moments the figures and the queue count (storage/README.md, "Figures")
        "status": times.status,
        "topic": times.topic,
        "subtopic": times.subtopic,
        "first_response_at": times.first_response_at,
        "first_response_seconds": times.first_response_seconds,
        "closed_at": times.closed_at,
        "resolution_seconds": times.resolution_seconds,
        "rated_at": times.rated_at,
        "rating_score": times.score,
        "anonymised": times.anonymised,
        "holder": ticket.operator or "",  # the queue's filter: "" for nobody
        # the queue's "waiting" order (migration 0011)
        "awaits_office": summary.awaits_office,
        "waiting_since": summary.waiting_since,
        # what the retention sweep and the erasure look for (storage/retention.py)
        "conversation_id": ticket.conversation_id,
        "attachments": [a.id for m in ticket.messages for a in m.attachments],
        "purging": ticket.purge is not None,
        "number": ticket.number,
    }


def _value(column: str) -> str:
    return f"%({column})s::json" if column in ("summary", "record") else f"%({column})s"


# The names, read off a row once, so that no column can be left out of any statement.
_NAMES = list(ticket_row(Ticket("000000", "", "", "", "", "")))
TICKET_COLUMNS = ", ".join(_NAMES)
MAIL_COLUMNS = "position, state, created_at, next_try_at, mail, number, id"
INSERT = (
    f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join(_value(c) for c in _NAMES)})"
)
INSERT_MAIL = (
    f"INSERT INTO outbox ({MAIL_COLUMNS}) VALUES (%s, %s, %s, %s::timestamptz, %s::json, %s, %s)"
)
UPDATE = (
    f"UPDATE tickets SET {', '.join(f'{c} = {_value(c)}' for c in _NAMES if c != 'number')}"
    " WHERE number = %(number)s"
)


def columns(ticket: Ticket) -> tuple[Any, ...]:
    """The values of TICKET_COLUMNS, in order: import-data's COPY."""
    return tuple(ticket_row(ticket).values())


def mail_row(number: str, position: int, mail: OutboxMail) -> tuple[Any, ...]:
    return (
        position, mail.state, mail.created_at, mail.next_try_at, dumps(asdict(mail)),
        number, mail.id,
    )


async def _write_outbox(
    conn: AsyncConnection, number: str, mails: list[OutboxMail], before: dict[str, Any]
) -> None:
    """Store what changed in a ticket's outbox since `before` (id -> (position, dict))."""
    now = {m.id: (i, m) for i, m in enumerate(mails)}
    gone = [(number, mail_id) for mail_id in before if mail_id not in now]
    new = [mail_row(number, i, m) for mail_id, (i, m) in now.items() if mail_id not in before]
    changed = [
        mail_row(number, i, m)
        for mail_id, (i, m) in now.items()
        if mail_id in before and before[mail_id] != (i, asdict(m))
    ]
    async with conn.cursor() as cur:
        if gone:
            await cur.executemany("DELETE FROM outbox WHERE number = %s AND id = %s", gone)
        if new:
            await cur.executemany(INSERT_MAIL, new)
        if changed:
            await cur.executemany(
                "UPDATE outbox SET position = %s, state = %s, created_at = %s,"
                " next_try_at = %s::timestamptz, mail = %s::json WHERE number = %s AND id = %s",
                changed,
            )


# storage.queue.SORTS in SQL: each over tickets newest created first, as there.
QUEUE_ORDER = {
    "newest": "created_at DESC, number DESC",
    "oldest": "created_at ASC, number DESC",
    "waiting": "awaits_office DESC, waiting_since ASC, created_at DESC, number DESC",
    "updated": "updated_at DESC, created_at DESC, number DESC",
}


def _summaries(rows: list[Row]) -> list[TicketSummary]:
    return [TicketSummary.from_dict(row[0]) for row in rows]


class TicketStore(TicketFigures):
    def __init__(self, db: Db) -> None:
        self._db = db

    async def create(
        self, build: Callable[[str], Ticket], *, idempotency_key: str | None = None
    ) -> Ticket:
        for attempt in range(DRAWS + PICKS):
            # secrets, not random: with the email, the number is the student's only credential.
            if attempt < DRAWS:
                number = f"{secrets.randbelow(NUMBERS):06d}"
            else:
                number = await self._pick_free()

            async def insert(conn: AsyncConnection, number: str = number) -> Ticket | str | None:
                # A key another transaction is inserting makes this insert wait for its commit
                # (the unique index), then do nothing: two processes cannot both pass it.
                cur = await conn.execute(
                    "INSERT INTO used_numbers (number, idempotency_key) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING 1",
                    (number, idempotency_key),
                )
                if await cur.fetchone() is None:
                    return await _opened_with(conn, idempotency_key)  # or None: draw again
                ticket = build(number)
                if ticket.number != number:
                    raise ValueError(f"build() returned ticket {ticket.number}, not {number}")
                await conn.execute(INSERT, ticket_row(ticket))
                await _write_outbox(conn, number, ticket.outbox, {})
                return ticket

            created = await self._db.write(insert)
            if isinstance(created, Ticket):
                return created
            if created is not None:
                opened = await self.get(created)
                if opened is None:  # erased since, in the moment between
                    raise TicketNotFound(created)
                return opened
        raise StorageError("no free ticket number could be drawn")

    async def _pick_free(self) -> str:
        row = await self._db.row("SELECT count(*) FROM used_numbers")
        free = NUMBERS - int(row[0]) if row else NUMBERS
        if free <= 0:
            raise StorageError("every ticket number from 000000 to 999999 has been used")
        row = await self._db.row(
            "SELECT n FROM generate_series(0, %s) n WHERE NOT EXISTS (SELECT 1 FROM used_numbers"
            " u WHERE u.number = lpad(n::text, 6, '0')) OFFSET %s LIMIT 1",
            (NUMBERS - 1, secrets.randbelow(free)),
        )
        if row is None:  # taken meanwhile: the caller tries again
            return f"{secrets.randbelow(NUMBERS):06d}"
        return f"{int(row[0]):06d}"

    async def get(self, number: str) -> Ticket | None:
        if not valid_number(number):
            return None
        row = await self._db.row(TICKET, (number,))
        return _ticket(row) if row is not None else None

    async def update(
        self, number: str, change: Callable[[Ticket], T], *, touch: bool = True
    ) -> tuple[Ticket, T]:
        return await self.modify(number, change, touch=touch)

    async def modify(
        self,
        number: str,
        change: Callable[[Ticket], T],
        *,
        touch: bool,
        settled: str | None = None,
    ) -> tuple[Ticket, T]:
        """update(), and the end of the claim on mail `settled`, in one transaction."""
        if not valid_number(number):
            raise TicketNotFound(number)

        async def work(conn: AsyncConnection) -> tuple[Ticket, T]:
            cur = await conn.execute(TICKET + " FOR NO KEY UPDATE OF t", (number,))
            row = await cur.fetchone()
            if row is None:
                raise TicketNotFound(number)
            ticket = _ticket(row)
            before = {m.id: (i, asdict(m)) for i, m in enumerate(ticket.outbox)}
            result = change(ticket)
            if ticket.number != number:
                raise ValueError("a ticket's number cannot change")
            if touch:
                ticket.updated_at = utcnow()
            await conn.execute(UPDATE, ticket_row(ticket))
            await _write_outbox(conn, number, ticket.outbox, before)
            if settled is not None:
                await conn.execute(
                    "UPDATE outbox SET leased_by = NULL, lease_until = NULL"
                    " WHERE number = %s AND id = %s",
                    (number, settled),
                )
            return ticket, result

        return await self._db.write(work)

    async def summary(self, number: str) -> TicketSummary | None:
        if not valid_number(number):
            return None
        row = await self._db.row("SELECT summary FROM tickets WHERE number = %s", (number,))
        return TicketSummary.from_dict(row[0]) if row is not None else None

    async def summaries(self) -> list[TicketSummary]:
        return _summaries(
            await self._db.rows("SELECT summary FROM tickets ORDER BY created_at DESC, number DESC")
        )

    async def queue(self, query: QueueQuery) -> QueuePage:
        # Only fixed text joins the statement; every value the console sent is a parameter.
        where: list[str] = ["NOT anonymised"]
        params: dict[str, Any] = {}
        if query.topic:
            where.append("topic = %(topic)s")
            params["topic"] = query.topic
        if query.subtopic:
            where.append("subtopic = %(subtopic)s")
            params["subtopic"] = query.subtopic
        if query.holders is not None:
            where.append("holder = ANY(%(holders)s)")
            params["holders"] = sorted(query.holders)
        found: list[str] = []
        if query.number:
            found.append("number = %(number)s")
            params["number"] = query.number
        for a, words in enumerate(needles(query.text)):
            # One LIKE a word, all of which the trigram index answers together (migration
            # 0009), with their wildcards escaped: the text is matched as it is, % and _ included
            likes = []
            for i, word in enumerate(words):
                likes.append(f"search_text LIKE %(word{a}_{i})s")
                params[f"word{a}_{i}"] = "%" + _LIKE_SPECIAL.sub(r"\\\g<0>", word) + "%"
            found.append(f"({' AND '.join(likes)})")
        if found:
            where.append(f"({' OR '.join(found)})")
        elif query.text.strip():
            # marks or joiners only: nothing to look for, so nothing found (spaces alone are
            # no search at all), as the data folder answers
            where.append("false")
        kept = " AND ".join(where)
        rows = await self._db.rows(
            f"SELECT status, count(*) FROM tickets WHERE {kept} GROUP BY status",
            params,
        )
        counts: dict[str, int] = dict.fromkeys(TICKET_STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        chosen = [s for s in TICKET_STATUSES if not query.statuses or s in query.statuses]
        page = await self._db.rows(
            f"SELECT summary FROM tickets WHERE {kept} AND status = ANY(%(statuses)s)"
            f" ORDER BY {QUEUE_ORDER[query.sort]} LIMIT %(limit)s",
            {**params, "statuses": chosen, "limit": query.limit},
        )
        return QueuePage(_summaries(page), sum(counts[s] for s in chosen), counts)

    async def of_email(self, email: str) -> list[TicketSummary]:
        key = email_key(email)
        if not key:  # the key of every anonymised ticket
            return []
        return _summaries(
            await self._db.rows(
                "SELECT summary FROM tickets WHERE email_key = %s"
                " ORDER BY created_at DESC, number DESC",
                (key,),
            )
        )

    async def count(self) -> int:
        row = await self._db.row("SELECT count(*) FROM tickets")
        return int(row[0]) if row else 0

    async def conversations_in_use(self, among: Collection[str] | None = None) -> set[str]:
        if among is None:
            rows = await self._db.rows(
                "SELECT DISTINCT conversation_id FROM tickets WHERE conversation_id IS NOT NULL"
            )
        else:
            rows = await self._db.rows(
                "SELECT DISTINCT conversation_id FROM tickets WHERE conversation_id = ANY(%s)",
                (list(among),),
            )
        return {row[0] for row in rows}

    async def attachments_in_use(self) -> set[str]:
        rows = await self._db.rows(
            "SELECT DISTINCT unnest(attachments) FROM tickets WHERE attachments <> '{}'"
        )
        return {row[0] for row in rows}

    async def purging(self) -> list[str]:
        rows = await self._db.rows("SELECT number FROM tickets WHERE purging ORDER BY number")
        return [row[0] for row in rows]
