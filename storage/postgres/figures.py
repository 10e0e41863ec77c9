"""The office's figures and the students' queue in PostgreSQL (storage/protocol.py says what
each answers): one query each, on the moment columns every ticket's row carries beside its
record (migrations/0004_figures.sql), each window through an index; no record is read."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TypeVar

from ..models import Duration, Moment, Spread, TicketStatus, TicketTimes
from .database import Db

K = TypeVar("K", bound=str)

# The column of each moment, and the duration each end of one measures.
AT: dict[Moment, str] = {
    "opened": "created_at",
    "answered": "first_response_at",
    "closed": "closed_at",
    "rated": "rated_at",
}
SECONDS: dict[Duration, str] = {
    "answered": "first_response_seconds",
    "closed": "resolution_seconds",
}
# TicketTimes, field by field
TIMES = (
    "SELECT number, status, topic, subtopic, created_at, first_response_at, closed_at,"
    " rated_at, rating_score, first_response_seconds, resolution_seconds, anonymised FROM tickets"
)


def _column(moment: K, columns: Mapping[K, str]) -> str:
    # The only text put into a statement: one of a few fixed names.
    if moment not in columns:
        raise ValueError(f"unknown moment {moment!r}")
    return columns[moment]


# The students' queue (TicketTimes.waiting): exactly the rows of the partial index
# tickets_waiting (migration 0004), which answers both the places and the count.
WAITING = "first_response_at IS NULL AND status <> 'closed' AND NOT anonymised"


class TicketFigures:
    """Part of storage.postgres.TicketStore."""

    _db: Db

    async def times_between(self, moment: Moment, since: str, until: str) -> list[TicketTimes]:
        at = _column(moment, AT)
        rows = await self._db.rows(
            f"{TIMES} WHERE {at} >= %s AND {at} < %s ORDER BY {at}, number",
            (since, until),
        )
        return [TicketTimes(*row) for row in rows]

    async def counts_between(self, moment: Moment, bounds: Sequence[str]) -> list[int]:
        at = _column(moment, AT)
        if len(bounds) < 2:
            return []
        # A count through the index for each [bound, next bound): five times faster than one
        # pass that puts every row in its bucket (width_bucket), over a year of days.
        rows = await self._db.rows(
            f"SELECT (SELECT count(*) FROM tickets WHERE {at} >= low AND {at} < high)"
            " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS b(low, high, i) ORDER BY i",
            (list(bounds[:-1]), list(bounds[1:])),
        )
        return [n for (n,) in rows]

    async def spread_between(self, moment: Duration, since: str, until: str) -> Spread:
        at, seconds = _column(moment, AT), _column(moment, SECONDS)
        row = await self._db.row(
            f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}),"
            f" percentile_disc(0.9) WITHIN GROUP (ORDER BY {seconds})"
            f" FROM tickets WHERE {at} >= %s AND {at} < %s",
            (since, until),
        )
        # NULLs when the window measured nothing
        return (row[0], row[1]) if row is not None else (None, None)

    async def durations_between(
        self, moment: Duration, since: str, until: str
    ) -> list[tuple[str, float]]:
        at, seconds = _column(moment, AT), _column(moment, SECONDS)
        # index-only: tickets_answered and tickets_closed hold the moment and its seconds (no
        # number to break ties with: equal moments may come in any order)
        rows = await self._db.rows(
            f"SELECT {at}, {seconds} FROM tickets WHERE {at} >= %s AND {at} < %s"
            f" AND {seconds} IS NOT NULL ORDER BY {at}",
            (since, until),
        )
        return [(stamp, value) for stamp, value in rows]

    async def opened_by_subtopic(self, since: str, until: str) -> dict[tuple[str, str], int]:
        rows = await self._db.rows(
            "SELECT topic, subtopic, count(*) FROM tickets"
            " WHERE created_at >= %s AND created_at < %s GROUP BY 1, 2",
            (since, until),
        )
        return {(topic, subtopic): n for topic, subtopic, n in rows}

    async def scores_between(self, since: str, until: str) -> dict[int, int]:
        rows = await self._db.rows(
            "SELECT rating_score, count(*) FROM tickets"
            " WHERE rated_at >= %s AND rated_at < %s GROUP BY 1",
            (since, until),
        )
        return {score: n for score, n in rows}

    async def count_by_status(self) -> dict[TicketStatus, int]:
        rows = await self._db.rows("SELECT status, count(*) FROM tickets GROUP BY 1")
        return {status: n for status, n in rows}

    async def erased_open_now(self) -> int:
        # Both counts through an index (tickets_status; tickets_queue, which leaves the erased
        # out): no record is read.
        row = await self._db.row(
            "SELECT (SELECT count(*) FROM tickets WHERE status <> 'closed')"
            " - (SELECT count(*) FROM tickets WHERE status <> 'closed' AND NOT anonymised)"
        )
        return row[0] if row is not None else 0

    async def waiting_now(self) -> tuple[int, str | None]:
        row = await self._db.row(f"SELECT count(*), min(created_at) FROM tickets WHERE {WAITING}")
        return (row[0], row[1]) if row is not None else (0, None)

    async def queue_positions(self, numbers: Collection[str]) -> dict[str, int]:
        if not numbers:
            return {}
        # Every waiting ticket is numbered (the partial index tickets_waiting, in order), then
        # the asked ones picked by a hash join (= ANY compares each row with every number).
        rows = await self._db.rows(
            "SELECT number, place FROM (SELECT number,"
            " row_number() OVER (ORDER BY created_at, number) AS place FROM tickets"
            f" WHERE {WAITING}) queue"
            " JOIN unnest(%s::text[]) AS asked(number) USING (number)",
            (list(numbers),),
        )
        return {number: place for number, place in rows}
