"""What an operator's change must pass before it is written: who may change a ticket (the
holder, or anyone with `force`), what a reply may say and carry, and which ticket a duplicate
is closed in favour of. The guards run under the ticket's lock, inside the update that writes
the change; the rest checks the request before it.
"""

from __future__ import annotations

from typing import Any

from bot.corpus import ID_PATTERN
from bot.validate import Invalid, validate_reply
from storage import Message, Ticket
from storage.models import TicketStatus
from storage.ticket_index import email_key
from web.console.namespace import Caller, ConsoleNamespace, parse_number
from web.desk.errors import ApiError
from web.desk.tickets import Guard


def holder_guard(caller: Caller, names: dict[str, str], *, force: bool = False) -> Guard:
    def guard(ticket: Ticket) -> None:
        if ticket.operator not in (None, caller.operator.username) and not force:
            raise ApiError(
                409, "held_by_other", params={"name": names.get(ticket.operator, ticket.operator)}
            )

    return guard


def reply_guard(
    caller: Caller, names: dict[str, str], after: str | None, then: TicketStatus | None = None
) -> Guard:
    """then: the status the reply leaves the ticket in. A closing (or a wait for the student)
    that crosses a message the student wrote meanwhile would answer a question the operator
    never read, and a closed ticket takes no answer from the student to say so."""
    holder = holder_guard(caller, names)

    def guard(ticket: Ticket) -> None:
        holder(ticket)
        if ticket.status == "closed":
            raise ApiError(409, "closed_reply")
        for message in _since(ticket, after):
            if (
                message.author == "operator"
                and not message.internal
                and message.username != caller.operator.username
            ):
                raise ApiError(409, "reply_conflict", params={"name": message.name})
            if then is not None and message.author == "student":
                raise ApiError(409, "student_wrote")

    return guard


def status_guard(
    caller: Caller, names: dict[str, str], after: str | None, status: TicketStatus, *, force: bool
) -> Guard:
    """A closing or a wait for the student pressed as the student writes again would, as a
    reply that does so, answer a question the operator never read."""
    holder = holder_guard(caller, names, force=force)

    def guard(ticket: Ticket) -> None:
        holder(ticket)
        if status != "open" and any(m.author == "student" for m in _since(ticket, after)):
            raise ApiError(409, "student_wrote")

    return guard


def _since(ticket: Ticket, after: str | None) -> list[Message]:
    """The messages after `after`, the last one the operator saw (none without it)."""
    if after is None:
        return []
    ids = [m.id for m in ticket.messages]
    if after not in ids:
        raise ApiError(422, "validation_failed", fields={"after": "console.field.after"})
    return ticket.messages[ids.index(after) + 1 :]


# The rule for a message in a ticket is the students' one (bot.validate); operators read its
# errors in the console's own words.
BODY_ERRORS = {
    "wrong_message.empty": "console.field.body_empty",
    "wrong_message.too_long": "console.field.body_long",
}


def clean_body(raw: object, *, has_attachment: bool = False) -> str:
    """The reply's text; it may be empty when a file carries it, as a student's may."""
    if raw is None and has_attachment:
        raw = ""
    result = (
        validate_reply(raw, has_attachment=has_attachment)
        if isinstance(raw, str)
        else Invalid("wrong_message.empty")
    )
    if isinstance(result, Invalid):
        key = BODY_ERRORS.get(result.key, "console.field.body_empty")
        raise ApiError(422, "validation_failed", fields={"body": key})
    return result.value


# More FAQ answers than this in one reply is no reply an operator composed by hand.
INSERTED_MAX = 10
FAQ_ID_MAX = 100


def inserted_faqs(raw: object) -> list[str]:
    """The ids of the FAQ answers inserted into a reply, once each. Only their shape is
    checked: a FAQ removed from the corpus while the operator wrote still counts, and the
    report shows it as removed. Absent or null: none."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > INSERTED_MAX or not all(
        isinstance(i, str) and len(i) <= FAQ_ID_MAX and ID_PATTERN.fullmatch(i) for i in raw
    ):
        raise ApiError(422, "validation_failed", fields={"faq_ids": "console.field.faq_ids"})
    return list(dict.fromkeys(raw))


# A reply with a file comes as multipart/form-data: the JSON body's fields as text parts
# ("internal": "true", "faq_ids": the ids joined by commas) and one `attachment` part, under
# the students' limits (web/http/uploads.py: 2 MiB, PDF, PNG or JPEG by content).
REPLY_FIELDS = {"body", "internal", "after", "faq_ids", "status"}
# A public reply may leave the ticket awaiting the student or closed, with one mail for both.
REPLY_THEN: tuple[TicketStatus, ...] = ("awaiting_user", "closed")


def form_reply(fields: dict[str, Any]) -> dict[str, Any]:
    """A multipart reply's text parts in the JSON body's shape; a value neither shape knows
    is left as it came, for the checks below to name."""
    data = dict(fields)
    if "internal" in data:
        data["internal"] = {"true": True, "false": False}.get(data["internal"], data["internal"])
    if "faq_ids" in data:
        data["faq_ids"] = [i for i in data["faq_ids"].split(",") if i]
    return data


async def duplicate_target(
    console: ConsoleNamespace, number: str, status: object, raw: object
) -> str | None:
    """The ticket a closing names as the one that goes on: an open ticket of the same student
    (any letter case of the email) opened before this one, else 422. None when the closing
    names none. Always the earlier: two operators closing a student's two tickets each in
    favour of the other, at the same moment, would otherwise leave no ticket going on."""
    if raw is None:
        return None
    target = parse_number(raw)
    tickets = console.services.storage.tickets
    this, other = await tickets.summary(number), await tickets.summary(target) if target else None
    if (
        status != "closed"
        or this is None
        or other is None
        or other.number == number
        or other.anonymised
        or other.status == "closed"
        or this.status == "closed"
        # the key the store finds a student's tickets by: casefold() would make "straße@" and
        # "strasse@", two mailboxes, one student, and put one's request in the other's ticket
        or email_key(other.email) != email_key(this.email)
        or (other.created_at, other.number) > (this.created_at, this.number)
    ):
        fields = {"duplicate_of": "console.field.duplicate_of"}
        raise ApiError(422, "validation_failed", fields=fields)
    return other.number
