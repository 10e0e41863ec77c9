"""Anonymising a ticket: what the retention sweep and an erasure are both made of.

Two writes, and the deletions between them (storage/retention.py says what goes):
1. one atomic update empties every personal field and notes in the record the files still to
   delete (Ticket.purge): from that moment nobody can find or open the ticket;
2. the files go: the attachments, the chat that led to the ticket with the files uploaded there,
   the mails written to the outbox folder. A chat that went on to another email's ticket
   ("ricomincia", then someone else's request on a shared computer) goes too: that ticket loses
   its chat rather than keep this student's words;
3. an update drops the note.
A crash between 1 and 3 leaves the note, and `finish_pending` ends the work at the next sweep:
a ticket is untouched or fully anonymised, never half.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from storage import Backend, Ticket, TicketNotFound
from storage.retention import anonymise
from web.desk.mail_message import delete_mail_files

ConversationLocks = Callable[[str], asyncio.Lock]


class Anonymiser:
    def __init__(
        self, storage: Backend, locks: ConversationLocks, mail_folder: Path | None
    ) -> None:
        self.storage = storage
        # The web layer's per-conversation lock: no chat step may save a chat being deleted.
        self._locks = locks
        # Where mail is written as .eml files when no SMTP server is set (web/desk/mail.py).
        self._mail_folder = mail_folder

    async def anonymise(
        self, number: str, at: str, *, when: Callable[[Ticket], bool] | None = None
    ) -> bool:
        """Anonymise one ticket if `when` (checked under the ticket's lock) allows; False when
        it was not done (unknown, refused by `when`, or anonymised already)."""

        def change(ticket: Ticket) -> bool:
            return (when is None or when(ticket)) and anonymise(ticket, at)

        try:
            # touch=False: the dates are the figures' and stay as they were.
            _, done = await self.storage.tickets.update(number, change, touch=False)
        except TicketNotFound:
            return False
        if done:
            await self.finish(number)
        return done

    async def finish(self, number: str) -> None:
        """Delete the files an anonymised ticket's record still lists, then the list."""
        ticket = await self.storage.tickets.get(number)
        if ticket is None or ticket.purge is None:
            return
        for attachment_id in ticket.purge.attachments:
            await self.storage.attachments.delete(attachment_id)
        for conversation_id in ticket.purge.conversations:
            await self.forget_conversation(conversation_id)
        if self._mail_folder is not None:
            await asyncio.to_thread(delete_mail_files, self._mail_folder, number)

        def done(ticket: Ticket) -> None:
            ticket.purge = None

        await self.storage.tickets.update(number, done, touch=False)

    async def finish_pending(self) -> int:
        """End the anonymisations a crash interrupted; how many there were."""
        pending = await self.storage.tickets.purging()
        for number in pending:
            await self.finish(number)
        return len(pending)

    async def forget_conversation(self, conversation_id: str) -> None:
        """Delete a chat that holds an anonymised student's words. One still used by another
        ticket of the same student stays with it (their data, for as long as that ticket
        keeps it); one that was also given another email (a shared computer) goes anyway,
        and the tickets it opened (its transcript names them) forget it first."""
        if await self.delete_conversation(conversation_id):
            return
        conversation = await self.storage.conversations.get(conversation_id)
        if conversation is None or len(set(conversation.emails)) < 2:
            return
        opened = {
            str(entry.get("data", {}).get("number", ""))
            for entry in conversation.transcript
            if entry.get("kind") == "ticket"
        }

        def forget(ticket: Ticket) -> None:
            if ticket.conversation_id == conversation_id:
                ticket.conversation_id = None

        for number in opened:
            with contextlib.suppress(TicketNotFound):
                await self.storage.tickets.update(number, forget, touch=False)
        await self.delete_conversation(conversation_id)

    async def delete_conversation(self, conversation_id: str, *, idle_since: str | None = None
                                  ) -> bool:
        """Delete a chat and the files uploaded in it, unless a ticket that still holds its
        student's data points at it, or (idle_since) it was used after that moment. Whether it
        was deleted."""
        async with self._locks(conversation_id):
            conversation = await self.storage.conversations.get(conversation_id)
            if conversation is None:
                return False
            if await self.storage.tickets.conversations_in_use([conversation_id]):
                return False
            if idle_since is not None and conversation.updated_at >= idle_since:
                return False
            # The files first: a crash after them leaves the chat, which the next run deletes.
            for upload in conversation.uploads:
                await self.storage.attachments.delete(str(upload.get("id", "")))
            await self.storage.conversations.delete(conversation_id)
            return True

