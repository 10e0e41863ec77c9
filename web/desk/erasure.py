"""Erasing a student on request (GDPR art. 17): every ticket of an email is anonymised the way
the retention sweep does it (web/desk/anonymise.py), and the chats that email was given in go
with what was typed in them, even one that went on to a ticket of another email; so do the chats
that led to no ticket where the student wrote the email into a question ("sono Mario Rossi,
mario.rossi@..."), which the 30-day sweep would otherwise leave until then. The numbers stay
taken and the figures keep counting the tickets.

The audit says who erased and when, and how many tickets: never whose data, which would keep
in the log exactly what was asked to be forgotten.
"""

from __future__ import annotations

from bot.validate import email_forms, plain_email
from storage import AuditEntry, Conversation, ConversationBrief, Operator, utcnow
from web.desk.anonymise import Anonymiser
from web.desk.live import OPERATORS, OPERATORS_ROOM
from web.desk.redact import EMAIL
from web.desk.services import Services
from web.desk.views import summary_view


async def tickets_of(services: Services, email: str) -> list[str]:
    """The numbers of the tickets that still hold this email's data, newest first."""
    tickets = services.storage.tickets
    found = {s.number: s for key in email_forms(email) for s in await tickets.of_email(key)}
    newest_first = sorted(found.values(), key=lambda s: (s.created_at, s.number), reverse=True)
    return [s.number for s in newest_first]


async def erase(services: Services, email: str, by: Operator) -> int:
    """Anonymise every ticket of the email, delete its chats; how many tickets it had."""
    storage = services.storage
    anonymiser = Anonymiser(storage, services.conversation_lock, services.mail_folder())
    keys = email_forms(email)
    numbers = await tickets_of(services, email)
    chats = {c for n in numbers if (c := await _conversation_of(services, n))}
    at = utcnow()
    for number in numbers:
        await anonymiser.anonymise(number, at)
    briefs = await storage.conversations.briefs()
    chats |= {c.id for c in briefs if keys & set(c.emails)}
    chats |= await _ticketless_chats_mentioning(services, keys, briefs)
    for conversation_id in chats:
        await anonymiser.forget_conversation(conversation_id)
    await storage.faq_events.forget_conversations(chats)
    await storage.audit.append(
        AuditEntry(
            actor=by.username, action="privacy.erased", target="", detail={"tickets": len(numbers)}
        )
    )
    await storage.audit.flush()  # who erased must survive a crash, like the erasure itself
    await _tell_consoles(services, numbers, by)
    return len(numbers)


async def _ticketless_chats_mentioning(
    services: Services, keys: set[str], briefs: list[ConversationBrief]
) -> set[str]:
    """The chats no ticket holding its data points at (at most 30 days of them: the sweep
    deletes older ones) whose student typed this email anywhere."""
    storage = services.storage
    in_use = await storage.tickets.conversations_in_use()
    found = set()
    for brief in briefs:
        if brief.id in in_use or keys & set(brief.emails):
            continue
        conversation = await storage.conversations.get(brief.id)
        if conversation is not None and keys & _typed_emails(conversation):
            found.add(brief.id)
    return found


def _typed_emails(conversation: Conversation) -> set[str]:
    """Every address in what the student wrote, in the form a ticket keeps (plain_email, lower
    case): whole addresses only, so that erasing "ario@x.it" leaves Mario's chat alone."""
    texts = [e.get("text") for e in conversation.transcript if e.get("from") == "student"]
    texts += list(conversation.slots.values())
    return {
        found.lower()
        for text in texts
        if isinstance(text, str)
        for found in EMAIL.findall(plain_email(text))
    }


async def _conversation_of(services: Services, number: str) -> str | None:
    ticket = await services.storage.tickets.get(number)
    return ticket.conversation_id if ticket is not None else None


async def _tell_consoles(services: Services, numbers: list[str], by: Operator) -> None:
    """The queue lines go, and a colleague who has one of these tickets open is told."""
    for number in numbers:
        summary = await services.storage.tickets.summary(number)
        if summary is None:
            continue
        await services.live.emit(
            "queue",
            {
                "ticket": summary_view(summary, {}),
                "reason": "anonymised",
                "by": by.username,
                "at": utcnow(),
            },
            room=OPERATORS_ROOM,
            namespace=OPERATORS,
        )
