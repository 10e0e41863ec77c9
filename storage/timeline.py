"""The moments of every ticket (storage.models.TicketTimes), sorted by when they happened: the
office's figures count a window of them by bisection and the students' queue finds a position,
without looking at the tickets outside the window. Pure data, no I/O; TicketIndex keeps it up
to date.

Each list holds (moment, number, times, duration), sorted. The number makes every key unique,
so an entry is found again by bisection and two TicketTimes are never compared. Counts per
subtopic and per score have lists of their own, so that they too are a pair of bisections
each; only the percentiles read the durations of every ticket in the window.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from itertools import pairwise
from typing import Any, TypeVar

from .models import Duration, Moment, Spread, TicketStatus, TicketTimes

# (moment, number, times, the duration that ends at the moment or None)
Entry = tuple[str, str, TicketTimes, float | None]
K = TypeVar("K", bound=tuple[Any, ...])

# The lists the figures read, by the moment each one is sorted on.
MOMENT_OF: dict[Moment, Callable[[TicketTimes], str | None]] = {
    "opened": lambda t: t.created_at,
    "answered": lambda t: t.first_response_at,
    "closed": lambda t: t.closed_at,
    "rated": lambda t: t.rated_at,
}
# What a moment measures, in seconds from the ticket's creation.
DURATION_OF: dict[Moment, Callable[[TicketTimes], float | None]] = {
    "answered": lambda t: t.first_response_seconds,
    "closed": lambda t: t.resolution_seconds,
}
# Counted by group: (moment, the group of a ticket, or None to leave it out).
GROUPS: dict[str, tuple[Moment, Callable[[TicketTimes], Hashable | None]]] = {
    "subtopic": ("opened", lambda t: (t.topic, t.subtopic)),
    "score": ("rated", lambda t: t.score),
}


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) of values sorted ascending, interpolated between the two nearest
    (as PostgreSQL's percentile_cont); None for no values."""
    if not ordered:
        return None
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def within(ordered: Sequence[float], share: float) -> float | None:
    """The least value that `share` (0..1) of the values sorted ascending are at most: the
    nearest rank (as PostgreSQL's percentile_disc), so that "nine in ten within it" is true of
    four values as of four thousand; None for no values."""
    if not ordered:
        return None
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


class Timeline:
    def __init__(self) -> None:
        self._times: dict[str, TicketTimes] = {}
        self._lists: dict[Moment, list[Entry]] = {name: [] for name in MOMENT_OF}
        self._groups: dict[str, dict[Hashable, list[tuple[str, str]]]] = {g: {} for g in GROUPS}
        # (created_at, number) of the tickets nobody has answered yet, oldest first
        self._waiting: list[tuple[str, str]] = []
        self._status: Counter[TicketStatus] = Counter()
        # tickets not closed whose student's data was erased: counted open, worked by nobody
        self._erased_open = 0

    def put(self, times: TicketTimes, *, bulk: bool = False) -> None:
        """Add a ticket's moments or move them after a change. bulk: loading at start, sort()
        follows."""
        old = self._times.get(times.number)
        if old == times:
            return
        if old is not None:
            self._drop(old)
        self._times[times.number] = times
        self._status[times.status] += 1
        self._erased_open += _erased_open(times)
        for entries, key in self._places(times):
            _insert(entries, key, bulk)

    def _drop(self, times: TicketTimes) -> None:
        self._status[times.status] -= 1
        self._erased_open -= _erased_open(times)
        for entries, key in self._places(times):
            _remove(entries, key[:2])

    def _places(self, times: TicketTimes) -> Iterable[tuple[list[Any], tuple[Any, ...]]]:
        """Every list the ticket is in, with its entry there."""
        number = times.number
        for name, moment in MOMENT_OF.items():
            at = moment(times)
            if at is not None:
                span = DURATION_OF.get(name)
                yield self._lists[name], (at, number, times, span(times) if span else None)
        for group, (name, key_of) in GROUPS.items():
            at, key = MOMENT_OF[name](times), key_of(times)
            if at is not None and key is not None:
                yield self._groups[group].setdefault(key, []), (at, number)
        if times.waiting:
            yield self._waiting, (times.created_at, number)

    def sort(self) -> None:
        """Once, after the bulk puts of the start."""
        for entries in self._lists.values():
            entries.sort()
        for groups in self._groups.values():
            for moments in groups.values():
                moments.sort()
        self._waiting.sort()

    # reading: [since, until) windows of ISO timestamps in UTC

    def between(self, name: Moment, since: str, until: str) -> list[TicketTimes]:
        entries = self._lists[name]
        low, high = _window(entries, since, until)
        return [entry[2] for entry in entries[low:high]]

    def counts(self, name: Moment, bounds: Sequence[str]) -> list[int]:
        """How many moments fall in each [bounds[i], bounds[i + 1])."""
        entries = self._lists[name]
        places = [bisect.bisect_left(entries, (bound,)) for bound in bounds]
        return [high - low for low, high in pairwise(places)]

    def count_by(self, group: str, since: str, until: str) -> dict[Hashable, int]:
        counts = {}
        for key, moments in self._groups[group].items():
            low, high = _window(moments, since, until)
            if high > low:
                counts[key] = high - low
        return counts

    def spread(self, name: Duration, since: str, until: str) -> Spread:
        entries = self._lists[name]
        low, high = _window(entries, since, until)
        values = [e[3] for e in entries[low:high] if e[3] is not None]
        values.sort()
        return percentile(values, 0.5), within(values, 0.9)

    def durations(self, name: Duration, since: str, until: str) -> list[tuple[str, float]]:
        entries = self._lists[name]
        low, high = _window(entries, since, until)
        return [(e[0], e[3]) for e in entries[low:high] if e[3] is not None]

    def count_by_status(self) -> dict[TicketStatus, int]:
        return {status: n for status, n in self._status.items() if n}

    def erased_open_now(self) -> int:
        return self._erased_open

    def waiting_now(self) -> tuple[int, str | None]:
        return len(self._waiting), self._waiting[0][0] if self._waiting else None

    def queue_positions(self, numbers: Collection[str]) -> dict[str, int]:
        found = (self._times.get(number) for number in numbers)
        return {
            times.number: bisect.bisect_left(self._waiting, (times.created_at, times.number)) + 1
            for times in found
            if times is not None and times.waiting
        }


def _erased_open(times: TicketTimes) -> int:
    return int(times.anonymised and times.status != "closed")


def _window(entries: Sequence[tuple[Any, ...]], since: str, until: str) -> tuple[int, int]:
    # (since,) sorts before every entry at `since`: the window is [since, until).
    return bisect.bisect_left(entries, (since,)), bisect.bisect_left(entries, (until,))


def _insert(entries: list[K], entry: K, bulk: bool) -> None:
    # New moments are usually the latest: an append, not a shift of the whole list.
    if bulk or not entries or entries[-1] < entry:
        entries.append(entry)
    else:
        bisect.insort(entries, entry)


def _remove(entries: list[K], key: tuple[Any, ...]) -> None:
    i = bisect.bisect_left(entries, key)
    if i < len(entries) and entries[i][:2] == key:
        del entries[i]
