"""The wait (CONTRACT.md section 8): a waiting ticket's place in the queue and the wait to
expect, and the live `wait` event that tells the students watching a waiting ticket when the
queue moves.

- The queue is the tickets nobody has answered yet (not closed, no operator message the student
  can read: an internal note is none), oldest first; storage gives the places of any number
  of tickets in one call.
- The expected wait grows with the place, from the first answers of the last 7 days (Pace):
  place p waits about p tickets' worth of the office's pace while it works, and never less than
  the median first-response time, which is what place 1 usually waits. In whole minutes.
  Without an answered ticket in those days it is None: the student sees the place alone, never
  an invented figure.
- With the office's hours set (web/desk/office_hours.py) the pace is measured, and the wait
  counted, in working time: the queue also says whether the office is open, when it reopens and
  when the answer is expected (a ticket of 23:00 waits for the morning). Without them the
  estimate knows nothing of the night, and the widget says so.

When a ticket is answered or closed, every place behind it moves. Sending each waiting ticket's
room its whole view would read one ticket file per waiting ticket on every change; even the
short event to every waiting room, cheap in one process, would be one Redis publish per waiting
ticket with several. Instead this process remembers which waiting tickets someone is watching
here and what each was last told, and sends the short `wait` event only where the place or the
estimate changed (`make bench` measures the three). Each process tells only its own watchers:
at once of the changes it makes itself, and, when there are several processes, of the others'
changes at its next look, every LOOK_SECONDS (`start`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from storage import Backend
from storage.timeline import percentile
from web.desk.live import STUDENTS, WAIT_ROOM, LiveEvents
from web.desk.office_hours import OFFICE_TZ, OfficeHours

log = logging.getLogger(__name__)
RECENT = timedelta(days=7)
LONGEST_COUNTED = timedelta(days=31)
# Two first answers further apart than this: the office was not answering in between (night,
# weekend, a meeting, or nobody waiting), and the gap says nothing of its pace.
WORKING_GAP = 30 * 60.0
# How late a student watching here hears that an operator of another process moved the queue:
# the place is a minutes-long wait's, and each look costs two reads only while someone watches.
LOOK_SECONDS = 10.0

Queue = dict[str, Any] | None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Pace:
    """How fast the office gave first answers in the last 7 days."""

    median: float  # seconds from a ticket's creation to its first answer, the median
    # seconds between one first answer and the next while the office answers: the median of
    # the gaps up to WORKING_GAP (nights and idle hours left out); 1 / the first answers per hour
    # of work. The median when no two answers were that close (one answer, or a sparse office:
    # then each ticket ahead counts as a usual wait).
    interval: float

    @classmethod
    def of(cls, answers: list[tuple[str, float]], office: OfficeHours | None = None) -> Pace | None:
        """From (moment, seconds to it) of each first answer, in order of the moment; in the
        office's working time when its hours are known."""
        if not answers:
            return None
        moments = [(datetime.fromisoformat(at), seconds) for at, seconds in answers]

        def between(a: datetime, b: datetime) -> float:
            if office is None:
                return (b - a).total_seconds()
            # A backlog's ticket answered after months is counted from a month before its
            # answer: as far above the median either way, without walking every day between.
            return office.working_seconds(max(a, b - LONGEST_COUNTED), b)

        waits = [between(at - timedelta(seconds=seconds), at) for at, seconds in moments]
        median = percentile(sorted(waits), 0.5) or 0.0
        # A gap is the office's pace only when the next ticket was already waiting as the
        # previous one was answered: otherwise it is how long until a ticket came at all (a
        # quiet week answered in 2 minutes would tell a deadline queue 20 minutes a place).
        gaps = (
            between(a, b)
            for (a, _), (b, waited) in pairwise(moments)
            if b - timedelta(seconds=waited) <= a
        )
        working = [gap for gap in gaps if gap <= WORKING_GAP]
        # the median gap: one coffee break must not tell the whole queue its wait went up
        return cls(median, percentile(sorted(working), 0.5) or median if working else median)

    def seconds(self, position: int) -> float:
        """The wait of the ticket at this place: the tickets ahead and itself at the office's
        pace, never less than the usual wait."""
        return max(self.median, position * self.interval)


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / 60))  # at least a minute


async def wait_pace(
    storage: Backend, now: datetime, office: OfficeHours | None = None
) -> Pace | None:
    """The pace of the first answers of the last 7 days; None when there were none."""
    answers = await storage.tickets.durations_between(
        "answered", _stamp(now - RECENT), _stamp(now)
    )
    return Pace.of(answers, office)


