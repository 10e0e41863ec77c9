"""Admins act on students' requests about their data (CONTRACT.md section 9): export what is
kept about the student of a ticket, and erase a student by email after seeing how many tickets
that takes. Operators and editors get 403: this is not everyday work."""

from __future__ import annotations

from aiohttp import web

from bot.i18n import t
from bot.validate import plain_email
from storage.models import Role
from web.console.access import audit, json_response, path_number, require
from web.desk.erasure import erase, tickets_of
from web.desk.errors import ApiError
from web.desk.export import student_data
from web.http.download import json_download
from web.http.errors import json_object, request_lang

routes = web.RouteTableDef()
ADMIN: tuple[Role, ...] = ("admin",)


async def _email(request: web.Request) -> str:
    """The address as the admin gives it: web.desk.erasure looks for it as stored and as a
    look-up reads it. Not the students' validation: that one grew stricter over time, and an
    erasure must reach an address it would now refuse."""
    raw = (await json_object(request)).get("email")
    email = raw.strip() if isinstance(raw, str) else ""
    if "@" not in plain_email(email) or len(email) > 320:
        raise ApiError(422, "validation_failed", fields={"email": "console.field.email"})
    return email


@routes.post("/api/console/privacy/preview")
async def preview(request: web.Request) -> web.StreamResponse:
    """What an erasure of this email would take, for the confirmation the admin reads first."""
    console, _ = await require(request, csrf=True, roles=ADMIN)
    numbers = await tickets_of(console.services, await _email(request))
    return json_response({"tickets": len(numbers), "numbers": numbers})


@routes.post("/api/console/privacy/erase")
async def erase_student(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True, roles=ADMIN)
    count = await erase(console.services, await _email(request), caller.operator)
    return json_response({"tickets": count})


@routes.get("/api/console/tickets/{number}/export")
async def export(request: web.Request) -> web.StreamResponse:
    """Every ticket of the email, in the document the student downloads for one ticket: for an
    admin answering a request by mail, having checked who asks."""
    console, caller = await require(request, csrf=False, roles=ADMIN)
    number = await path_number(request)
    ticket = await console.services.storage.tickets.get(number)
    if ticket is None:
        raise ApiError(404, "not_found")
    data = await student_data(console.services, ticket.email)
    await audit(request, caller.operator.username, "privacy.exported", number)
    filename = t("privacy.export_filename", request_lang(request), number=number)
    return json_download(data, filename)
