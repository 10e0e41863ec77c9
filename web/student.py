"""The student HTTP API of CONTRACT.md section 4: open a ticket, look it up, read, reply."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bot.validate import Valid, validate_number, validate_reply, validate_ticket
from storage import Attachment, Ticket
from web import clients
from web.desk import Desk
from web.errors import ApiError, json_object, rate_limited, request_lang
from web.limits import RateLimiter
from web.services import SERVICES, Services
from web.uploads import read_form

TICKET_FIELDS = {"email", "name", "phone", "topic", "subtopic", "message", "lang", "references"}
routes = web.RouteTableDef()


def client_ip(request: web.Request) -> str:
    return clients.client_ip(request, request.app[SERVICES].config.trusted_proxies)


async def read_body(
    request: web.Request, services: Services, fields: set[str]
) -> tuple[dict[str, Any], Attachment | None]:
    """JSON, or multipart with an optional `attachment` part (at most 2 MiB, PDF/PNG/JPEG)."""
    if request.content_type == "multipart/form-data":
        form = await read_form(
            await request.multipart(), services.storage.attachments, field_names=fields
        )
        return dict(form.fields), form.attachment
    return await json_object(request), None


async def discard(services: Services, attachment: Attachment | None) -> None:
    """An attachment of a refused request must not stay behind."""
    if attachment is not None:
        await services.storage.attachments.delete(attachment.id)


def take_all(pairs: Sequence[tuple[RateLimiter, str]]) -> None:
    """Count an attempt under every limit, or under none and raise 429 with the longest wait."""
    taken: list[tuple[RateLimiter, str]] = []
    for limiter, key in pairs:
        wait = limiter.take(key)
        if wait:
            refund_all(taken)
            raise rate_limited(max([wait, *(limiter.retry_after(key) for limiter, key in pairs)]))
        taken.append((limiter, key))


def refund_all(pairs: Sequence[tuple[RateLimiter, str]]) -> None:
    for limiter, key in pairs:
        limiter.refund(key)


def creation_limits(services: Services, ip: str, email: str) -> list[tuple[RateLimiter, str]]:
    limits = services.limits
    return [(limits.create_per_ip, ip), (limits.create_per_email, clients.email_key(email))]


@routes.post("/api/tickets")
async def create_ticket(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data, attachment = await read_body(request, services, TICKET_FIELDS)
    try:
        fields, errors = validate_ticket(data, services.faq.index)
        if errors:
            raise ApiError(422, "validation_failed", fields=errors)
        limits = creation_limits(services, client_ip(request), fields["email"])
        take_all(limits)
        try:
            references = await _references(services, data.get("references"), fields["email"])
            ticket = await Desk(services).open(fields, attachment, references=references)
        except BaseException:
            refund_all(limits)  # nothing was opened: the attempt does not count
            raise
    except BaseException:
        await discard(services, attachment)
        raise
    token = services.signer.issue(ticket.number)
    return web.json_response(
        {"number": ticket.number, "status": ticket.status, "token": token}, status=201
    )


async def _references(services: Services, raw: object, email: str) -> str | None:
    """A follow-up of a closed ticket names it; only its own owner may link to it."""
    if not raw:
        return None
    number = validate_number(str(raw))
    if not isinstance(number, Valid):
        raise ApiError(422, "validation_failed", fields={"references": number.key})
    old = await services.storage.tickets.get(number.value)
    if old is None or old.email != email:
        raise ApiError(422, "validation_failed", fields={"references": "wrong_number.syntax"})
    return number.value


async def lookup(services: Services, email: str, number: str, ip: str) -> Ticket:
    """Email + number, the student's only credential. Wrong email and wrong number get one
    and the same answer, in the same time (both are checked in memory); failures are
    throttled per address, per number and per email, so that guessing numbers for one email
    takes years, not minutes. Each attempt counts before it is checked, and a success gives
    it back, so a burst of concurrent guesses cannot slip past the limit."""
    limits = services.limits
    clean = validate_number(number)
    wanted = email.strip().lower()
    pairs = [
        (limits.lookup_failures_per_ip, ip),
        (limits.lookup_failures_per_number, clean.value if isinstance(clean, Valid) else number),
        (limits.lookup_failures_per_email, clients.email_key(wanted)),
    ]
    take_all(pairs)
    summary = services.storage.tickets.summary(clean.value) if isinstance(clean, Valid) else None
    ticket = None
    if summary is not None and summary.email == wanted:
        ticket = await services.storage.tickets.get(summary.number)
    if ticket is None:
        raise ApiError(404, "lookup_failed")
    refund_all(pairs)
    return ticket


@routes.post("/api/tickets/lookup")
async def lookup_ticket(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    # JSON only: a look-up has nothing to upload, and a multipart one could leave files behind
    data = await json_object(request)
    email, number = data.get("email"), data.get("number")
    if not isinstance(email, str) or not isinstance(number, str | int):
        raise ApiError(404, "lookup_failed")
    ticket = await lookup(services, email, str(number), client_ip(request))
    return web.json_response(
        {"number": ticket.number, "token": services.signer.issue(ticket.number)}
    )


def bearer_ticket(request: web.Request, services: Services) -> str:
    """The number in the URL, if the bearer token opens exactly that ticket."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    opened = services.signer.verify(token) if scheme.lower() == "bearer" else None
    clean = validate_number(request.match_info["number"])
    if opened is None or not isinstance(clean, Valid) or clean.value != opened:
        raise ApiError(401, "unauthorized")
    return opened