def queue_of(
    position: int | None,
    pace: Pace | None,
    office: OfficeHours | None = None,
    now: datetime | None = None,
) -> Queue:
    if position is None:
        return None
    work = None if pace is None else pace.seconds(position)
    if office is None:
        return {
            "position": position,
            "expected_wait_minutes": None if work is None else _minutes(work),
        }
    now = now or datetime.now(UTC)
    expected = None if work is None else office.after_working(now, work)
    opens = office.opens_at(now)
    return {
        "position": position,
        "expected_wait_minutes": (
            None if expected is None else _minutes((expected - now).total_seconds())
        ),
        "expected_at": None if expected is None else _stamp(expected),
        "office": {"open": opens is None, "opens_at": None if opens is None else _stamp(opens)},
    }


def _gist(queue: Queue, now: datetime) -> object:
    """What a student reads of `queue` at `now` (widget.js, officeWait). With the office's hours
    the clock alone moves `expected_at` while the office is open, and the minutes to it while
    it is closed, at every look: an event for that would only read the same words out again
    (the wait is a live region). The minutes are read only while it is open; the expected day
    is read against today ("domani" turns "oggi" at midnight)."""
    if queue is None or "office" not in queue:
        return queue
    expected = queue["expected_at"]
    return (
        queue["position"],
        queue["office"],
        queue["expected_wait_minutes"] if queue["office"]["open"] else None,
        None if expected is None else datetime.fromisoformat(expected).astimezone(OFFICE_TZ).date(),
        now.astimezone(OFFICE_TZ).date(),
    )


async def queue_view(
    storage: Backend, number: str, office: OfficeHours | None = None, now: datetime | None = None
) -> Queue:
    """`queue` of GET /api/tickets/{number}: None once the ticket is answered or closed."""
    position = (await storage.tickets.queue_positions([number])).get(number)
    if position is None:
        return None
    now = now or datetime.now(UTC)
    return queue_of(position, await wait_pace(storage, now, office), office, now)


class WaitWatch:
    """The waiting tickets that sockets of this process watch, and what each was told."""

    def __init__(
        self, storage: Backend, live: LiveEvents, office: OfficeHours | None = None
    ) -> None:
        self._storage = storage
        self._live = live
        self.office = office
        self._watchers: dict[str, set[str]] = {}  # number -> sids
        self._of_sid: dict[str, set[str]] = {}  # sid -> numbers
        self._told: dict[str, object] = {}  # number -> _gist of what it was told
        self._looking: asyncio.Task[None] | None = None

    def view(self, number: str) -> Awaitable[Queue]:
        """`queue` of GET /api/tickets/{number}: None once the ticket is answered or closed."""
        return queue_view(self._storage, number, self.office)

    def start(self) -> None:
        """Look every LOOK_SECONDS for the other processes' changes (several processes) and
        for the office opening or closing (its hours set)."""
        self._looking = asyncio.create_task(self._look(), name="wait-look")

    async def stop(self) -> None:
        if self._looking is not None:
            self._looking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._looking

    async def _look(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(LOOK_SECONDS)
            try:
                await self.moved()
                failing = False
            except Exception:
                # the database away: the students keep the last place they were told; said
                # once, not every look
                if not failing:
                    log.exception("could not look at the queue; trying every %.0f s",
                                  LOOK_SECONDS)
                failing = True

    def watch(self, number: str, sid: str, told: Queue) -> None:
        """`sid` follows `number`'s place, and has just been told `told`."""
        self._watchers.setdefault(number, set()).add(sid)
        self._of_sid.setdefault(sid, set()).add(number)
        self._told[number] = _gist(told, datetime.now(UTC))

    def forget(self, sid: str) -> None:
        """The socket left: stop watching what nobody else watches."""
        for number in self._of_sid.pop(sid, set()):
            sids = self._watchers.get(number, set())
            sids.discard(sid)
            if not sids:
                self._watchers.pop(number, None)
                self._told.pop(number, None)

    def watched(self) -> int:
        return len(self._watchers)

    async def moved(self, now: datetime | None = None) -> int:
        """After any change: tell each watched ticket whose place or estimate changed. Returns
        how many `wait` events were sent."""
        if not self._watchers:
            return 0
        now = now or datetime.now(UTC)
        pace = await wait_pace(self._storage, now, self.office)
        watched = list(self._watchers)
        positions = await self._storage.tickets.queue_positions(watched)
        sent = 0
        for number in watched:
            queue = queue_of(positions.get(number), pace, self.office, now)
            gist = _gist(queue, now)
            # forgotten while storage answered, or told this already
            if number not in self._watchers or gist == self._told.get(number):
                continue
            self._told[number] = gist
            await self._live.emit(
                "wait",
                {"number": number, "queue": queue},
                room=WAIT_ROOM.format(number=number),
                namespace=STUDENTS,
            )
            sent += 1
        return sent
