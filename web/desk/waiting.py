"""The wait (CONTRACT.md section 8): a waiting ticket's place in the queue and the wait to
expect, and the live `wait` event that tells the students watching a waiting ticket when the
queue moves.

- The queue is the tickets nobody has answered yet (not closed, no operator message the student
  can read: an internal note is none), oldest first; storage gives the places of any number
  of tickets in one call.
- The expected wait is the median first-response time of the tickets first answered in the last
  7 days, in whole minutes: what "di solito rispondiamo entro circa..." says. It knows nothing
  of office hours, and the widget says so. Without an answered ticket in those days it is None:
  the student sees the place alone, never an invented figure.

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
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import Backend
from web.desk.live import STUDENTS, WAIT_ROOM, LiveEvents

log = logging.getLogger(__name__)
RECENT = timedelta(days=7)
# How late a student watching here hears that an operator of another process moved the queue:
# the place is a minutes-long wait's, and each look costs two reads only while someone watches.
LOOK_SECONDS = 10.0

Queue = dict[str, Any] | None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


async def expected_wait_minutes(storage: Backend, now: datetime) -> int | None:
    [median] = await storage.tickets.percentiles_between(
        "answered", _stamp(now - RECENT), _stamp(now), (0.5,)
    )
    return None if median is None else max(1, round(median / 60))


def queue_of(position: int | None, expected: int | None) -> Queue:
    if position is None:
        return None
    return {"position": position, "expected_wait_minutes": expected}


async def queue_view(storage: Backend, number: str, now: datetime | None = None) -> Queue:
    """`queue` of GET /api/tickets/{number}: None once the ticket is answered or closed."""
    position = (await storage.tickets.queue_positions([number])).get(number)
    if position is None:
        return None
    return queue_of(position, await expected_wait_minutes(storage, now or datetime.now(UTC)))


class WaitWatch:
    """The waiting tickets that sockets of this process watch, and what each was told."""

    def __init__(self, storage: Backend, live: LiveEvents) -> None:
        self._storage = storage
        self._live = live
        self._watchers: dict[str, set[str]] = {}  # number -> sids
        self._of_sid: dict[str, set[str]] = {}  # sid -> numbers
        self._told: dict[str, Queue] = {}
        self._looking: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Look for the other processes' changes every LOOK_SECONDS (several processes)."""
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
        self._told[number] = told

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
        expected = await expected_wait_minutes(self._storage, now or datetime.now(UTC))
        watched = list(self._watchers)
        positions = await self._storage.tickets.queue_positions(watched)
        sent = 0
        for number in watched:
            queue = queue_of(positions.get(number), expected)
            # forgotten while storage answered, or told this already
            if number not in self._watchers or queue == self._told.get(number):
                continue
            self._told[number] = queue
            await self._live.emit(
                "wait",
                {"number": number, "queue": queue},
                room=WAIT_ROOM.format(number=number),
                namespace=STUDENTS,
            )
            sent += 1
        return sent
