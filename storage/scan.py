"""Read and verify a whole data folder. The same pass serves the server's start (which builds
its indexes from it and refuses damage) and `check_data` (which only reports), so what the
check calls healthy is exactly what the server accepts."""

from __future__ import annotations

from pathlib import Path

from .attachments import scan_attachments
from .conversations import scan_conversations
from .journal import Journal
from .layout import Layout
from .models import AuditEntry, FaqEvent, Ticket
from .operators import OperatorStore
from .ticket_index import TicketIndex
from .tickets import scan_tickets

Problems = list[tuple[Path, str]]


def scan_folder(
    layout: Layout,
    *,
    index: TicketIndex | None,
    audit: Journal[AuditEntry],
    faq_events: Journal[FaqEvent],
    repair: bool,
) -> tuple[Problems, Problems]:
    """(damage, missing attachments). Damage stops the server; a missing attachment does not
    (its ticket still reads), but the check reports it."""
    problems: Problems = []
    referenced: dict[str, Path] = {}

    def seen(ticket: Ticket) -> None:
        if index is not None:
            index.put(ticket, bulk=True)
        for message in ticket.messages:
            for attachment in message.attachments:
                referenced[attachment.id] = layout.ticket(ticket.number)

    scan_tickets(layout, problems, seen)
    if index is not None:
        index.sort()
    scan_conversations(layout, problems)
    OperatorStore(layout.root).check(problems)
    audit.load(problems, repair=repair)
    faq_events.load(problems, repair=repair)
    present = scan_attachments(layout, problems)
    missing = [
        (path, f"refers to attachment {attachment_id}, whose file is missing")
        for attachment_id, path in sorted(referenced.items())
        if attachment_id not in present
    ]
    return problems, missing
