"""Tickets the student left unanswered are closed (HELPDESK_AWAITING_CLOSE_DAYS; 0, the
default, never closes them).

A ticket "in attesa di risposta utente" that the student never answers stays open for ever: in
the operators' lists, in the figures' "Aperti adesso", and with the student's personal data,
since the retention (CONTRACT.md section 9) counts from a ticket's closing. Once a day, each
ticket that has waited for its student longer than the setting is closed by the system; the
student gets one mail that says why and how to go on. A student who answers in time, or an
operator who writes again, starts the wait afresh (web/desk/tickets.awaiting_since).
"""

from __future__ import annotations

import logging
from datetime import datetime, time

from storage import AuditEntry
from storage.retention import days_before
from web.desk.daily import Daily
from web.desk.office_hours import OFFICE_TZ
from web.desk.tickets import Desk

log = logging.getLogger("helpdesk.unanswered")


class UnansweredClosing:
    def __init__(self, desk: Desk, days: int) -> None:
        self.desk = desk
        self.days = days
        self._daily = Daily("closing of unanswered tickets", self.sweep, log)

    async def sweep(self, now: datetime) -> int:
        """Closes the tickets whose student's wait of `days` ran out before today (in Perugia)
        began; how many it closed."""
        storage = self.desk.storage
        # The student reads the day their wait runs out ("entro lunedì 21 dicembre", the day of
        # Desk.closes_at): the ticket is theirs until that day is over in Perugia, whatever
        # hour this run comes at.
        today = datetime.combine(now.astimezone(OFFICE_TZ).date(), time(), OFFICE_TZ)
        cutoff = days_before(today, self.days)
        closed = 0
        for summary in await storage.tickets.summaries():
            # the summary's waiting_since (the office's first public word since the student
            # last wrote) is never later than the wait's start: a later reply or status
            # change, which restarts it, the desk checks on the ticket itself
            if summary.status != "awaiting_user" or summary.anonymised:
                continue
            if summary.waiting_since >= cutoff:
                continue
            if await self.desk.close_unanswered(summary.number, cutoff, self.days):
                closed += 1
        await storage.audit.append(
            AuditEntry(
                actor="system",
                action="unanswered.sweep",
                target="",
                detail={"now": now.isoformat(timespec="milliseconds"), "closed": closed},
            )
        )
        return closed

    def start(self) -> None:
        self._daily.start()

    async def stop(self) -> None:
        await self._daily.stop()
