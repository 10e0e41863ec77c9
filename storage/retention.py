"""How long students' personal data is kept, and what anonymising a ticket removes
(CONTRACT.md section 9). Pure rules over the records: the web layer's sweep and erasure apply
them through the stores, and `check_data` (a folder) or `overdue_stored` (a database) reports
what is past its time.

A ticket's personal data is a closed list: the student's name, email and phone, the text and
the attachments of every message (operators' too: they quote the student), the comment of
their rating, the mail sent about it and the chat that led to it. Every other field stays,
fields added later included (the rating's score...), so that the office's figures keep counting
the ticket, and its number, whose file stays, is never drawn again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .attachments import attachment_times
from .conversations import brief, scan_conversations
from .layout import Layout
from .models import ConversationBrief, Purge, Ticket, TicketSummary
from .protocol import Backend
from .tickets import scan_tickets

RETENTION_DAYS = 730
# A chat that led to no ticket, and a file uploaded but never sent with one.
ABANDONED_DAYS = 30
# The sweep runs once a day: what became due since its last run is not overdue yet.
SWEEP_PERIOD = timedelta(days=1)

Problems = list[tuple[Path, str]]


def stamp(moment: datetime) -> str:
    """A moment as the records write it (models.utcnow), so that the two compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def days_before(now: datetime, days: int) -> str:
    return stamp(now - timedelta(days=days))


def due(summary: TicketSummary, cutoff: str) -> bool:
    """A closed ticket that nothing has happened to since the cutoff, still holding its data."""
    return summary.status == "closed" and not summary.anonymised and summary.updated_at < cutoff


def anonymise(ticket: Ticket, at: str) -> bool:
    """Empty the personal fields of the record (to be called inside a `tickets.update`, with
    touch=False: the dates stay) and note in it the files still to delete. False when it was
    already done."""
    if ticket.anonymised_at is not None:
        return False
    attachments = [a.id for m in ticket.messages for a in m.attachments]
    ticket.name = ticket.email = ticket.phone = ""
    for message in ticket.messages:
        message.body = ""
        message.attachments = []
        if message.author == "student":
            message.name = ""
    if ticket.rating is not None:
        ticket.rating.comment = ""  # the student's words; the score stays, for the figures
    ticket.outbox = []
    # what a newer version wrote and this one cannot tell from personal data goes too
    ticket.unknown = {}
    conversations = [ticket.conversation_id] if ticket.conversation_id else []
    ticket.conversation_id = None
    ticket.anonymised_at = at
    ticket.purge = Purge(attachments=attachments, conversations=conversations)
    return True


def abandoned(
    conversations: Iterable[ConversationBrief], in_use: set[str], cutoff: str
) -> list[ConversationBrief]:
    """Chats that no ticket holding its data points at, untouched since the cutoff."""
    return [c for c in conversations if c.id not in in_use and c.updated_at < cutoff]


# What check-data says of each thing kept past its time, whichever storage keeps it.
def _purge_left(purge: Purge) -> str:
    left = len(purge.attachments) + len(purge.conversations)
    return f"anonymised, but {left} of its files are still to delete"


def _ticket_late(updated_at: str, retention_days: int) -> str:
    return (f"closed and unchanged since {updated_at}: past the {retention_days}-day retention, "
            "and not anonymised")


def _chat_late(updated_at: str) -> str:
    return (f"a chat untouched since {updated_at} that led to no ticket: past {ABANDONED_DAYS} "
            "days, and not deleted")


def _upload_late(stored: str) -> str:
    return (f"an upload stored {stored} that no ticket or chat uses: past {ABANDONED_DAYS} days, "
            "and not deleted")


async def overdue_stored(
    storage: Backend, retention_days: int, now: datetime
) -> list[tuple[str, str]]:
    """overdue's rules over a storage's stores, for the database, whose stores any process may
    open beside the running ones: (what, why) per thing the sweep should have handled by now
    and has not. Read-only."""
    late = now - SWEEP_PERIOD
    found: list[tuple[str, str]] = []
    for number in await storage.tickets.purging():
        ticket = await storage.tickets.get(number)
        if ticket is not None and ticket.purge is not None:
            found.append((f"ticket {number}", _purge_left(ticket.purge)))
    ticket_cutoff = days_before(late, retention_days)
    for summary in await storage.tickets.summaries():
        if due(summary, ticket_cutoff):
            found.append(
                (f"ticket {summary.number}", _ticket_late(summary.updated_at, retention_days))
            )
    chats = await storage.conversations.briefs()
    in_use = await storage.tickets.conversations_in_use()
    for chat in abandoned(chats, in_use, days_before(late, ABANDONED_DAYS)):
        found.append((f"chat {chat.id}", _chat_late(chat.updated_at)))
    used = await storage.tickets.attachments_in_use() | {u for c in chats for u in c.uploads}
    before = late - timedelta(days=ABANDONED_DAYS)
    for attachment_id in sorted(await storage.attachments.stored_before(before)):
        if attachment_id not in used:
            found.append((f"upload {attachment_id}", _upload_late(f"before {stamp(before)}")))
    return found


def overdue(layout: Layout, retention_days: int, now: datetime) -> Problems:
    """What the sweep should have handled by now and has not, one line per file: for
    `python -m web check-data`. Read-only. Damage is the scan's to report, not this."""
    late = now - SWEEP_PERIOD
    ticket_cutoff = days_before(late, retention_days)
    chat_cutoff = days_before(late, ABANDONED_DAYS)
    found: Problems = []
    conversations_in_use: set[str] = set()
    attachments_in_use: set[str] = set()

    def seen(ticket: Ticket) -> None:
        path = layout.ticket(ticket.number)
        if ticket.purge is not None:
            found.append((path, _purge_left(ticket.purge)))
        if ticket.conversation_id:
            conversations_in_use.add(ticket.conversation_id)
        attachments_in_use.update(a.id for m in ticket.messages for a in m.attachments)
        summary = TicketSummary.of(ticket)
        if due(summary, ticket_cutoff):
            found.append((path, _ticket_late(ticket.updated_at, retention_days)))

    scan_tickets(layout, [], seen)
    chats: list[ConversationBrief] = []
    scan_conversations(layout, [], lambda c: chats.append(brief(c)))
    for chat in abandoned(chats, conversations_in_use, chat_cutoff):
        found.append((layout.conversation(chat.id), _chat_late(chat.updated_at)))
    used = attachments_in_use | {u for chat in chats for u in chat.uploads}
    before = (late - timedelta(days=ABANDONED_DAYS)).timestamp()
    for attachment_id, stored in sorted(attachment_times(layout, []).items()):
        if stored < before and attachment_id not in used:
            when = stamp(datetime.fromtimestamp(stored, UTC))
            found.append((layout.attachment(attachment_id), _upload_late(when)))
    return found

