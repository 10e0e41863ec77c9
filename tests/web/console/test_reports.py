"""The office's figures (CONTRACT.md section 8) on a history built by hand: every ticket's
moments are known, so every figure has one exact expected value."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from storage import Backend, FaqEvent, Message, Rating, StatusChange, Ticket
from storage.models import TicketStatus
from tests.conftest import Server
from tests.spreadsheet import read_sheet
from tests.web.backends import on_both_backends  # noqa: F401 - `server`, twice
from tests.web.conftest import ANNA, ELENA, LAURA, Factory, open_ticket
from web.desk.office_hours import OfficeHours
from web.desk.report_charts import nice_step
from web.http.keys import SERVICES

ROME = ZoneInfo("Europe/Rome")
Kind = Literal["suggested", "solved", "no_match", "not_solved"]


def ago(days: int, hour: int, minute: int = 0) -> str:
    """The office's clock `days` days ago at hour:minute, as storage stamps it (UTC)."""
    day = datetime.now(ROME).date() - timedelta(days=days)
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ROME)
    return local.astimezone(UTC).isoformat(timespec="milliseconds")


def local(days: int, hour: int, minute: int = 0) -> str:
    """The same moment as ago(), as the CSV writes it: in the office's time."""
    moment = datetime.fromisoformat(ago(days, hour, minute)).astimezone(ROME)
    return moment.isoformat(timespec="seconds")


def wall_clock(days: int, hour: int, minute: int = 0) -> datetime:
    """The same moment as a workbook's date cell holds it: the office's clock, no zone."""
    return datetime.fromisoformat(local(days, hour, minute)).replace(tzinfo=None)


def label_of(days: int) -> str:
    """A day as the Italian chart labels it: "7 dic"."""
    months = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]
    date = datetime.now(ROME).date() - timedelta(days=days)
    return f"{date.day} {months[date.month - 1]}"


def day(days: int) -> str:
    return (datetime.now(ROME).date() - timedelta(days=days)).isoformat()


async def put(
    storage: Backend,
    created: str,
    subtopic: str,
    *,
    reply: str | None = None,
    note: str | None = None,
    history: Sequence[tuple[TicketStatus, str]] = (),
    rating: tuple[int, str] | None = None,
) -> str:
    def build(number: str) -> Ticket:
        messages = [Message(id="s", author="student", name="Rossi Mario", body="?", at=created)]
        if note:
            messages.append(
                Message(id="n", author="operator", name="Laura", body="nota", internal=True,
                        username="lbianchi", at=note)
            )
        if reply:
            messages.append(
                Message(id="r", author="operator", name="Laura", body="ecco",
                        username="lbianchi", at=reply)
            )
        changes = [StatusChange("open", "student", created)]
        changes += [StatusChange(status, "lbianchi", at) for status, at in history]
        return Ticket(
            number=number,
            email=f"s{number}@example.org",
            name="Rossi Mario",
            phone="+393331234567",
            topic="immatricolazioni",
            subtopic=subtopic,
            status=changes[-1].status,
            created_at=created,
            messages=messages,
            history=changes,
            rating=Rating(score=rating[0], at=rating[1]) if rating else None,
        )

    return (await storage.tickets.create(build)).number


