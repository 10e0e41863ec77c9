"""The student's privacy: the notice (GDPR art. 13) and the download of everything kept about
them (arts. 15 and 20). Erasure is the office's, from the console (web/console/privacy.py)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.i18n import t
from storage import AuditEntry
from web.desk.export import ticket_data
from web.http.download import json_download
from web.http.errors import request_lang
from web.http.keys import SERVICES
from web.student.api import bearer_ticket_record
from web.student.pages import page_context

routes = web.RouteTableDef()


@routes.get("/privacy")
@aiohttp_jinja2.template("privacy.html")
async def notice(request: web.Request) -> dict[str, Any]:
    context = page_context(request, "privacy")
    config = request.app[SERVICES].config
    context["days"] = config.retention_days
    context["dpo"] = config.dpo_contact or t("privacy.dpo_unset", context["lang"])
    return context


@routes.get("/api/tickets/{number}/export")
async def export(request: web.Request) -> web.Response:
    """The ticket the token opens, everything kept with it, as a file to save (not the email's
    other tickets: see web/desk/export.py)."""
    services = request.app[SERVICES]
    ticket = await bearer_ticket_record(request, services)
    data = await ticket_data(services, ticket)
    await services.storage.audit.append(
        AuditEntry(actor="student", action="privacy.exported", target=ticket.number)
    )
    filename = t("privacy.export_filename", request_lang(request), number=ticket.number)
    return json_download(data, filename)
