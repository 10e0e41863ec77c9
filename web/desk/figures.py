"""The office's figures (CONTRACT.md section 8) over the last N days of the office's calendar:
tickets opened, closed and open now; how long the first answer and the resolution took; the
subtopics; each day; the students' rating; the share of chats an FAQ solved.

Everything is asked of storage by window (storage/README.md, "Figures"): eight calls per
report whatever its length, answered from lists sorted by time (the data folder) or from
indexed columns (PostgreSQL); no ticket record is read.

How each figure is counted:
- the window is N whole days in the office's time zone (Europe/Rome), today included: from
  midnight N-1 days ago until now; `by_day` has one line per day, oldest first;
- `opened`, `by_subtopic`, `by_day.opened`, the CSV and the workbook: tickets created in the
  window;
- `closed`, `by_day.closed` and `resolution_hours`: tickets whose latest closing falls in the
  window and that are still closed (a reopened ticket is not resolved); resolution = from
  creation to that closing;
- `first_response_minutes`: tickets first answered in the window, from creation to the first
  operator message the student could read (an internal note is no answer); beside it, with the
  office's hours set (web/desk/office_hours.py), `first_response_working_minutes`: the same
  tickets in the office's working time, without the nights, weekends and holidays that a
  ticket of Friday evening waits through;
- medians interpolate between the two middle values (PostgreSQL's percentile_cont); a 90th
  percentile is the least time that nine in ten took at most (percentile_disc), never
  interpolated, since the console says "9 su 10 entro" of it; minutes rounded to a tenth and
  hours to a thousandth (3.6 seconds: a ticket resolved in 2 minutes is 0.033 h, not 0.0);
  null when nothing was measured;
- `rating`: ratings given in the window; the average is rounded to two decimals;
- `deflection`: chats whose first FAQ search falls in the window (`chats`), those in which the
  student said an FAQ solved the question (`solved_by_faq`), and their ratio (`rate`, three
  decimals, null without chats).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import xlsxwriter

from bot.i18n import t
from storage import Backend
from storage.models import Duration, TicketTimes
from storage.protocol import Tickets
from storage.timeline import percentile, within
from web.desk.office_hours import OFFICE_TZ, OfficeHours

# (seconds in the unit, decimals) of the durations, alike in the report, the CSV and the
# workbook: minutes to a tenth (6 s), hours to a thousandth (3.6 s: a ticket resolved in 2
# minutes is 0.033 h, not 0.0)
MINUTES = (60, 1)
HOURS = (3600, 3)
CSV_COLUMNS = (
    "number",
    "created_at",
    "topic",
    "subtopic",
    "status",
    "first_response_at",
    "first_response_minutes",
    "closed_at",
    "resolution_hours",
    "rating",
)


def _stamp(moment: datetime) -> str:
    """The form storage keeps moments in (models.utcnow), so that they compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Window:
    """The last `days` days of the office's calendar up to `now`."""

    days: int
    now: datetime
    starts: list[datetime]  # the midnight that opens each day, oldest first
    stamps: list[str]  # the same, as storage compares them

    @classmethod
    def of(cls, days: int, now: datetime) -> Window:
        today = now.astimezone(OFFICE_TZ).date()
        first = today - timedelta(days=days - 1)
        # Midnight by the calendar, not 24 hours apart: a day with a clock change is 23 or 25
        # hours long.
        starts = [
            datetime.combine(first + timedelta(days=i), datetime.min.time(), OFFICE_TZ)
            for i in range(days)
        ]
        return cls(days, now, starts, [_stamp(start) for start in starts])

    @property
    def since(self) -> str:
        return self.stamps[0]

    @property
    def until(self) -> str:
        return _stamp(self.now)


async def _spread(
    tickets: Tickets, moment: Duration, window: Window, unit: float, digits: int
) -> dict[str, float | None]:
    median, p90 = await tickets.spread_between(moment, window.since, window.until)
    return {
        "median": _in(median, unit, digits),
        "p90": _in(p90, unit, digits),
    }


async def _working_spread(
    tickets: Tickets, window: Window, office: OfficeHours
) -> dict[str, float | None]:
    answers = await tickets.durations_between("answered", window.since, window.until)
    working = sorted(
        office.working_seconds(at - timedelta(seconds=seconds), at)
        for at, seconds in ((datetime.fromisoformat(a), s) for a, s in answers)
    )
    unit, digits = MINUTES
    return {
        "median": _in(percentile(working, 0.5), unit, digits),
        "p90": _in(within(working, 0.9), unit, digits),
    }


