"""The editors' and admins' reports: the FAQ report, and the office's figures (JSON, and the
tickets as CSV or as a workbook)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from aiohttp import web

from storage.models import Role
from web.console.access import json_response, no_store, require
from web.desk.errors import ApiError
from web.desk.faq_report import build_report
from web.desk.figures import (
    Window,
    office_csv,
    office_report,
    office_xlsx,
    per_day,
    per_subtopic,
)
from web.desk.office_hours import OFFICE_TZ
from web.desk.report_charts import day_chart, subtopic_chart
from web.http.errors import request_lang

routes = web.RouteTableDef()


REPORT_DAYS = 30
REPORT_DAYS_MAX = 365
READERS: tuple[Role, ...] = ("editor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def window_days(request: web.Request) -> int:
    try:
        days = int(request.query.get("days", REPORT_DAYS))
        if not 1 <= days <= REPORT_DAYS_MAX:
            raise ValueError
    except ValueError:
        raise ApiError(422, "validation_failed", fields={"days": "console.field.days"}) from None
    return days


@routes.get("/api/console/faq-report")
async def faq_report(request: web.Request) -> web.StreamResponse:
    """What students asked that no FAQ answered, and which FAQs helped or did not, over the last
    `days` days: for the editors who write faq_data/ (web/desk/faq_report.py counts); and the
    FAQ this process serves, with the latest change it refused (`corpus`), which editors would
    otherwise never learn of."""
    console, _ = await require(request, csrf=False, roles=READERS)
    days = window_days(request)
    journal = console.services.storage.faq_events
    # The log keeps its latest MEMORY events in memory; a fuller list would mean the report
    # starts later than asked, which the answer says (window.covered_from).
    events = await journal.recent(journal.MEMORY)
    lang, live = request_lang(request), console.services.faq
    report = build_report(
        events, live.index, lang, days, datetime.now(UTC), every_event=len(events) < journal.MEMORY
    )
    return json_response({**asdict(report), "corpus": live.status(lang)})


@routes.get("/api/console/reports")
async def reports(request: web.Request) -> web.StreamResponse:
    """The office's figures of CONTRACT.md section 8 (web/desk/figures.py says how each is
    counted)."""
    console, _ = await require(request, csrf=False, roles=READERS)
    days = window_days(request)
    services = console.services
    return json_response(
        await office_report(services.storage, days, datetime.now(UTC), services.config.office_hours)
    )


@routes.get("/api/console/reports.csv")
async def reports_csv(request: web.Request) -> web.StreamResponse:
    """The tickets opened in the window, one row each, as a download."""
    console, _ = await require(request, csrf=False, roles=READERS)
    days = window_days(request)
    now = datetime.now(UTC)
    text = await office_csv(console.services.storage, days, now)
    response = web.Response(text=text, content_type="text/csv", charset="utf-8")
    return tickets_download(response, days, now, "csv")


@routes.get("/api/console/reports.xlsx")
async def reports_xlsx(request: web.Request) -> web.StreamResponse:
    """The same rows as a workbook, which any Excel or LibreOffice opens with real dates and
    numbers (an Italian Excel reads the CSV's commas and ISO moments as text), worded in the
    reader's language."""
    console, _ = await require(request, csrf=False, roles=READERS)
    days = window_days(request)
    now = datetime.now(UTC)
    services = console.services
    body = await office_xlsx(
        services.storage, days, now, request_lang(request), services.faq.index.labels
    )
    return tickets_download(web.Response(body=body, content_type=XLSX), days, now, "xlsx")


def tickets_download(
    response: web.Response, days: int, now: datetime, extension: str
) -> web.StreamResponse:
    """A file of the window's tickets, named after the office's today and the window."""
    response.headers["Content-Disposition"] = (
        f'attachment; filename="tickets-{now.astimezone(OFFICE_TZ):%Y-%m-%d}-{days}d.{extension}"'
    )
    return no_store(response)


@routes.get("/api/console/reports/{chart}.svg")
async def report_chart(request: web.Request) -> web.StreamResponse:
    """One of the report's charts, drawn on the server (web/desk/report_charts.py says why):
    `by_day` or `by_subtopic`, in the reader's language."""
    console, _ = await require(request, csrf=False, roles=READERS)
    chart = request.match_info["chart"]
    if chart not in ("by_day", "by_subtopic"):
        raise ApiError(404, "not_found")
    lang, services = request_lang(request), console.services
    window = Window.of(window_days(request), datetime.now(UTC))
    if chart == "by_day":
        svg = day_chart(await per_day(services.storage, window), lang)
    else:
        labels = services.faq.index.labels
        rows = [(labels(r["topic"], r["subtopic"], lang)[1], r["opened"])
                for r in await per_subtopic(services.storage, window)]
        svg = subtopic_chart(rows, lang)
    return no_store(web.Response(text=svg, content_type="image/svg+xml", charset="utf-8"))
