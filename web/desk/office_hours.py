"""The office's opening hours (HELPDESK_OFFICE_HOURS, HELPDESK_OFFICE_CLOSED), so that the wait
a student is told is counted in the office's working time.

A place that waits forty minutes of the office's work, asked at 23:00 on a Friday, is answered
on Monday morning: the student is told the office reopens then, not "about forty minutes".
Italy's public holidays close the office without being listed (the `holidays` package follows
the law as it changes: St Francis' day became one in 2026); the university's own closures and
the city's patron saint are the deployment's to list, as dates (2026-12-24), yearly dates
(01-29) or ranges (2026-12-24..2027-01-06).

Hours are local to Perugia whatever the server's zone, and a day's hours are that day's wall
clock: on the days the clocks change, 09:00-13:00 is still four hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

OFFICE_TZ = ZoneInfo("Europe/Rome")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead an opening is looked for: past a year of closed days the hours say nothing.
HORIZON_DAYS = 400

_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
Interval = tuple[datetime, datetime]


@lru_cache(maxsize=8)
def _public_holidays(year: int) -> frozenset[date]:
    # imported on first use: 90 ms and 11 MiB that a desk without office hours never needs
    import holidays

    return frozenset(holidays.country_holidays("IT", years=year))


def _clock(hours: str, minutes: str, spec: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time.max
    if h > 23 or m > 59:
        raise ValueError(f"{spec!r}: {hours}:{minutes} is not a time of day")
    return time(h, m)


def _days(spec: str) -> set[int]:
    found: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        try:
            a = WEEKDAYS.index(first.strip()[:3].lower())
            b = WEEKDAYS.index(last.strip()[:3].lower()) if last else a
        except ValueError:
            raise ValueError(
                f"{part.strip()!r} is not a weekday or a range of them: use {', '.join(WEEKDAYS)}"
            ) from None
        if b < a:
            raise ValueError(f"{part.strip()!r}: a range of days goes from Monday to Sunday")
        found.update(range(a, b + 1))
    return found


def _date(spec: str) -> date:
    try:
        return date.fromisoformat(spec)
    except ValueError:
        raise ValueError(f"{spec!r} is not a date (2026-12-24)") from None


@dataclass(frozen=True)
class OfficeHours:
    # per weekday (Monday 0), the day's opening spans in local time, in order, not overlapping
    weekly: tuple[tuple[tuple[time, time], ...], ...]
    closed: frozenset[date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()  # (month, day) closed every year
    # each day's spans once worked out: the pace of a week's answers asks for the same few
    # days hundreds of times, at every move of the queue
    _spans: dict[date, list[Interval]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @classmethod
    def parse(cls, hours: str, closed: str = "") -> OfficeHours:
        """"mon-fri 09:00-13:00; tue,thu 14:30-16:30" and "2026-12-24..2027-01-06, 01-29";
        a ValueError that names the part it cannot read."""
        weekly: list[list[tuple[time, time]]] = [[] for _ in WEEKDAYS]
        for group in filter(None, (g.strip() for g in hours.split(";"))):
            days, _, spans = group.partition(" ")
            if not spans.strip():
                raise ValueError(f"{group!r}: give the days, then the hours (mon-fri 09:00-13:00)")
            for span in spans.replace(" ", "").split(","):
                match = _SPAN.match(span)
                if match is None:
                    raise ValueError(f"{span!r} is not a span of hours (09:00-13:00)")
                start = _clock(match[1], match[2], span)
                end = _clock(match[3], match[4], span)
                if end <= start:
                    raise ValueError(f"{span!r} ends before it starts")
                for day in _days(days):
                    weekly[day].append((start, end))
        for day, spans_of_day in enumerate(weekly):
            spans_of_day.sort()
            for (_, end), (start, _) in zip(spans_of_day, spans_of_day[1:], strict=False):
                if start < end:
                    raise ValueError(f"the hours of {WEEKDAYS[day]} overlap")
        if not any(weekly):
            raise ValueError("no opening hours given (mon-fri 09:00-13:00)")
        one_off: set[date] = set()
        yearly: set[tuple[int, int]] = set()
        for part in filter(None, (p.strip() for p in closed.split(","))):
            first, dots, last = part.partition("..")
            if dots:
                a, b = _date(first.strip()), _date(last.strip())
                if b < a:
                    raise ValueError(f"{part!r} ends before it starts")
                one_off.update(a + timedelta(days=i) for i in range((b - a).days + 1))
            elif re.fullmatch(r"\d{2}-\d{2}", part):
                _date(f"2000-{part}")  # a leap year, so that 02-29 is a date
                yearly.add((int(part[:2]), int(part[3:])))
            else:
                one_off.add(_date(part))
        return cls(tuple(tuple(s) for s in weekly), frozenset(one_off), frozenset(yearly))

    def is_closed_day(self, day: date) -> bool:
        return (
            day in self.closed
            or (day.month, day.day) in self.yearly
            or day in _public_holidays(day.year)
        )

    def spans(self, day: date) -> list[Interval]:
        """The day's opening spans as moments (in UTC, so that arithmetic is real time)."""
        found = self._spans.get(day)
        if found is None:
            found = [] if self.is_closed_day(day) else [
                (self._moment(day, start), self._moment(day, end))
                for start, end in self.weekly[day.weekday()]
            ]
            self._spans[day] = found
        return found

    @staticmethod
    def _moment(day: date, clock: time) -> datetime:
        if clock == time.max:
            return datetime.combine(day + timedelta(days=1), time(), OFFICE_TZ).astimezone(UTC)
        return datetime.combine(day, clock, OFFICE_TZ).astimezone(UTC)

    def _ahead(self, moment: datetime) -> Iterator[Interval]:
        """The opening spans from the one `moment` falls in (or the next) onwards, day by day."""
        day = moment.astimezone(OFFICE_TZ).date()
        for i in range(HORIZON_DAYS):
            for start, end in self.spans(day + timedelta(days=i)):
                if end > moment:
                    yield max(start, moment), end

    def opens_at(self, moment: datetime) -> datetime | None:
        """The next opening when the office is closed at `moment`; None while it is open (or
        when no opening is in sight)."""
        for start, _ in self._ahead(moment):
            return start if start > moment else None
        return None

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """The office's working time between two moments."""
        total = 0.0
        for a, b in self._ahead(start):
            if a >= end:
                break
            total += (min(b, end) - a).total_seconds()
        return total

    def after_working(self, start: datetime, seconds: float) -> datetime | None:
        """The moment `seconds` of the office's working time after `start`; None beyond sight."""
        left = seconds
        for a, b in self._ahead(start):
            span = (b - a).total_seconds()
            if left <= span:
                return a + timedelta(seconds=left)
            left -= span
        return None