@routes.get("/api/tickets/{number}")
async def get_ticket(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    number = bearer_ticket(request, services)
    ticket = await services.storage.tickets.get(number)
    if ticket is None:
        raise ApiError(404, "not_found")
    view = await Desk(services).student_view(ticket, request_lang(request))
    return web.json_response(view)


@routes.post("/api/tickets/{number}/messages")
async def post_message(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    number = bearer_ticket(request, services)
    data, attachment = await read_body(request, services, {"body"})
    try:
        body = validate_reply(str(data.get("body") or ""), has_attachment=attachment is not None)
        if not isinstance(body, Valid):
            raise ApiError(422, "validation_failed", fields={"body": body.key})
        limiter = services.limits.student_messages_per_ticket
        wait = limiter.retry_after(number)
        if wait:
            raise rate_limited(wait)
        limiter.hit(number)
        ticket = await Desk(services).student_reply(number, body.value, attachment)
    except BaseException:
        await discard(services, attachment)
        raise
    return web.json_response({"number": ticket.number, "status": ticket.status}, status=201)


def find_attachment(ticket: Ticket, attachment_id: str, *, internal_ok: bool) -> Attachment | None:
    for message in ticket.messages:
        if message.internal and not internal_ok:
            continue
        for attachment in message.attachments:
            if attachment.id == attachment_id:
                return attachment
    return None


async def serve_attachment(
    services: Services, ticket: Ticket, attachment: Attachment
) -> web.StreamResponse:
    path = services.storage.attachments.path(attachment.id)
    if path is None:
        raise ApiError(404, "not_found")
    # Always a download with its detected type and nosniff: an upload never renders on our
    # origin (the SVG/HTML lessons of osTicket and FreeScout).
    # RFC 6266: an ASCII name for old clients, the real (accented) one for the rest
    fallback = (
        attachment.filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    )
    encoded = urllib.parse.quote(attachment.filename, safe="")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": attachment.content_type,
            "Content-Disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@routes.get("/api/tickets/{number}/attachments/{attachment_id}")
async def get_attachment(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    operator = await services.operator_of(request)
    if operator is None:
        try:
            number = bearer_ticket(request, services)
        except ApiError:
            raise ApiError(404, "not_found") from None
    else:
        clean = validate_number(request.match_info["number"])
        if not isinstance(clean, Valid):
            raise ApiError(404, "not_found")
        number = clean.value
    ticket = await services.storage.tickets.get(number)
    attachment = (
        find_attachment(
            ticket, request.match_info["attachment_id"], internal_ok=operator is not None
        )
        if ticket
        else None
    )
    if ticket is None or attachment is None:
        raise ApiError(404, "not_found")
    return await serve_attachment(services, ticket, attachment)