@pytest.fixture
async def history(server: Server) -> dict[str, str]:
    """Seven tickets and five chats, each moment placed in the office's past days."""
    storage = server.app[SERVICES].storage
    numbers = {
        # answered in 30 min, closed in 2 h, rated 5
        "a": await put(storage, ago(2, 9), "tasse-pagamenti", reply=ago(2, 9, 30),
                       history=[("closed", ago(2, 11))], rating=(5, ago(2, 12))),
        # a note after 5 min is no answer: answered in 60 min; closed after 48 h, rated 3
        "b": await put(storage, ago(3, 10), "tasse-pagamenti", note=ago(3, 10, 5),
                       reply=ago(3, 11), history=[("closed", ago(1, 10))],
                       rating=(3, ago(1, 10, 30))),
        # answered in 120 min, now waiting for the student
        "c": await put(storage, ago(1, 8), "scadenze", reply=ago(1, 10),
                       history=[("awaiting_user", ago(1, 10))]),
        # nobody answered yet
        "d": await put(storage, ago(1, 9), "documenti"),
        # opened before the week, answered in 10 min then, closed inside the week after 96 h
        "e": await put(storage, ago(10, 9), "scadenze", reply=ago(10, 9, 10),
                       history=[("closed", ago(6, 9))]),
        # answered in 240 min, closed, then reopened: not resolved
        "f": await put(storage, ago(4, 9), "credenziali", reply=ago(4, 13),
                       history=[("closed", ago(4, 14)), ("open", ago(3, 9))]),
        # a month ago: only the 30-day window sees it
        "g": await put(storage, ago(20, 9), "documenti", reply=ago(20, 10),
                       history=[("closed", ago(20, 12))], rating=(1, ago(19, 9))),
    }
    log = storage.faq_events
    events: list[tuple[Kind, str | None, str]] = [
        ("suggested", "chat-1", ago(2, 8)),
        ("solved", "chat-1", ago(2, 8, 1)),
        ("no_match", "chat-2", ago(2, 9)),
        ("suggested", "chat-3", ago(3, 9)),
        ("not_solved", "chat-3", ago(3, 9, 2)),
        ("suggested", "chat-4", ago(12, 9)),
        ("solved", "chat-4", ago(12, 9, 1)),
        # first searched before the week: it counts where it started
        ("suggested", "chat-5", ago(8, 9)),
        ("suggested", "chat-5", ago(1, 9)),
        ("solved", "chat-5", ago(1, 9, 1)),
        # an event without a chat has no chat to count in
        ("suggested", None, ago(1, 9)),
    ]
    for kind, chat, at in events:
        await log.append(FaqEvent(kind=kind, query="q", lang="it", conversation_id=chat, at=at))
    return numbers


