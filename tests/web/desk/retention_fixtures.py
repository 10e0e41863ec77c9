"""Stores with personal data of given ages, for the sweep's tests and its crash victim."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from storage import Attachment, Backend, Conversation, Message, StatusChange, Ticket
from storage.retention import stamp
from tests.storage.conftest import Place
from web.desk.anonymise import Anonymiser, ConversationLocks
from web.desk.retention import Retention

RETENTION_DAYS = 730


def conversation_locks() -> ConversationLocks:
    locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
    return locks.__getitem__


def retention(storage: Backend, mail_folder: Path | None = None) -> Retention:
    return Retention(Anonymiser(storage, conversation_locks(), mail_folder), RETENTION_DAYS)


async def stored_file(storage: Backend, content: bytes = b"%PDF-1.4 scan") -> str:
    async with storage.attachments.receive() as upload:
        await upload.write(content)
        return await upload.commit()


async def chat(storage: Backend, place: Place, chat_id: str, updated: datetime, *,
               email: str = "", uploads: tuple[str, ...] = ()) -> None:
    """A saved chat whose last activity was `updated` (save() stamps the real time)."""
    await storage.conversations.save(
        Conversation(
            id=chat_id,
            step="email",
            slots={"email": email} if email else {},
            transcript=[{"id": "e1", "from": "student", "kind": "text",
                         "text": f"scrivo da {email or 'nessuna email'}", "data": {}, "at": ""}],
            uploads=[{"id": u, "filename": "scan.pdf", "size": 13,
                      "content_type": "application/pdf"} for u in uploads],
        ),
        durable=True,  # on disk now, to be dated there
    )
    await place.date_conversation(chat_id, stamp(updated))


async def student_ticket(
    storage: Backend, *, status: str, updated: datetime, email: str = "giulia@example.org",
    chat_id: str | None = None, attachment: str | None = None, answered_with: str | None = None,
) -> Ticket:
    """A ticket as the desk writes one: a student's request, an operator's answer, a note.
    attachment: the student's file; answered_with: the one the operator sent back."""
    files = [Attachment(attachment, "isee.pdf", 13, "application/pdf")] if attachment else []
    form = [Attachment(answered_with, "modulo.pdf", 13, "application/pdf")] if answered_with else []
    created = stamp(updated - timedelta(days=3))

    def build(number: str) -> Ticket:
        return Ticket(
            number=number, email=email, name="Verdi Giulia", phone="+393401112233",
            topic="immatricolazioni", subtopic="tasse-pagamenti", status=status,  # type: ignore[arg-type]
            operator="lbianchi", created_at=created, updated_at=stamp(updated),
            conversation_id=chat_id,
            messages=[
                Message("m1", "student", "Verdi Giulia", "Il mio ISEE è 9000 euro", created,
                        attachments=files),
                Message("m2", "operator", "Laura Bianchi", "Gentile Giulia, ecco come fare",
                        stamp(updated - timedelta(days=2)), username="lbianchi",
                        attachments=form),
                Message("m3", "operator", "Laura Bianchi", "nota: ISEE basso",
                        stamp(updated - timedelta(days=2)), internal=True, username="lbianchi"),
            ],
            history=[StatusChange("open", "student", created),
                     StatusChange(status, "lbianchi", stamp(updated))],  # type: ignore[arg-type]
        )

    return await storage.tickets.create(build)
