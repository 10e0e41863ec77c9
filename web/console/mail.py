"""Notifications that could not be delivered, for admins: see them, try them again."""

from __future__ import annotations

from aiohttp import web

from web.console.access import audit, json_response, require
from web.console.namespace import parse_number
from web.desk.errors import ApiError

routes = web.RouteTableDef()


@routes.get("/api/console/mail/parked")
async def parked_mail(request: web.Request) -> web.StreamResponse:
    """Notifications that could not be delivered after every retry: the admin calls or writes
    to these students by other means, or tries again once the cause is fixed. `reason` is a
    code the page words in the admin's language; `last_error` the server's own text."""
    console, _ = await require(request, csrf=False, roles=("admin",))
    worker = console.services.mail
    return json_response(
        {
            "mail": [
                {
                    "number": number,
                    "id": mail.id,
                    "to": mail.to,
                    "subject": mail.subject,
                    "kind": mail.kind,
                    "attempts": mail.attempts,
                    "reason": mail.reason,
                    "last_error": mail.last_error,
                    "created_at": mail.created_at,
                }
                for number, mail in await console.services.storage.outbox.parked()
            ],
            # An outage in progress (the whole queue waits): retrying now would not help.
            "server_problem": worker.server_problem if worker else None,
        }
    )


@routes.post("/api/console/mail/parked/{number}/{mail_id}/retry")
async def retry_parked_mail(request: web.Request) -> web.StreamResponse:
    """Queue a parked mail again with a fresh set of tries."""
    console, caller = await require(request, csrf=True, roles=("admin",))
    worker = console.services.mail
    number = parse_number(request.match_info["number"])
    mail_id = request.match_info["mail_id"]
    if worker is None or number is None or not await worker.requeue(number, mail_id):
        raise ApiError(404, "not_found")
    await audit(request, caller.operator.username, "mail.retried", number, mail_id=mail_id)
    return json_response({"number": number, "id": mail_id, "state": "queued"})


@routes.post("/api/console/mail/parked/retry")
async def retry_all_parked_mail(request: web.Request) -> web.StreamResponse:
    """Queue every parked mail again: once a relay's setting is mended, the mails it refused
    in the meantime (hundreds at a deadline) go with one click, not one each."""
    console, caller = await require(request, csrf=True, roles=("admin",))
    worker = console.services.mail
    if worker is None:
        raise ApiError(404, "not_found")
    queued = 0
    for number, mail in await console.services.storage.outbox.parked():
        if await worker.requeue(number, mail.id):
            queued += 1
            await audit(request, caller.operator.username, "mail.retried", number, mail_id=mail.id)
    return json_response({"queued": queued})
