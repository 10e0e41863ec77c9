"""The editors' and admins' reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from aiohttp import web

from web.console.access import json_response, require
from web.desk.errors import ApiError
from web.desk.faq_report import build_report
from web.http.errors import request_lang

routes = web.RouteTableDef()


REPORT_DAYS = 30
REPORT_DAYS_MAX = 365


@routes.get("/api/console/faq-report")
async def faq_report(request: web.Request) -> web.StreamResponse:
    """What students asked that no FAQ answered, and which FAQs helped or did not, over the last
    `days` days: for the editors who write faq_data/ (web/desk/faq_report.py counts)."""
    console, _ = await require(request, csrf=False, roles=("editor", "admin"))
    try:
        days = int(request.query.get("days", REPORT_DAYS))
        if not 1 <= days <= REPORT_DAYS_MAX:
            raise ValueError
    except ValueError:
        raise ApiError(422, "validation_failed", fields={"days": "console.field.days"}) from None
    journal = console.services.storage.faq_events
    # The log keeps its latest MEMORY events in memory; a fuller list would mean the report
    # starts later than asked, which the answer says (window.covered_from).
    events = await journal.recent(journal.MEMORY)
    report = build_report(
        events,
        console.services.faq.index,
        request_lang(request),
        days,
        datetime.now(UTC),
        every_event=len(events) < journal.MEMORY,
    )
    return json_response(asdict(report))
