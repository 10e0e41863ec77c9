"""What happens to a ticket, whoever does it: open, reply, change status, assign.

Every change is one `tickets.update` (the event, its status history and its notification mail
are written together), followed by an audit entry and the live broadcast: the student's room
gets the ticket as the student sees it, the operators get the queue line and the message.

Why one module: every change has that one shape on one Desk (its update, mail, audit and
broadcast helpers); split by change, each part would reach into the others' private steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from bot.i18n import t
from bot.validate import CONTACT_CHECKS
from storage import (
    Assignment,
    Attachment,
    AuditEntry,
    FaqEvent,
    Message,
    Operator,
    Rating,
    StatusChange,
    Ticket,
    TicketNotFound,
    TicketSummary,
    utcnow,
)
from storage.models import TicketStatus
from storage.queue import QueueQuery
from web.desk import notify
from web.desk.errors import ApiError
from web.desk.live import (
    CONSOLE_TICKET_ROOM,
    OPERATORS,
    OPERATORS_ROOM,
    RESYNC,
    STUDENT_ROOM,
    STUDENTS,
)
from web.desk.ratings import check_ratable, rating_view
from web.desk.services import Services
from web.desk.views import message_view, new_id, summary_view

log = logging.getLogger("helpdesk.desk")
# A check run inside a ticket's update, under its lock: raising ApiError refuses the change.
Guard = Callable[[Ticket], None]


def hand_over(ticket: Ticket, username: str | None, *, by: str) -> None:
    """The ticket's holder becomes username (None: nobody), written down in the ticket's
    assignments for the console's history; taking what one already holds changes nothing."""
    if ticket.operator == username:
        return
    ticket.operator = username
    ticket.assignments.append(Assignment(operator=username, by=by))


class Opened(NamedTuple):
    ticket: Ticket
    new: bool  # False: the ticket an earlier step with the same idempotency_key opened


# What of a duplicate's request the note in the ticket that goes on quotes.
DUPLICATE_QUOTE = 600


class Replied(NamedTuple):
    ticket: Ticket
    mailed: bool  # a mail tells the student: the reply's, or the new status's quoting it