async def test_every_figure_of_the_week(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    elena = await signed_in(ELENA)
    status, body = await elena.get("/api/console/reports", days="7")
    assert status == 200, body
    window = body.pop("window")
    assert window["days"] == 7
    assert window["since"] == datetime.combine(
        datetime.now(ROME).date() - timedelta(days=6), datetime.min.time(), ROME
    ).isoformat(timespec="milliseconds")
    assert datetime.fromisoformat(window["until"]) <= datetime.now(UTC)
    assert body == {
        "tickets": {"opened": 5, "closed": 3, "open_now": 3},
        # "d" still waits for its first answer, since 9:00 yesterday
        "waiting_now": {"tickets": 1, "oldest_since": ago(1, 9)},
        "open_now_erased": 0,
        # 30, 60, 120, 240 minutes
        "first_response_minutes": {"median": 90.0, "p90": 240.0},
        # 2, 48, 96 hours
        "resolution_hours": {"median": 48.0, "p90": 96.0},
        "by_subtopic": [
            {"topic": "immatricolazioni", "subtopic": "tasse-pagamenti", "opened": 2},
            {"topic": "immatricolazioni", "subtopic": "credenziali", "opened": 1},
            {"topic": "immatricolazioni", "subtopic": "documenti", "opened": 1},
            {"topic": "immatricolazioni", "subtopic": "scadenze", "opened": 1},
        ],
        "by_day": [
            {"day": day(6), "opened": 0, "closed": 1},
            {"day": day(5), "opened": 0, "closed": 0},
            {"day": day(4), "opened": 1, "closed": 0},
            {"day": day(3), "opened": 1, "closed": 0},
            {"day": day(2), "opened": 1, "closed": 1},
            {"day": day(1), "opened": 2, "closed": 1},
            {"day": day(0), "opened": 0, "closed": 0},
        ],
        "rating": {"count": 2, "average": 4.0},
        "deflection": {"chats": 3, "solved_by_faq": 1, "rate": 0.333},
    }


async def test_with_the_office_s_hours_the_first_response_in_working_time_too(
    server: Server, signed_in: Factory
) -> None:
    services = server.app[SERVICES]
    office = OfficeHours.parse("mon-sun 09:00-13:00")
    services.config = replace(services.config, office_hours=office)
    # two days in a row of the last week that were not public holidays
    k = next(
        k for k in range(1, 6)
        if not any(office.is_closed_day(datetime.fromisoformat(day(k + i)).date())
                   for i in (0, 1))
    )
    # before opening, answered half an hour into the morning: 90 minutes, 30 of them working
    await put(services.storage, ago(k, 8), "scadenze", reply=ago(k, 9, 30))
    # at 12:30, answered at 9:15 the next morning: 1245 minutes, 45 working
    await put(services.storage, ago(k + 1, 12, 30), "scadenze", reply=ago(k, 9, 15))
    status, body = await (await signed_in(ELENA)).get("/api/console/reports", days="7")
    assert status == 200, body
    assert body["first_response_minutes"] == {"median": 667.5, "p90": 1245.0}
    assert body["first_response_working_minutes"] == {"median": 37.5, "p90": 45.0}


async def test_a_longer_window_sees_older_tickets(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    anna = await signed_in(ANNA)
    status, body = await anna.get("/api/console/reports", days="30")
    assert status == 200
    assert body["tickets"] == {"opened": 7, "closed": 4, "open_now": 3}
    assert body["waiting_now"] == {"tickets": 1, "oldest_since": ago(1, 9)}
    # 10, 30, 60, 60, 120, 240 minutes
    assert body["first_response_minutes"] == {"median": 60.0, "p90": 240.0}
    # 2, 3, 48, 96 hours
    assert body["resolution_hours"] == {"median": 25.5, "p90": 96.0}
    assert body["rating"] == {"count": 3, "average": 3.0}
    assert body["deflection"] == {"chats": 5, "solved_by_faq": 3, "rate": 0.6}
    assert len(body["by_day"]) == 30 and sum(d["opened"] for d in body["by_day"]) == 7


async def test_the_faq_report_covers_the_days_the_figures_cover(
    server: Server, signed_in: Factory
) -> None:
    # The console's one choice of days sets both reports, side by side: the same whole days.
    log = server.app[SERVICES].storage.faq_events
    for query, at in (("orari biblioteca", ago(6, 0, 30)), ("parcheggio bici", ago(7, 23, 30))):
        await log.append(FaqEvent(kind="no_match", query=query, lang="it", at=at))
    elena = await signed_in(ELENA)
    for days in ("1", "7", "30"):
        _, figures = await elena.get("/api/console/reports", days=days)
        _, faq = await elena.get("/api/console/faq-report", days=days)
        assert faq["window"]["since"] == figures["window"]["since"], days
    _, week = await elena.get("/api/console/faq-report", days="7")
    assert [u["text"] for u in week["unanswered"]] == ["orari biblioteca"]


async def test_an_empty_desk_has_no_invented_figure(signed_in: Factory) -> None:
    elena = await signed_in(ELENA)
    status, body = await elena.get("/api/console/reports", days="1")
    assert status == 200
    assert body["tickets"] == {"opened": 0, "closed": 0, "open_now": 0}
    assert body["waiting_now"] == {"tickets": 0, "oldest_since": None}
    assert body["first_response_minutes"] == {"median": None, "p90": None}
    assert body["resolution_hours"] == {"median": None, "p90": None}
    assert body["by_subtopic"] == []
    assert body["by_day"] == [{"day": day(0), "opened": 0, "closed": 0}]
    assert body["rating"] == {"count": 0, "average": None}
    assert body["deflection"] == {"chats": 0, "solved_by_faq": 0, "rate": None}


async def test_the_figures_follow_a_change_at_once(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    """The moments are kept up to date by every write, not only read at start."""
    storage = server.app[SERVICES].storage

    def reopen(ticket: Ticket) -> None:
        ticket.status = "open"
        ticket.history.append(StatusChange("open", "student"))

    await storage.tickets.update(history["a"], reopen)
    elena = await signed_in(ELENA)
    _, body = await elena.get("/api/console/reports", days="7")
    assert body["tickets"] == {"opened": 5, "closed": 2, "open_now": 4}
    assert body["waiting_now"] == {"tickets": 1, "oldest_since": ago(1, 9)}
    assert body["resolution_hours"] == {"median": 72.0, "p90": 96.0}


async def test_minutes_long_resolutions_keep_their_minutes(
    server: Server, signed_in: Factory
) -> None:
    """A tenth of an hour is six minutes: tickets resolved in 2 and 5 minutes are 0.033 and
    0.083 h, not 0.0 (which the console showed as "under 1 min")."""
    storage = server.app[SERVICES].storage
    await put(storage, ago(1, 9), "scadenze", reply=ago(1, 9, 1),
              history=[("closed", ago(1, 9, 2))])
    await put(storage, ago(1, 10), "scadenze", reply=ago(1, 10, 3),
              history=[("closed", ago(1, 10, 5))])
    elena = await signed_in(ELENA)
    _, body = await elena.get("/api/console/reports", days="7")
    # 1, 3 minutes
    assert body["first_response_minutes"] == {"median": 2.0, "p90": 3.0}
    # 2, 5 minutes: 3.5 and 5 minutes
    assert body["resolution_hours"] == {"median": 0.058, "p90": 0.083}
    # and the downloads say the same of each ticket
    async with elena.http.get("/api/console/reports.csv", params={"days": "7"}) as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert sorted(r["resolution_hours"] for r in rows) == ["0.033", "0.083"]


async def test_the_csv_lists_the_tickets_of_the_window(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    elena = await signed_in(ELENA)
    async with elena.http.get("/api/console/reports.csv", params={"days": "7"}) as response:
        assert response.status == 200
        assert response.content_type == "text/csv" and response.charset == "utf-8"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="tickets-')
        assert response.headers["Cache-Control"] == "no-store"
        text = await response.text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "number", "created_at", "topic", "subtopic", "status", "first_response_at",
        "first_response_minutes", "closed_at", "resolution_hours", "rating",
    ]
    assert [r["number"] for r in rows] == [history[k] for k in "fbacd"]
    by_number = {r["number"]: r for r in rows}
    assert by_number[history["a"]] == {
        "number": history["a"], "created_at": local(2, 9), "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti", "status": "closed", "first_response_at": local(2, 9, 30),
        "first_response_minutes": "30.0", "closed_at": local(2, 11), "resolution_hours": "2.000",
        "rating": "5",
    }
    assert by_number[history["d"]]["first_response_at"] == ""
    assert by_number[history["f"]]["closed_at"] == ""
    assert "example.org" not in text and "Rossi" not in text


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = [
    "number", "created_at", "topic", "subtopic", "status", "first_response_at",
    "first_response_minutes", "closed_at", "resolution_hours", "rating",
]


async def test_the_workbook_has_the_csv_s_rows_with_real_dates_and_numbers(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    """For a spreadsheet in any locale (an Italian Excel reads the CSV's commas and ISO moments
    as text): the same rows and columns, but a moment is a date cell and a figure a number."""
    elena = await signed_in(ELENA)
    async with elena.http.get("/api/console/reports.xlsx", params={"days": "7"}) as response:
        assert response.status == 200
        assert response.content_type == XLSX
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="tickets-')
        assert disposition.endswith('-7d.xlsx"')
        assert response.headers["Cache-Control"] == "no-store"
        sheet = read_sheet(await response.read())
    async with elena.http.get("/api/console/reports.csv", params={"days": "7"}) as response:
        csv_rows = list(csv.reader(io.StringIO(await response.text())))

    header, *rows = sheet.rows
    # read by people, passed on to theirs: the header in the reader's language
    assert [c.value if c else None for c in header] == [
        "Numero", "Aperto il", "Argomento", "Tema", "Stato", "Prima risposta il",
        "Prima risposta (minuti)", "Chiuso il", "Risoluzione (ore)", "Valutazione (1-5)",
    ]
    assert all(c and c.kind == "text" and c.bold for c in header)
    assert sheet.frozen_rows == 1
    assert sheet.autofilter == "A1:J6"
    # one row a ticket, oldest first, as in the CSV, and empty where the CSV is
    assert [r[0].value if r[0] else None for r in rows] == [history[k] for k in "fbacd"]
    assert [[c is None for c in r] for r in rows] == [[v == "" for v in r] for r in csv_rows[1:]]

    a = dict(zip(COLUMNS, rows[2], strict=True))
    assert a["number"] and a["number"].kind == "text" and a["number"].value == history["a"]
    for name, moment in (("created_at", wall_clock(2, 9)),
                         ("first_response_at", wall_clock(2, 9, 30)),
                         ("closed_at", wall_clock(2, 11))):
        cell = a[name]
        assert cell and cell.kind == "number" and cell.is_date, (name, cell)
        assert cell.moment == moment, name
    figures = {name: (c.kind, c.value) if c else None for name, c in a.items()
               if name in ("first_response_minutes", "resolution_hours", "rating")}
    assert figures == {"first_response_minutes": ("number", 30.0),
                       "resolution_hours": ("number", 2.0), "rating": ("number", 5.0)}
    # the status and the topics as the console words them, not as codes
    assert [a[name].value if a[name] else None for name in ("topic", "subtopic", "status")] == [
        "Immatricolazioni", "Tasse, ISEE, pagoPA ed esoneri", "Chiuso"]
    c = dict(zip(COLUMNS, rows[3], strict=True))
    assert c["status"] and c["status"].value == "In attesa di risposta utente"
    # a moment's column is wide enough to show it, not "#####"
    assert all(sheet.widths[i] >= 19 for i, name in enumerate(COLUMNS) if name.endswith("_at"))
    texts = [str(c.value) for r in sheet.rows for c in r if c]
    assert not any("example.org" in t or "Rossi" in t for t in texts)


async def test_an_empty_window_gives_a_workbook_with_its_header_only(signed_in: Factory) -> None:
    elena = await signed_in(ELENA)
    async with elena.http.get(
        "/api/console/reports.xlsx", params={"days": "1", "lang": "en"}
    ) as response:
        assert response.status == 200
        sheet = read_sheet(await response.read())
    assert [[c.value if c else None for c in r] for r in sheet.rows] == [[
        "Number", "Opened at", "Topic", "Subtopic", "Status", "First response at",
        "First response (minutes)", "Closed at", "Resolution (hours)", "Rating (1-5)",
    ]]
    assert sheet.autofilter == "A1:J1"


@pytest.mark.parametrize(
    "path", ["/api/console/reports", "/api/console/reports.csv", "/api/console/reports.xlsx"]
)
async def test_only_editors_and_admins_read_the_figures(
    server: Server, signed_in: Factory, path: str
) -> None:
    laura = await signed_in(LAURA, "en")
    status, body = await laura.get(path, days="7")
    assert status == 403 and body["error"]["code"] == "forbidden"
    elena = await signed_in(ELENA, "en")
    for days in ("0", "366", "sette", "7.5", "-1"):
        status, body = await elena.get(path, days=days)
        assert status == 422, days
        assert body["error"]["fields"] == {"days": "Must be a whole number of days from 1 to 365."}
    for days in ("1", "365"):
        status, _ = await elena.get(path, days=days)
        assert status == 200
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}{path}") as response:
        assert response.status == 401


# --- the charts, drawn on the server --------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


async def svg(console: Any, chart: str, **params: str) -> ElementTree.Element:
    async with console.http.get(f"/api/console/reports/{chart}.svg", params=params) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "image/svg+xml"
        assert response.headers["Cache-Control"] == "no-store"
        return ElementTree.fromstring(await response.text())


def bars(root: ElementTree.Element) -> list[str]:
    """The tooltip of every bar, in drawing order."""
    return [
        rect.findtext(f"{SVG}title") or ""
        for rect in root.iter(f"{SVG}rect")
        if rect.find(f"{SVG}title") is not None
    ]


async def test_the_day_chart_draws_two_bars_a_day_from_the_figures(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    elena = await signed_in(ELENA)
    root = await svg(elena, "by_day", days="7")
    assert root.findtext(f"{SVG}title") == "Ticket arrivati e chiusi per giorno"
    drawn = bars(root)
    assert len(drawn) == 14
    label = label_of(1)
    # yesterday: C and D opened, B closed
    assert drawn[10:12] == [f"{label}: 2 arrivati", f"{label}: 1 chiusi"]
    heights = [
        float(r.get("height", 0))
        for r in root.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    ]
    assert heights[10] == 2 * heights[11] > 0  # drawn to scale
    english = await svg(elena, "by_day", days="7", lang="en")
    assert english.findtext(f"{SVG}title") == "Tickets received and closed per day"
    # today's label ends at its bar's right edge, inside the drawing, at any window
    season = await svg(elena, "by_day", days="90")
    today = [t for t in season.iter(f"{SVG}text") if t.text == label_of(0)]
    assert [(t.get("text-anchor"), float(t.get("x", 0)) <= 720) for t in today] == [("end", True)]


async def test_the_subtopic_chart_names_each_subtopic_in_the_readers_language(
    server: Server, signed_in: Factory, history: dict[str, str]
) -> None:
    anna = await signed_in(ANNA)
    root = await svg(anna, "by_subtopic", days="7")
    assert bars(root) == ["Tasse, ISEE, pagoPA ed esoneri: 2", "Credenziali di Ateneo ed email: 1",
                          "Documenti e allegati: 1", "Scadenze e iscrizione in ritardo: 1"]
    english = await svg(anna, "by_subtopic", days="7", lang="en")
    assert bars(english)[0] == "Fees, ISEE, pagoPA and exemptions: 2"


async def test_an_empty_window_says_so_and_unknown_charts_are_not_found(
    signed_in: Factory
) -> None:
    elena = await signed_in(ELENA)
    root = await svg(elena, "by_subtopic", days="1")
    assert bars(root) == []
    assert "Nessun ticket in questo periodo." in ElementTree.tostring(root, encoding="unicode")
    status, _ = await elena.get("/api/console/reports/pie.svg")
    assert status == 404
    status, _ = await elena.get("/api/console/reports/by_day.svg", days="0")
    assert status == 422
    laura = await signed_in(LAURA)
    status, _ = await laura.get("/api/console/reports/by_day.svg")
    assert status == 403


def test_the_scale_steps_are_round() -> None:
    assert [nice_step(n) for n in (1, 3, 4, 9, 40, 41, 170, 999)] == [1, 1, 1, 5, 10, 20, 50, 500]


async def test_open_tickets_erased_on_request_are_told_apart(
    server: Server, signed_in: Factory
) -> None:
    """An open ticket erased on request stays counted open (CONTRACT.md section 9) but leaves
    the queue and the console's list, and nobody can close it: the report says how many of the
    open ones these are, or the head of office finds fewer open tickets than the figure says."""
    anna = await signed_in(ANNA)
    laura = await signed_in(LAURA)
    answered, waiting, kept = [await open_ticket(server) for _ in range(3)]
    status, _ = await laura.post(
        f"/api/console/tickets/{answered.number}/messages", {"body": "Ecco come fare."}
    )
    assert status == 201
    for erased in (answered, waiting):
        status, body = await anna.post("/api/console/privacy/erase", {"email": erased.email})
        assert status == 200 and body == {"tickets": 1}, body
    _, listed = await laura.get("/api/console/tickets", status="open")
    assert [t["number"] for t in listed["tickets"]] == [kept.number]
    _, body = await anna.get("/api/console/reports", days="1")
    assert body["tickets"]["open_now"] == 3
    assert body["open_now_erased"] == 2
    assert body["waiting_now"]["tickets"] == 1
