"""The student HTTP API of CONTRACT.md section 4: open a ticket, look it up, read, reply."""

from __future__ import annotations

from aiohttp import web

from bot.validate import Valid, validate_number, validate_reply, validate_ticket
from storage import Attachment, Ticket
from web.desk.errors import ApiError, rate_limited
from web.desk.limits import refund_all, take_all
from web.desk.ratings import rating_view, read_rating
from web.desk.services import Services
from web.desk.students import creation_limits, lookup, opened_by, opened_from
from web.desk.tickets import Desk
from web.http.clients import request_sender
from web.http.errors import json_object, request_lang
from web.http.keys import SERVICES
from web.http.uploads import discard, read_body

TICKET_FIELDS = {"email", "name", "phone", "topic", "subtopic", "message", "lang", "references"}
routes = web.RouteTableDef()


@routes.post("/api/tickets")
async def create_ticket(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data, attachment = await read_body(request, services.storage.attachments, TICKET_FIELDS)
    try:
        await count_upload(request, services, attachment)
        fields, errors = validate_ticket(data, services.faq.index)
        if errors:
            raise ApiError(422, "validation_failed", fields=errors)
        limits = creation_limits(services, request_sender(request), fields["email"])
        await take_all(limits)
        try:
            references = await _references(
                services, data.get("references"), fields["email"], request_sender(request)
            )
            ticket = await Desk(services).open(fields, attachment, references=references)
        except BaseException:
            await refund_all(limits)  # nothing was opened: the attempt does not count
            raise
    except BaseException:
        await discard(services.storage.attachments, attachment)
        raise
    await opened_from(services, ticket.email, request_sender(request))
    token = services.signer.issue(ticket.number)
    return web.json_response(
        {"number": ticket.number, "status": ticket.status, "token": token}, status=201
    )


async def count_upload(
    request: web.Request, services: Services, attachment: Attachment | None
) -> None:
    """A file that comes with a ticket or a reply counts against the uploads allowed per
    address, as the chat's do (web/student/attachments.py): they fill the same disk, which a
    script would otherwise fill through these routes. Counted once the file has arrived, so
    that a form without one is never refused for the files of others at the same address; the
    caller discards the file when this refuses it."""
    if attachment is None:
        return
    wait = await services.limits.uploads_per_ip.take(request_sender(request))
    if wait:
        raise rate_limited(wait)


async def _references(services: Services, raw: object, email: str, ip: str) -> str | None:
    """A follow-up of a closed ticket names it; only its own owner may link to it. The pair
    email + number is the student's credential, so a wrong one counts as a failed look-up:
    otherwise this answer would let anyone try numbers for an email at the creation's pace."""
    if not raw:
        return None
    number = validate_number(str(raw))
    if not isinstance(number, Valid):
        raise ApiError(422, "validation_failed", fields={"references": number.key})
    try:
        await lookup(services, email, number.value, ip)
    except ApiError as refused:
        if refused.status != 404:
            raise  # throttled: the look-up's own 429
        raise ApiError(
            422, "validation_failed", fields={"references": "wrong_number.not_yours"}
        ) from None
    return number.value


@routes.post("/api/tickets/lookup")
async def lookup_ticket(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    # JSON only: a look-up has nothing to upload, and a multipart one could leave files behind
    data = await json_object(request)
    email, number = data.get("email"), data.get("number")
    if not isinstance(email, str) or not isinstance(number, str | int):
        raise ApiError(404, "lookup_failed")
    ticket = await lookup(services, email, str(number), request_sender(request))
    return web.json_response(
        {"number": ticket.number, "token": services.signer.issue(ticket.number)}
    )


async def bearer_ticket(request: web.Request, services: Services) -> str:
    """The number in the URL, if the bearer token opens exactly that ticket."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    opened = await opened_by(services, token) if scheme.lower() == "bearer" else None
    clean = validate_number(request.match_info["number"])
    if opened is None or not isinstance(clean, Valid) or clean.value != opened:
        raise ApiError(401, "unauthorized")
    return opened


async def bearer_ticket_record(request: web.Request, services: Services) -> Ticket:
    """The ticket the bearer token opens (bearer_ticket), read; 404 if it is gone."""
    ticket = await services.storage.tickets.get(await bearer_ticket(request, services))
    if ticket is None:
        raise ApiError(404, "not_found")
    return ticket


@routes.get("/api/tickets/{number}")
async def get_ticket(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ticket = await bearer_ticket_record(request, services)
    view = await Desk(services).student_view(ticket, request_lang(request))
    return web.json_response(view)


@routes.post("/api/tickets/{number}/messages")
async def post_message(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    number = await bearer_ticket(request, services)
    data, attachment = await read_body(request, services.storage.attachments, {"body"})
    try:
        await count_upload(request, services, attachment)
        body = validate_reply(str(data.get("body") or ""), has_attachment=attachment is not None)
        if not isinstance(body, Valid):
            raise ApiError(422, "validation_failed", fields={"body": body.key})
        wait = await services.limits.student_messages_per_ticket.take(number)
        if wait:
            raise rate_limited(wait)
        ticket = await Desk(services).student_reply(number, body.value, attachment)
    except BaseException:
        await discard(services.storage.attachments, attachment)
        raise
    return web.json_response({"number": ticket.number, "status": ticket.status}, status=201)


@routes.post("/api/tickets/{number}/rating")
async def post_rating(request: web.Request) -> web.Response:
    """CONTRACT.md section 8: 1..5 and an optional comment, on a closed ticket, once."""
    services = request.app[SERVICES]
    number = await bearer_ticket(request, services)
    rating = read_rating(await json_object(request))
    ticket = await Desk(services).rate(number, rating)
    return web.json_response(
        {"number": ticket.number, "rating": rating_view(ticket.rating)}, status=201
    )
