"""The daily retention sweep (CONTRACT.md section 9): personal data goes when its time is up.

One run, at a given moment (the clock is injected, so tests choose "now"):
1. finish the anonymisations a crash interrupted (web/desk/anonymise.py);
2. anonymise the closed tickets untouched for HELPDESK_RETENTION_DAYS;
3. delete the chats that led to no ticket, untouched for 30 days, with their uploads;
4. delete the uploads older than 30 days that no ticket or chat uses (a crash between an
   upload and the write that would have used it leaves one);
5. delete the FAQ events (what students typed to the assistant) older than the retention.
Every step re-checks its rule under the lock of what it deletes, so a student who comes back
at that very moment keeps their chat. Each ticket anonymised and each run go to the audit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from storage import AuditEntry, Ticket, TicketSummary
from storage.retention import ABANDONED_DAYS, abandoned, days_before, due, stamp
from web.desk.anonymise import Anonymiser
from web.desk.daily import Daily

log = logging.getLogger("helpdesk.retention")


@dataclass(frozen=True)
class SweepReport:
    finished: int  # anonymisations a crash had interrupted, now complete
    anonymised: int  # closed tickets past the retention
    chats: int  # abandoned chats deleted
    uploads: int  # unused uploads deleted
    faq_days: int  # day files of FAQ events deleted


class Retention:
    def __init__(self, anonymiser: Anonymiser, retention_days: int) -> None:
        self.anonymiser = anonymiser
        self.storage = anonymiser.storage
        self.retention_days = retention_days
        self._running = asyncio.Lock()  # one sweep at a time
        self._daily = Daily("retention sweep", self.sweep, log)

    async def sweep(self, now: datetime) -> SweepReport:
        async with self._running:
            storage = self.storage
            finished = await self.anonymiser.finish_pending()

            cutoff = days_before(now, self.retention_days)

            def still_due(ticket: Ticket) -> bool:
                return due(TicketSummary.of(ticket), cutoff)

            anonymised = 0
            for summary in await storage.tickets.summaries():
                if due(summary, cutoff) and await self.anonymiser.anonymise(
                    summary.number, stamp(now), when=still_due
                ):
                    anonymised += 1
                    await storage.audit.append(
                        AuditEntry(
                            actor="system",
                            action="ticket.anonymised",
                            target=summary.number,
                            detail={"reason": "retention"},
                        )
                    )
                    # The ticket's data is gone: its audit line must not be the one a crash
                    # loses.
                    await storage.audit.flush()

            idle_since = days_before(now, ABANDONED_DAYS)
            briefs = await storage.conversations.briefs()
            in_use = await storage.tickets.conversations_in_use()
            deleted: set[str] = set()
            for chat in abandoned(briefs, in_use, idle_since):
                if await self.anonymiser.delete_conversation(chat.id, idle_since=idle_since):
                    deleted.add(chat.id)

            # A chat saved since the briefs were read can only name a fresh upload, which the
            # age rule below keeps anyway.
            used = await storage.tickets.attachments_in_use() | {
                u for chat in briefs if chat.id not in deleted for u in chat.uploads
            }
            uploads = 0
            old = await storage.attachments.stored_before(now - timedelta(days=ABANDONED_DAYS))
            for attachment_id in old:
                if attachment_id not in used:
                    await storage.attachments.delete(attachment_id)
                    uploads += 1

            faq_days = await storage.faq_events.drop_before(cutoff[:10])

            report = SweepReport(finished, anonymised, len(deleted), uploads, faq_days)
            await storage.audit.append(
                AuditEntry(
                    actor="system",
                    action="retention.sweep",
                    target="",
                    detail={"now": stamp(now), **asdict(report)},
                )
            )
            await storage.audit.flush()
            return report

    # --- the daily task -------------------------------------------------------------------

    def start(self) -> None:
        self._daily.start()

    async def stop(self) -> None:
        await self._daily.stop()
