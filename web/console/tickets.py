"""The queue and one ticket: list and search, read, reply, change status, assign, correct the
student's contact details.

Two operators must never answer one student twice, so a public reply and a status change are
refused (409) on a ticket a colleague holds (take it first, on purpose), and a reply is refused
when a colleague's answer arrived after the last message the sender had seen. A public reply
is refused on a closed ticket too: its mail would ask the student to answer on a ticket that
takes no more messages. The checks run under the ticket's lock, inside the same update that
writes the reply.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from aiohttp import web

from bot.flow import typed_number
from bot.i18n import t
from bot.validate import validate_contact
from storage import Message, Ticket, TicketSummary
from storage.models import TICKET_STATUSES, TicketStatus
from storage.queue import SORTS, QueuePage, QueueQuery, kept
from web.console.access import flag, json_response, path_number, require
from web.console.checks import (
    REPLY_FIELDS,
    REPLY_THEN,
    clean_body,
    duplicate_target,
    form_reply,
    holder_guard,
    inserted_faqs,
    reply_guard,
    status_guard,
)
from web.console.namespace import ConsoleNamespace, parse_number
from web.desk.accounts import (
    USERNAME,
    normalise_username,
)
from web.desk.errors import ApiError
from web.desk.services import Services
from web.desk.views import message_view, summary_view
from web.http.errors import json_object, request_lang
from web.http.uploads import discard, read_body

QUEUE_LIMIT = 200
QUEUE_LIMIT_MAX = 1000

routes = web.RouteTableDef()


async def _exact_first(services: Services, page: QueuePage, query: QueueQuery) -> QueuePage:
    """A search for a ticket's number shows that ticket first, before those that merely
    mention the digits (a phone number, a message), even when they are newer than a page."""
    if page.tickets and page.tickets[0].number == query.number:
        return page  # already first: no read
    exact = await services.storage.tickets.summary(query.number)
    if exact is None or not kept(exact, query) or (
        query.statuses and exact.status not in query.statuses
    ):
        return page
    others = [s for s in page.tickets if s.number != exact.number]
    return replace(page, tickets=[exact, *others][: query.limit])


@routes.get("/api/console/tickets")
async def list_tickets(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=False)
    services = console.services
    q = request.query
    fields: dict[str, str] = {}
    statuses = [s for s in q.get("status", "").split(",") if s]
    if any(s not in TICKET_STATUSES for s in statuses):
        fields["status"] = "console.field.status"
    # all | me | none | a username, or several joined by commas ("me,none": what I may take)
    assigned = [a for a in q.get("assigned", "all").split(",") if a]
    if any(a not in ("all", "me", "none") and not USERNAME.fullmatch(a) for a in assigned):
        fields["assigned"] = "console.field.assigned"
    sort = q.get("sort", "newest")
    if sort not in SORTS:
        fields["sort"] = "console.field.sort"
    try:
        limit = int(q.get("limit", QUEUE_LIMIT))
        if not 1 <= limit <= QUEUE_LIMIT_MAX:
            raise ValueError
    except ValueError:
        fields["limit"] = "console.field.limit"
        limit = QUEUE_LIMIT
    if fields:
        raise ApiError(422, "validation_failed", fields=fields)
    query = q.get("q", "").strip()[:200]
    topic, subtopic = q.get("topic", ""), q.get("subtopic", "")
    holders = (
        None
        if not assigned or "all" in assigned
        else frozenset({"me": caller.operator.username, "none": ""}.get(a, a) for a in assigned)
    )

    wanted = QueueQuery(
        frozenset(statuses), topic, subtopic, holders, sort, limit,
        # "ticket 000412", as a student's mail names it, is that ticket too
        text=query, number=(parse_number(query) or typed_number(query) or "") if query else "",
    )
    page = await services.storage.tickets.queue(wanted)
    if wanted.number and sort == "newest":  # unless another order is asked for
        page = await _exact_first(services, page, wanted)
    names = await console.desk.operator_names()
    return json_response(
        {
            "tickets": [summary_view(s, names) for s in page.tickets],
            "total": page.total,
            "counts": page.counts,
        }
    )


# --- one ticket -----------------------------------------------------------------------------


def _labels(services: Services, ticket: Ticket, lang: str) -> dict[str, str]:
    topic, subtopic = services.faq.index.labels(ticket.topic, ticket.subtopic, lang)
    return {
        "status_label": t(f"status.{ticket.status}", lang),
        "topic_label": topic,
        "subtopic_label": subtopic,
    }


async def ticket_view(console: ConsoleNamespace, ticket: Ticket, lang: str) -> dict[str, Any]:
    """Everything an operator needs on one screen, internal notes included."""
    services = console.services
    names = await console.desk.operator_names()
    conversation = None
    if ticket.conversation_id:
        found = await services.storage.conversations.get(ticket.conversation_id)
        if found is not None:
            conversation = {
                "transcript": found.transcript,
                # What the assistant proposed before the student asked for a person: these
                # did not answer the question, so the reply should not repeat them.
                "faqs": [
                    {
                        "id": e["data"].get("id"),
                        "question": e["data"].get("question", e.get("text")),
                    }
                    for e in found.transcript
                    if e.get("kind") == "faq" and isinstance(e.get("data"), dict)
                ],
            }
    others = [
        {"number": s.number, "status": s.status, "created_at": s.created_at}
        for s in await services.storage.tickets.of_email(ticket.email)
        if s.number != ticket.number
    ]
    return {
        "number": ticket.number,
        "status": ticket.status,
        **_labels(services, ticket, lang),
        "topic": ticket.topic,
        "subtopic": ticket.subtopic,
        "name": ticket.name,
        "email": ticket.email,
        "phone": ticket.phone,
        "lang": ticket.lang,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "references": ticket.references,
        "duplicate_of": ticket.duplicate_of,
        "operator": (
            {"username": ticket.operator, "name": names.get(ticket.operator, ticket.operator)}
            if ticket.operator
            else None
        ),
        "messages": [console_message(m) for m in ticket.messages],
        "history": [
            {"status": h.status, "by": h.by, "by_name": names.get(h.by, ""), "at": h.at}
            for h in ticket.history
        ],
        # who took, transferred or released it: recorded for changes made since the record
        # keeps them, so an older ticket has none
        "assignments": [
            {
                "operator": a.operator,
                "operator_name": names.get(a.operator, a.operator) if a.operator else None,
                "by": a.by,
                "by_name": names.get(a.by, a.by),
                "at": a.at,
            }
            for a in ticket.assignments
        ],
        "conversation": conversation,
        "rating": (
            {"score": ticket.rating.score, "comment": ticket.rating.comment, "at": ticket.rating.at}
            if ticket.rating
            else None
        ),
        "other_tickets": others,
        # Notifications to this student given up on: the operator cannot count on email to
        # reach them (a mistyped address, say) and phones, or asks an admin to try again.
        "undelivered_mail": [
            {
                "id": m.id,
                "kind": m.kind,
                "reason": m.reason,
                "last_error": m.last_error,
                "created_at": m.created_at,
            }
            for m in ticket.outbox
            # given up on at an address since corrected: no longer what reaches this student
            if m.state == "parked" and m.to == ticket.email
        ],
        "viewers": await console.viewers(ticket.number),
        "student_online": await console.student_online(ticket.number),
    }


@routes.get("/api/console/tickets/{number}")
async def get_ticket(request: web.Request) -> web.StreamResponse:
    console, _ = await require(request, csrf=False)
    ticket = await console.services.storage.tickets.get(await path_number(request))
    if ticket is None:
        raise ApiError(404, "not_found")
    return json_response(await ticket_view(console, ticket, request_lang(request)))


def console_message(message: Message) -> dict[str, Any]:
    # Operators see who wrote what; the student's view (Desk.student_view) never has this.
    return {**message_view(message), "username": message.username}


@routes.post("/api/console/tickets/{number}/messages")
async def post_message(request: web.Request) -> web.StreamResponse:
    # The session, the CSRF token and the ticket first: a caller refused here stores no file.
    console, caller = await require(request, csrf=True)
    number = await path_number(request)
    attachments = console.services.storage.attachments
    data, attachment = await read_body(request, attachments, REPLY_FIELDS)
    try:
        if request.content_type == "multipart/form-data":
            data = form_reply(data)
        body = clean_body(data.get("body"), has_attachment=attachment is not None)
        internal = flag(data, "internal")
        after = data.get("after")
        if after is not None and not isinstance(after, str):
            raise ApiError(422, "validation_failed", fields={"after": "console.field.after"})
        faq_ids = inserted_faqs(data.get("faq_ids"))
        then = data.get("status")
        if then is not None and (internal or then not in REPLY_THEN):
            fields = {"status": "console.field.reply_status"}
            raise ApiError(422, "validation_failed", fields=fields)
        names = await console.desk.operator_names()
        guard = None if internal else reply_guard(
            caller, names, after, cast(TicketStatus | None, then)
        )
        # Read live by the student when the ticket is open in their widget; otherwise mailed.
        mail = not internal and not await console.student_online(number)
    except BaseException:
        await discard(attachments, attachment)
        raise
    try:
        ticket, mailed = await console.desk.operator_reply(
            number, caller.operator, body, internal=internal, guard=guard, mail=mail,
            faq_ids=faq_ids, attachment=attachment, then=cast(TicketStatus | None, then),
        )
    except ApiError:
        # Refused under the ticket's lock (a colleague's or a closed ticket, an erased one):
        # nothing was written and the file would be nobody's. Not after any other error: the
        # reply may be written by then, with its file; an upload left unused meanwhile goes
        # with the others after 30 days (storage/retention.py).
        await discard(attachments, attachment)
        raise
    return json_response(
        {
            "message": console_message(ticket.messages[-1]),
            "ticket": summary_view(TicketSummary.of(ticket), names),
            "mailed": mailed,
        },
        status=201,
    )


@routes.post("/api/console/tickets/{number}/status")
async def post_status(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True)
    number = await path_number(request)
    data = await json_object(request)
    status = data.get("status")
    if status not in TICKET_STATUSES:
        raise ApiError(422, "validation_failed", fields={"status": "console.field.status"})
    force = flag(data, "force")
    after = data.get("after")
    if after is not None and not isinstance(after, str):
        raise ApiError(422, "validation_failed", fields={"after": "console.field.after"})
    duplicate_of = await duplicate_target(console, number, status, data.get("duplicate_of"))
    names = await console.desk.operator_names()
    ticket = await console.desk.set_status(
        number,
        cast(TicketStatus, status),
        caller.operator,
        guard=status_guard(caller, names, after, cast(TicketStatus, status), force=force),
        duplicate_of=duplicate_of,
    )
    return json_response({"ticket": summary_view(TicketSummary.of(ticket), names)})


@routes.post("/api/console/tickets/{number}/contact")
async def post_contact(request: web.Request) -> web.StreamResponse:
    """The student's email, name or phone corrected: checked as when the ticket was opened,
    all or nothing."""
    console, caller = await require(request, csrf=True)
    number = await path_number(request, erased=True)
    contact, errors = validate_contact(await json_object(request))
    if errors:
        raise ApiError(422, "validation_failed", fields=errors)
    ticket = await console.desk.correct_contact(number, caller.operator, contact)
    return json_response(await ticket_view(console, ticket, request_lang(request)))


@routes.post("/api/console/tickets/{number}/assign")
async def post_assign(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True)
    number = await path_number(request)
    data = await json_object(request)
    raw = data.get("username", "")
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise ApiError(422, "validation_failed", fields={"username": "error.unknown_operator"})
    username = normalise_username(raw) or caller.operator.username
    force = flag(data, "force")
    names = await console.desk.operator_names()
    ticket = await console.desk.assign(
        number, username, caller.operator, guard=holder_guard(caller, names, force=force)
    )
    return json_response({"ticket": summary_view(TicketSummary.of(ticket), names)})
