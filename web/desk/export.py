"""Everything the help desk keeps about a student, for them to take away (GDPR arts. 15, 20):
a ticket with its thread, the mails sent about it, the chat that led to it and the attachments
themselves (base64), as one JSON document. The office exports every ticket of an email
(`student_data`); a student's own download holds the ticket their token opens (`ticket_data`),
because a token proves only that its holder opened or looked up that ticket, not that the
mailbox is theirs: anyone may open a ticket with someone else's email.

Built from the whole records minus a closed list of what is the office's own (internal notes,
operators' usernames, bookkeeping), so that a field added to a record later (a rating...) is
exported without anyone remembering to.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from storage import Attachment, Conversation, Message, OutboxMail, Ticket, utcnow
from storage.ticket_index import email_key
from web.desk.services import Services

# Ticket fields that are the office's bookkeeping, not the student's data (assignments: which
# operator handed the ticket to which, by username).
OFFICE_ONLY = ("outbox", "purge", "anonymised_at", "assignments")
# A message's fields that are the office's: who among the operators wrote it, and the flag of
# a note (notes themselves never leave).
MESSAGE_OFFICE_ONLY = ("internal", "username")
# The chat's transcript keeps the ticket token it handed out; a credential is not data.
SECRET_KEYS = ("token",)


async def student_data(services: Services, email: str) -> dict[str, Any]:
    """Every ticket of the email, oldest first: for the office, which checks who asks."""
    storage = services.storage
    tickets = []
    for summary in reversed(await storage.tickets.of_email(email)):  # oldest first
        ticket = await storage.tickets.get(summary.number)
        if ticket is not None and ticket.anonymised_at is None:
            tickets.append(ticket)
    return await _document(services, email, tickets)


async def ticket_data(services: Services, ticket: Ticket) -> dict[str, Any]:
    """The one ticket, in the same document: for the student who holds its token."""
    return await _document(services, ticket.email, [ticket])


async def _document(services: Services, email: str, tickets: list[Ticket]) -> dict[str, Any]:
    names = {o.username: o.name for o in await services.storage.operators.list()}
    return {
        "exported_at": utcnow(),
        "email": email.strip().lower(),
        "tickets": [
            await _ticket(services, ticket, names, await _own_conversation(services, ticket))
            for ticket in tickets
        ],
    }


async def _own_conversation(services: Services, ticket: Ticket) -> Conversation | None:
    if not ticket.conversation_id:
        return None
    conversation = await services.storage.conversations.get(ticket.conversation_id)
    if conversation is None or _shared(conversation, ticket):
        return None
    return conversation


def _shared(conversation: Conversation, ticket: Ticket) -> bool:
    """A chat that was also given another email: on a shared computer, "ricomincia" and then
    someone else's request. Its transcript and slots hold that person's data, and their email
    and ticket number are a credential: the chat stays out of this student's export (GDPR
    art. 15(4)); the ticket's own thread has this student's request. The addresses the
    ticket's own mails went to are not another's: a student who mistyped theirs, which the
    office then corrected, typed this chat alone, and the export lists those mails anyway."""
    own = {email_key(ticket.email)} | {email_key(mail.to) for mail in ticket.outbox}
    return any(email_key(given) not in own for given in conversation.emails)


async def _ticket(
    services: Services, ticket: Ticket, names: dict[str, str], conversation: Conversation | None
) -> dict[str, Any]:
    data = ticket.to_dict()
    for key in OFFICE_ONLY:
        data.pop(key, None)
    data["operator"] = names.get(ticket.operator, "") if ticket.operator else None
    data["messages"] = [
        await _message(services, m) for m in ticket.messages if not m.internal
    ]
    data["history"] = [
        {"status": h.status, "by": h.by if h.by in ("student", "system") else "operator",
         "at": h.at}
        for h in ticket.history
    ]
    data["mails"] = [_mail(m) for m in ticket.outbox]
    data["conversation"] = _conversation(conversation) if conversation else None
    return data


async def _message(services: Services, message: Message) -> dict[str, Any]:
    data = asdict(message)
    for key in MESSAGE_OFFICE_ONLY:
        data.pop(key, None)
    data["attachments"] = [await _attachment(services, a) for a in message.attachments]
    return data


async def _attachment(services: Services, attachment: Attachment) -> dict[str, Any]:
    content = await services.storage.attachments.read(attachment.id)
    return {
        **asdict(attachment),
        "content_base64": base64.b64encode(content).decode() if content is not None else None,
    }


def _mail(mail: OutboxMail) -> dict[str, Any]:
    return {
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "created_at": mail.created_at,
        "sent_at": mail.sent_at,
    }


def _conversation(conversation: Conversation) -> dict[str, Any]:
    data = conversation.to_dict()
    data["transcript"] = [
        {**entry, "data": _without_secrets(entry.get("data"))} for entry in conversation.transcript
    ]
    return data


def _without_secrets(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if k not in SECRET_KEYS}