class Desk:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.storage = services.storage

    # --- views ----------------------------------------------------------------------------

    async def operator_names(self) -> dict[str, str]:
        return {o.username: o.name for o in await self.storage.operators.list()}

    async def student_view(self, ticket: Ticket, lang: str) -> dict[str, Any]:
        """The ticket as CONTRACT.md section 4 shows it to the student: never an internal note,
        and the operator by display name only."""
        operator = None
        if ticket.operator:
            account = await self.storage.operators.get(ticket.operator)
            operator = {"name": account.name if account else ""}
        topic_label, subtopic_label = self.services.faq.index.labels(
            ticket.topic, ticket.subtopic, lang
        )
        return {
            "number": ticket.number,
            "status": ticket.status,
            "status_label": t(f"status.{ticket.status}", lang),
            "status_help": t(f"status_help.{ticket.status}", lang),
            # awaiting the student with HELPDESK_AWAITING_CLOSE_DAYS set: when the system will
            # close it if no answer comes (web/desk/unanswered.py); else None
            "closes_at": self.closes_at(ticket),
            "topic": ticket.topic,
            "topic_label": topic_label,
            "subtopic": ticket.subtopic,
            "subtopic_label": subtopic_label,
            "operator": operator,
            "created_at": ticket.created_at,
            "references": ticket.references,
            "duplicate_of": ticket.duplicate_of,
            "rating": rating_view(ticket.rating),
            "queue": await self.services.waits.view(ticket.number),
            "messages": [
                {k: v for k, v in message_view(m).items() if k != "internal"}
                for m in ticket.messages
                if not m.internal
            ],
        }

    # --- changes --------------------------------------------------------------------------

    def _queue_mail(
        self,
        ticket: Ticket,
        kind: str,
        message: Message | None = None,
        *,
        waited_days: int | None = None,
        reopens: datetime | None = None,
    ) -> None:
        """The notification of this change, queued in the same write (call it inside the
        update), with the topic as the student chose it, in their language."""
        labels = self.services.faq.index.labels(ticket.topic, ticket.subtopic, ticket.lang)
        notify.queue(
            ticket,
            kind,
            public_url=self.services.config.public_url,
            message=message,
            topic_label=" – ".join(labels),
            waited_days=waited_days,
            close_days=self.services.config.awaiting_close_days or None,
            reopens=reopens,
        )

    async def open(
        self,
        fields: Mapping[str, str],
        attachment: Attachment | None,
        *,
        conversation_id: str | None = None,
        references: str | None = None,
    ) -> Ticket:
        """A new ticket from validated fields, its first message, and the "opened" mail."""
        opened = await self.open_once(
            fields, attachment, conversation_id=conversation_id, references=references
        )
        return opened.ticket

    async def open_once(
        self,
        fields: Mapping[str, str],
        attachment: Attachment | None,
        *,
        conversation_id: str | None = None,
        references: str | None = None,
        idempotency_key: str | None = None,
    ) -> Opened:
        """As open; or the ticket opened before with the same idempotency_key
        (Tickets.create), as it is, and not new."""
        built = False

        def build(number: str) -> Ticket:
            nonlocal built
            built = True
            ticket = Ticket(
                number=number,
                email=fields["email"],
                name=fields["name"],
                phone=fields["phone"],
                topic=fields["topic"],
                subtopic=fields["subtopic"],
                lang=fields.get("lang", "it"),
                conversation_id=conversation_id,
                references=references,
            )
            ticket.messages.append(
                Message(
                    id=new_id(),
                    author="student",
                    name=ticket.name,
                    body=fields["message"],
                    attachments=[attachment] if attachment else [],
                )
            )
            ticket.history.append(StatusChange(status="open", by="student"))
            # written at night, the mail says when the office reopens (its hours set)
            office = self.services.config.office_hours
            reopens = office.opens_at(datetime.now(UTC)) if office is not None else None
            self._queue_mail(ticket, "opened", reopens=reopens)
            return ticket

        ticket = await self.storage.tickets.create(build, idempotency_key=idempotency_key)
        if built:
            await self._after(ticket, "created", actor="student", action="ticket.created")
        return Opened(ticket, new=built)

    async def _update(
        self, number: str, change: Callable[[Ticket], object], *, erased: ApiError | None = None
    ) -> Ticket:
        """erased: the refusal of a change to a ticket erased or past its retention, for one
        that must say why; by default the ticket is not found (404)."""

        def unless_anonymised(ticket: Ticket) -> object:
            # Erased or past its retention: nothing may be added to it any more.
            if ticket.anonymised_at is not None:
                raise erased or ApiError(404, "not_found")
            return change(ticket)

        try:
            ticket, _ = await self.storage.tickets.update(number, unless_anonymised)
        except TicketNotFound:
            raise ApiError(404, "not_found") from None
        return ticket

    async def student_reply(self, number: str, body: str, attachment: Attachment | None) -> Ticket:
        message = Message(
            id=new_id(),
            author="student",
            name="",
            body=body,
            attachments=[attachment] if attachment else [],
        )

        def change(ticket: Ticket) -> None:
            if ticket.status == "closed":
                raise ApiError(409, "ticket_closed")
            message.name = ticket.name
            ticket.messages.append(message)
            # The operator asked for something and the student answered: the ball is ours again.
            if ticket.status == "awaiting_user":
                ticket.status = "open"
                ticket.history.append(StatusChange(status="open", by="student"))

        ticket = await self._update(number, change)
        await self._after(
            ticket, "message", actor="student", action="ticket.student_message", message=message
        )
        return ticket

    async def operator_reply(
        self,
        number: str,
        operator: Operator,
        body: str,
        *,
        internal: bool,
        guard: Guard | None = None,
        mail: bool = True,
        faq_ids: Sequence[str] = (),
        attachment: Attachment | None = None,
        then: TicketStatus | None = None,
    ) -> Replied:
        """guard: checked under the ticket's lock before anything changes (the console refuses
        there a reply to a colleague's ticket, or one that crossed a colleague's answer).
        mail: False when the student is reading the ticket live and needs no notification.
        faq_ids: the FAQ answers the operator inserted into a public reply ("Risposte
        pronte"), counted in the editors' report once the reply is written.
        attachment: a file already stored, kept with the message as a student's is.
        then: the status a public reply leaves the ticket in ("awaiting_user" when it asks for
        more, "closed" when it resolves), in the same write: the student gets one mail, the
        status's, quoting the reply, instead of a reply mail and a status mail a moment apart."""
        message = Message(
            id=new_id(),
            author="operator",
            name=operator.name,
            body=body,
            internal=internal,
            username=operator.username,
            attachments=[attachment] if attachment else [],
        )

        moved = mailed = False

        def change(ticket: Ticket) -> None:
            nonlocal moved, mailed
            if guard is not None:
                guard(ticket)
            ticket.messages.append(message)
            if internal:
                return
            # Answering a ticket nobody holds takes it: the student sees who helps them.
            if ticket.operator is None:
                hand_over(ticket, operator.username, by=operator.username)
            if then is not None and then != ticket.status:
                moved = mailed = True
                # mailed even to a student reading live, as a status change alone is
                self._move(ticket, then, operator, message=message)
            elif mail:
                self._queue_mail(ticket, "reply", message)
                mailed = True

        ticket = await self._update(number, change)
        await self._after(
            ticket,
            "message",
            actor=operator.username,
            action="ticket.note" if internal else "ticket.reply",
            message=message,
        )
        if moved:
            await self._after(
                ticket,
                "status",
                actor=operator.username,
                action="ticket.status",
                detail={"status": ticket.status},
            )
        if faq_ids and not internal:
            inserted = FaqEvent(kind="inserted", query="", lang=ticket.lang, faq_ids=[*faq_ids])
            await self.storage.faq_events.append(inserted)
        return Replied(ticket, mailed)

    async def set_status(
        self,
        number: str,
        status: TicketStatus,
        operator: Operator,
        *,
        guard: Guard | None = None,
        duplicate_of: str | None = None,
    ) -> Ticket:
        """duplicate_of: closing because the same student asked the same in that ticket, which
        goes on (the caller checks it is theirs): the student is told to follow that one, with
        no rating to give, and the figures count no resolution."""

        def change(ticket: Ticket) -> bool:
            if guard is not None:
                guard(ticket)
            if ticket.status == status:
                return False
            self._move(ticket, status, operator, duplicate_of=duplicate_of)
            return True

        ticket = await self._update(number, change)
        await self._after(
            ticket,
            "status",
            actor=operator.username,
            action="ticket.status",
            detail={"status": status, **({"duplicate_of": duplicate_of} if duplicate_of else {})},
        )
        if duplicate_of is not None and ticket.duplicate_of == duplicate_of:
            await self._note_duplicate(ticket, operator)
        return ticket

    def closes_at(self, ticket: Ticket) -> str | None:
        days = self.services.config.awaiting_close_days
        if not days or ticket.status != "awaiting_user":
            return None
        try:
            since = datetime.fromisoformat(awaiting_since(ticket))
        except ValueError:  # a hand-edited stamp must not make the student's ticket a 500
            return None
        if since.tzinfo is None:  # nor one without its zone, which no moment compares with
            return None
        # The daily run closes it once the day its wait runs out is over in Perugia
        # (web/desk/unanswered.py): a day gone by would read as a deadline already missed.
        closes = max(since + timedelta(days=days), datetime.now(UTC))
        return closes.isoformat(timespec="milliseconds")

    async def close_unanswered(self, number: str, cutoff: str, days: int) -> bool:
        """Closes a ticket that has waited for its student since before `cutoff` (`days`
        before the start of today in Perugia): the office asked, and no answer came. The
        student is told why, and how to go on (a new ticket that refers to this one); no
        operator is named as having closed it."""

        def change(ticket: Ticket) -> None:
            # answered, or asked again, since the sweep read the summaries: nothing is written
            if (
                ticket.anonymised_at is not None
                or ticket.status != "awaiting_user"
                or awaiting_since(ticket) >= cutoff
            ):
                raise _NotDue
            ticket.status = "closed"
            ticket.history.append(StatusChange(status="closed", by="system"))
            self._queue_mail(ticket, "unanswered", waited_days=days)

        try:
            ticket, _ = await self.storage.tickets.update(number, change)
        except (_NotDue, TicketNotFound):
            return False
        await self._after(
            ticket,
            "status",
            actor="system",
            action="ticket.status",
            detail={"status": "closed", "reason": "unanswered"},
        )
        return True

    def _move(
        self,
        ticket: Ticket,
        status: TicketStatus,
        operator: Operator,
        *,
        message: Message | None = None,
        duplicate_of: str | None = None,
    ) -> None:
        """A status change inside an update: its history line, the operator as holder if
        nobody was, and the mail that says so, quoting the reply it came with (`message`)."""
        ticket.status = status
        ticket.duplicate_of = duplicate_of if status == "closed" else None
        ticket.history.append(StatusChange(status=status, by=operator.username))
        if ticket.operator is None:
            hand_over(ticket, operator.username, by=operator.username)
        if duplicate_of is not None:
            self._queue_mail(ticket, "duplicate")
        elif status in ("awaiting_user", "closed"):
            self._queue_mail(ticket, status, message)

    async def _note_duplicate(self, duplicate: Ticket, operator: Operator) -> None:
        """Whoever answers the ticket that goes on reads, in a note there, what the student
        wrote in the one closed in its favour: it may ask more than the first did."""
        asked = next((m.body for m in duplicate.messages if m.author == "student"), "")
        quoted = asked if len(asked) <= DUPLICATE_QUOTE else asked[:DUPLICATE_QUOTE] + "…"
        body = f"Il ticket {duplicate.number} è stato chiuso come duplicato di questo" + (
            f". Lo studente vi aveva scritto:\n«{quoted}»" if quoted else "."
        )
        try:
            await self.operator_reply(duplicate.duplicate_of or "", operator, body, internal=True)
        except ApiError:  # erased meanwhile: nothing to tell anyone there
            log.info("ticket %s: the note of its duplicate %s was not written",
                     duplicate.duplicate_of, duplicate.number)

    async def assign(
        self, number: str, username: str, by: Operator, *, guard: Guard | None = None
    ) -> Ticket:
        target = await self.storage.operators.get(username)
        if target is None or not target.active:
            raise ApiError(422, "validation_failed", fields={"username": "error.unknown_operator"})

        def change(ticket: Ticket) -> None:
            if guard is not None:
                guard(ticket)
            hand_over(ticket, username, by=by.username)

        ticket = await self._update(number, change)
        await self._after(
            ticket,
            "assigned",
            actor=by.username,
            action="ticket.assigned",
            detail={"operator": username},
        )
        return ticket

    async def correct_contact(
        self, number: str, operator: Operator, contact: Mapping[str, str]
    ) -> Ticket:
        """The student's contact details (clean values of bot.validate.CONTACT_CHECKS) as an
        operator corrects them: a mistyped email left the student unable to look the ticket up
        or to hear from us. The thread says who corrected which field, never the values (the
        old address may be a stranger's); a new email gets the mail that tells the student
        this ticket now answers to it. An erased ticket takes no contact details again."""
        changed: list[str] = []

        def change(ticket: Ticket) -> None:
            for field in CONTACT_CHECKS:
                value = contact.get(field)
                if value is not None and value != getattr(ticket, field):
                    setattr(ticket, field, value)
                    changed.append(field)
            if not changed:
                raise _Unchanged
            lang = ticket.lang
            fields = ", ".join(t(f"contact.field.{f}", lang) for f in changed)
            ticket.messages.append(
                Message(
                    id=new_id(), author="system", name="", username=operator.username,
                    body=t("contact.corrected", lang, operator=operator.name, fields=fields),
                )
            )
            if "email" in changed:
                ticket.email_since = utcnow()
                # What has not left yet was meant for the student, not for the mistyped address
                # (a stranger's, maybe). A parked mail follows when an admin tries it again.
                for mail in ticket.outbox:
                    if mail.state == "queued":
                        mail.to = ticket.email
                self._queue_mail(ticket, "contact")

        try:
            ticket = await self._update(number, change, erased=ApiError(409, "ticket_erased"))
        except _Unchanged:
            found = await self.storage.tickets.get(number)
            if found is None:
                raise ApiError(404, "not_found") from None
            return found
        await self._after(
            ticket,
            "contact",
            actor=operator.username,
            action="ticket.contact",
            message=ticket.messages[-1],
            detail={"fields": changed},
        )
        if "email" in changed:
            # A page that followed it with a look-up of the old address stops hearing it: told
            # to read again, it follows on only with a token that still opens the ticket.
            room = STUDENT_ROOM.format(number=number)
            await self.services.live.emit(RESYNC, {}, room=room, namespace=STUDENTS)
            await self.services.live.close_room(room, namespace=STUDENTS)
        return ticket

    async def rate(self, number: str, rating: Rating) -> Ticket:
        """The student's rating: on a closed ticket, once (409 otherwise)."""

        def change(ticket: Ticket) -> None:
            check_ratable(ticket)
            ticket.rating = rating

        ticket = await self._update(number, change)
        await self._after(
            ticket, "rated", actor="student", action="ticket.rated", detail={"score": rating.score}
        )
        return ticket

    # --- after every change ---------------------------------------------------------------

    @staticmethod
    def held_by(username: str, limit: int = 200) -> QueueQuery:
        """The tickets still open that `username` holds."""
        return QueueQuery(
            statuses=frozenset({"open", "awaiting_user"}), holders=frozenset({username}),
            limit=limit,
        )

    async def release_held_by(self, username: str, by: Operator) -> int:
        """Every ticket still open that `username` holds goes back to nobody: an account
        that was deactivated, or a colleague away for weeks, held them where nobody's queue
        shows them ("mine and unassigned") and its name stayed on the student's page. Closed
        tickets keep it. How many were released."""
        held = self.held_by(username)

        def change(ticket: Ticket) -> bool:
            if ticket.operator != username or ticket.status == "closed":
                return False  # taken over or closed since the queue was read
            hand_over(ticket, None, by=by.username)
            return True

        total = 0
        while page := (await self.storage.tickets.queue(held)).tickets:
            released = 0
            for summary in page:
                ticket, changed = await self.storage.tickets.update(summary.number, change)
                if changed:
                    released += 1
                    detail = {"operator": username}
                    await self._after(
                        ticket, "assigned", actor=by.username, action="ticket.released",
                        detail=detail,
                    )
            total += released
            if not released:
                break  # what is left keeps changing hands: it is someone's
        return total

    async def _after(
        self,
        ticket: Ticket,
        reason: str,
        *,
        actor: str,
        action: str,
        message: Message | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        # The change is written: whatever fails from here on must not make the caller believe
        # it was not (a student would confirm again and open the ticket twice).
        self.services.wake_mail()
        try:
            await self.storage.audit.append(
                AuditEntry(actor=actor, action=action, target=ticket.number, detail=detail or {})
            )
            await self.broadcast(ticket, reason, message, actor=actor)
            # an answer or a closing moves everyone behind the ticket
            await self.services.waits.moved()
        except Exception:
            log.exception(
                "ticket %s: %s was saved, but its audit or broadcast failed", ticket.number, action
            )

    async def broadcast(
        self, ticket: Ticket, reason: str, message: Message | None = None, *, actor: str = ""
    ) -> None:
        live = self.services.live
        if message is None or not message.internal:
            view = await self.student_view(ticket, ticket.lang)
            await live.emit(
                "ticket", view, room=STUDENT_ROOM.format(number=ticket.number), namespace=STUDENTS
            )
        summary = await self.storage.tickets.summary(ticket.number) or TicketSummary.of(ticket)
        names = await self.operator_names()
        await live.emit(
            "queue",
            {"ticket": summary_view(summary, names), "reason": reason, "by": actor, "at": utcnow()},
            room=OPERATORS_ROOM,
            namespace=OPERATORS,
        )
        if message is not None:
            await live.emit(
                "ticket_message",
                {"number": ticket.number, "message": message_view(message)},
                room=CONSOLE_TICKET_ROOM.format(number=ticket.number),
                namespace=OPERATORS,
            )


class _Unchanged(Exception):
    """The correction gives every field the value it has: nothing is written or said."""


class _NotDue(Exception):
    """The ticket no longer waits to be closed: its update is abandoned unwritten."""


def awaiting_since(ticket: Ticket) -> str:
    """Since when the ticket has waited for its student: the office's latest word to them, a
    public reply or the change of status that asked for their answer, whichever came last."""
    asked = [c.at for c in ticket.history if c.status == "awaiting_user"]
    replied = [m.at for m in ticket.messages if m.author == "operator" and not m.internal]
    return max(asked[-1:] + replied[-1:], default=ticket.created_at)
