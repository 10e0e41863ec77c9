"""Attachments over HTTP: a student uploads one during the chat (never in a socket event:
Engine.IO's buffer is 1 MB), and the ticket's people download it."""

from __future__ import annotations

import urllib.parse
from dataclasses import asdict

from aiohttp import web

from bot.validate import Valid, validate_number
from storage import Attachment, Ticket
from web.desk.conversations import Conversations, left
from web.desk.errors import ApiError
from web.desk.limits import refund_all, take_all
from web.desk.services import Services
from web.http.clients import request_sender
from web.http.keys import OPERATOR_OF, SERVICES
from web.http.uploads import read_form
from web.student.api import bearer_ticket
from web.student.chat import CONVERSATION_ID

routes = web.RouteTableDef()


@routes.post("/api/chat/{conversation_id}/attachments")
async def upload_chat_attachment(request: web.Request) -> web.Response:
    """Attachments come over HTTP, never in a socket event (Engine.IO's buffer is 1 MB)."""
    services = request.app[SERVICES]
    conversation_id = request.match_info["conversation_id"]
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise ApiError(404, "not_found")
    conversation = await services.storage.conversations.get(conversation_id)
    # A chat left for long is over (RESUME_IDLE): a file saved into it would touch it and
    # let whoever read its id from the browser resume it, contact details and token included.
    if conversation is None or left(conversation):
        raise ApiError(404, "not_found")
    if request.content_type != "multipart/form-data":
        raise ApiError(400, "bad_request")
    # Counted up front, per chat and per address: anonymous uploads must not fill the disk.
    limits = [
        (services.limits.uploads_per_conversation, conversation_id),
        (services.limits.uploads_per_ip, request_sender(request)),
    ]
    await take_all(limits)
    # A refused file (too big, wrong type) still cost a write and a delete: it counts.
    form = await read_form(
        request, services.storage.attachments, field_names=set()
    )
    attachment = form.attachment
    if attachment is None:
        await refund_all(limits)
        raise ApiError(400, "bad_request")
    async with services.conversation_lock(conversation_id):
        if not await Conversations(services).add_upload(conversation_id, asdict(attachment)):
            await services.storage.attachments.delete(attachment.id)
            raise ApiError(404, "not_found")
    return web.json_response(
        {"id": attachment.id, "filename": attachment.filename, "size": attachment.size}, status=201
    )


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
    data = await services.storage.attachments.read(attachment.id)
    if data is None:
        raise ApiError(404, "not_found")
    # Always a download with its detected type and nosniff: an upload never renders on our
    # origin (the SVG/HTML lessons of osTicket and FreeScout).
    # RFC 6266: an ASCII name for old clients, the real (accented) one for the rest
    fallback = (
        attachment.filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    )
    encoded = urllib.parse.quote(attachment.filename, safe="")
    return web.Response(
        body=data,
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
    operator = await request.app[OPERATOR_OF](request)
    if operator is None:
        try:
            number = await bearer_ticket(request, services)
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
