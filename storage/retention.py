"""How long students' personal data is kept, and what anonymising a ticket removes
(CONTRACT.md section 9). Pure rules over the records: the web layer's sweep and erasure apply
them through the stores, and `check_data` reports what is past its time.

A ticket's personal data is a closed list: the student's name, email and phone, the text and
the attachments of every message (operators' too: they quote the student), the mail sent
about it and the chat that led to it. Every other field stays, fields added later included
(a rating...), so that the office's figures keep counting the ticket, and its number, whose
file stays, is never drawn again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .attachments import attachment_times
from .conversations import brief, scan_conversations
from .layout import Layout
from .models import ConversationBrief, Purge, Ticket, TicketSummary
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
    ticket.outbox = []
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
            left = len(ticket.purge.attachments) + len(ticket.purge.conversations)
            found.append((path, f"anonymised, but {left} of its files are still to delete"))
        if ticket.conversation_id:
            conversations_in_use.add(ticket.conversation_id)
        attachments_in_use.update(a.id for m in ticket.messages for a in m.attachments)
        summary = TicketSummary.of(ticket)
        if due(summary, ticket_cutoff):
            found.append((
                path,
                f"closed and unchanged since {ticket.updated_at}: past the "
                f"{retention_days}-day retention, and not anonymised",
            ))

    scan_tickets(layout, [], seen)
    chats: list[ConversationBrief] = []
    scan_conversations(layout, [], lambda c: chats.append(brief(c)))
    for chat in abandoned(chats, conversations_in_use, chat_cutoff):
        found.append((
            layout.conversation(chat.id),
            f"a chat untouched since {chat.updated_at} that led to no ticket: past "
            f"{ABANDONED_DAYS} days, and not deleted",
        ))
    used = attachments_in_use | {u for chat in chats for u in chat.uploads}
    before = (late - timedelta(days=ABANDONED_DAYS)).timestamp()
    for attachment_id, stored in sorted(attachment_times(layout, []).items()):
        if stored < before and attachment_id not in used:
            when = stamp(datetime.fromtimestamp(stored, UTC))
            found.append((
                layout.attachment(attachment_id),
                f"an upload stored {when} that no ticket or chat uses: past "
                f"{ABANDONED_DAYS} days, and not deleted",
            ))
    return found