async def per_day(storage: Backend, window: Window) -> list[dict[str, Any]]:
    """`by_day`: tickets opened and closed on each day, oldest first."""
    bounds = [*window.stamps, window.until]
    opened = await storage.tickets.counts_between("opened", bounds)
    closed = await storage.tickets.counts_between("closed", bounds)
    return [
        {"day": start.date().isoformat(), "opened": o, "closed": c}
        for start, o, c in zip(window.starts, opened, closed, strict=True)
    ]


async def per_subtopic(storage: Backend, window: Window) -> list[dict[str, Any]]:
    """`by_subtopic`: tickets opened per subtopic, most first."""
    counts = await storage.tickets.opened_by_subtopic(window.since, window.until)
    return [
        {"topic": topic, "subtopic": subtopic, "opened": n}
        for (topic, subtopic), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


async def office_report(
    storage: Backend, days: int, now: datetime, office: OfficeHours | None = None
) -> dict[str, Any]:
    """The body of GET /api/console/reports for the `days` up to `now` (an aware datetime);
    with the office's hours, the first response in working time too."""
    window = Window.of(days, now)
    since, until = window.since, window.until
    tickets = storage.tickets
    by_status = await tickets.count_by_status()
    waiting, oldest = await tickets.waiting_now()
    scores = await tickets.scores_between(since, until)
    rated = sum(scores.values())
    reached = await storage.faq_events.chats_between(since, until)
    # the days tile the window: its totals are theirs
    by_day = await per_day(storage, window)
    report = {
        "window": {
            "days": days,
            "since": window.starts[0].isoformat(timespec="milliseconds"),
            "until": now.astimezone(OFFICE_TZ).isoformat(timespec="milliseconds"),
        },
        "tickets": {
            "opened": sum(day["opened"] for day in by_day),
            "closed": sum(day["closed"] for day in by_day),
            "open_now": by_status.get("open", 0) + by_status.get("awaiting_user", 0),
        },
        # the queue now, whatever the window: what a deadline day's head looks at first (beside
        # CONTRACT.md's "tickets", whose keys stay as it lists them)
        "waiting_now": {"tickets": waiting, "oldest_since": oldest},
        # of open_now, those erased on request: in no queue and no console list, so without
        # this the head cannot tell the open tickets the console shows from open_now
        "open_now_erased": await tickets.erased_open_now(),
        # both to about 6 seconds: a tenth of an hour was 6 minutes, and a ticket closed 2
        # minutes after it was opened read "under 1 min" in the console
        "first_response_minutes": await _spread(tickets, "answered", window, *MINUTES),
        "resolution_hours": await _spread(tickets, "closed", window, *HOURS),
        "by_subtopic": await per_subtopic(storage, window),
        "by_day": by_day,
        "rating": {
            "count": rated,
            "average": (
                round(sum(score * n for score, n in scores.items()) / rated, 2) if rated else None
            ),
        },
        "deflection": {
            "chats": reached.chats,
            "solved_by_faq": reached.solved,
            "rate": round(reached.solved / reached.chats, 3) if reached.chats else None,
        },
    }
    if office is not None:
        report["first_response_working_minutes"] = await _working_spread(tickets, window, office)
    return report


async def office_csv(storage: Backend, days: int, now: datetime) -> str:
    """The tickets opened in the window, one row each, oldest first. Figures only: no name,
    email or text of the student, and no operator (a CSV travels, and a per-person table of
    staff performance is not what this report is for). Moments in the office's time, as the
    page counts its days: a ticket of 00:30 in Perugia is that day's, not the day before."""
    # A season's 20,000 rows take most of a second to write: not on the event loop, which
    # would hold every student and console meanwhile.
    return await asyncio.to_thread(_csv, await _opened(storage, days, now))


# (topic, subtopic, lang) -> their labels in lang (bot.faq.FaqIndex.labels)
Labels = Callable[[str, str, str], tuple[str, str]]


async def office_xlsx(
    storage: Backend, days: int, now: datetime, lang: str = "it", labels: Labels | None = None
) -> bytes:
    """The rows of office_csv as a workbook, for the spreadsheets that misread a CSV: an Italian
    Excel expects ";" and decimal commas, and reads no ISO 8601 moment as a date. Here a moment
    is a date cell and a duration a number, whatever the reader's locale. A workbook is read by
    people, who pass it on to theirs: its header, statuses and topics are in the reader's
    language ("Risoluzione (ore)", "Chiuso", "Tasse, ISEE, pagoPA ed esoneri"), where the CSV
    keeps the codes a program reads."""
    tickets = await _opened(storage, days, now)
    return await asyncio.to_thread(_xlsx, tickets, lang, labels)


async def _opened(storage: Backend, days: int, now: datetime) -> Sequence[TicketTimes]:
    window = Window.of(days, now)
    return await storage.tickets.times_between("opened", window.since, window.until)


Cell = str | int | float | datetime | None


def ticket_rows(tickets: Sequence[TicketTimes]) -> Iterator[tuple[Cell, ...]]:
    """Each ticket's values in the order of CSV_COLUMNS, which each format writes its own way:
    moments in the office's time to the second, durations in MINUTES and HOURS, the rating as
    it is, None for what has not happened."""
    for times in tickets:
        yield (
            times.number,
            _local(times.created_at),
            times.topic,
            times.subtopic,
            times.status,
            _local(times.first_response_at),
            _in(times.first_response_seconds, *MINUTES),
            _local(times.closed_at),
            _in(times.resolution_seconds, *HOURS),
            times.score,
        )


def _local(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp).astimezone(OFFICE_TZ).replace(microsecond=0)


def _in(seconds: float | None, unit: float, digits: int) -> float | None:
    return None if seconds is None else round(seconds / unit, digits)


# The decimals each duration column is written with.
DIGITS = {"first_response_minutes": MINUTES[1], "resolution_hours": HOURS[1]}


def _csv(tickets: Sequence[TicketTimes]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    digits = [DIGITS.get(name, 0) for name in CSV_COLUMNS]
    writer.writerows(
        tuple(_csv_text(value, d) for value, d in zip(row, digits, strict=True))
        for row in ticket_rows(tickets)
    )
    return out.getvalue()


def _csv_text(value: Cell, digits: int) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")  # with its offset: "2026-12-07T08:30:00+01:00"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return value


# How a moment shows: year first, as in the CSV, which no locale reads as another day (07/12 is
# the 7th of December in Perugia and July 12th in Boston). The cell holds the moment itself, so
# a reader may pick another format.
XLSX_MOMENT = "yyyy-mm-dd hh:mm:ss"
XLSX_MOMENT_WIDTH = 19


TOPIC, SUBTOPIC, STATUS = (CSV_COLUMNS.index(name) for name in ("topic", "subtopic", "status"))


def _readable(row: tuple[Cell, ...], lang: str, labels: Labels | None) -> list[Cell]:
    """A row with its codes worded for people: the status, the topic and the subtopic."""
    cells = list(row)
    if labels is not None:
        cells[TOPIC], cells[SUBTOPIC] = labels(str(cells[TOPIC]), str(cells[SUBTOPIC]), lang)
    cells[STATUS] = t(f"report.status.{cells[STATUS]}", lang)
    return cells


def _xlsx(tickets: Sequence[TicketTimes], lang: str, labels: Labels | None) -> bytes:
    out = io.BytesIO()
    # in_memory: the parts of the file are built in memory, not in temporary files.
    with xlsxwriter.Workbook(out, {"in_memory": True}) as book:
        sheet = book.add_worksheet("tickets")
        moment = book.add_format({"num_format": XLSX_MOMENT})
        # a duration shows its decimals: 0.0 minutes, 0.000 hours
        durations = {
            name: book.add_format({"num_format": "0." + "0" * digits})
            for name, digits in DIGITS.items()
        }
        header = [t(f"report.column.{name}", lang) for name in CSV_COLUMNS]
        sheet.write_row(0, 0, header, book.add_format({"bold": True}))
        last = 0
        for last, row in enumerate(ticket_rows(tickets), start=1):
            for column, value in enumerate(_readable(row, lang, labels)):
                if value is None:
                    continue  # an empty cell, as in the CSV
                if isinstance(value, str):
                    # write_string: never a formula or a link, whatever the text starts with
                    sheet.write_string(last, column, value)
                elif isinstance(value, datetime):
                    # Excel keeps no time zone: the office's own clock, as the page counts days
                    sheet.write_datetime(last, column, value.replace(tzinfo=None), moment)
                else:
                    sheet.write_number(last, column, value, durations.get(CSV_COLUMNS[column]))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, last, len(CSV_COLUMNS) - 1)
        for column, name in enumerate(CSV_COLUMNS):
            if name.endswith("_at"):
                # autofit() measures a date as mm/dd/yyyy: this is the least width it widens
                sheet.set_column(column, column, XLSX_MOMENT_WIDTH)
        sheet.autofit()
        if last:
            # "000412" is a ticket's number, not a number: no "stored as text" warning on it
            sheet.ignore_errors({"number_stored_as_text": f"A2:A{last + 1}"})
    return out.getvalue()
