"""The records the stores keep. Plain dataclasses that round-trip through JSON dicts.

Why one module: the records nest (a ticket holds its messages, history, hand-overs, outbox and
rating) and the summaries and moments are read off them; split, each from_dict would import
the others' types across modules.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

TicketStatus = Literal["open", "awaiting_user", "closed"]
TICKET_STATUSES: tuple[TicketStatus, ...] = ("open", "awaiting_user", "closed")
Author = Literal["student", "operator", "system"]
Role = Literal["operator", "editor", "admin"]
ROLES: tuple[Role, ...] = ("operator", "editor", "admin")
MailState = Literal["queued", "sent", "parked"]
# refused: the server's 5xx, every try; failed: an unexpected error, every try; own_address:
# addressed to our own sender (a mail loop); unbuildable: a header that cannot be encoded
ParkReason = Literal["refused", "failed", "own_address", "unbuildable", "deferred"]


def utcnow() -> str:
    """Timestamps are ISO 8601 strings in UTC, so they sort as text and survive JSON."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def arrived(moment: str, now: str, latest: str | None) -> bool:
    """Whether a moment scheduled ahead (a mail's next try, a claim's end) has come at now:
    it is not after now, or it is after latest, further ahead than anyone schedules, which
    only a clock that has since gone back could have written (Outbox.claim's horizon)."""
    return moment <= now or (latest is not None and moment > latest)


@dataclass
class Attachment:
    id: str  # random, also the file's name on disk; never the uploaded name
    filename: str  # the uploaded name, cleaned, for display and Content-Disposition only
    size: int
    content_type: str  # detected from the content: application/pdf, image/png, image/jpeg


@dataclass
class Message:
    id: str
    author: Author
    name: str  # display name: the student's name, the operator's display name, "" for system
    body: str
    at: str = field(default_factory=utcnow)
    internal: bool = False  # an operator's note, never shown to the student
    username: str | None = None  # the operator's username, for operator messages
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class StatusChange:
    status: TicketStatus
    by: str  # operator username, "student" or "system"
    at: str = field(default_factory=utcnow)


@dataclass
class Assignment:
    """The ticket changed hands: taken, transferred, or given back to nobody. Kept in the
    record from when it was added; tickets changed before then have none."""

    operator: str | None  # the new holder's username; None: nobody holds it any more
    by: str  # the operator who did it
    at: str = field(default_factory=utcnow)


@dataclass
class OutboxMail:
    """A notification waiting to be sent. It lives inside its ticket's record, so that the
    event and its mail are written in one atomic step."""

    id: str
    to: str
    subject: str
    text: str
    html: str
    kind: str  # opened | reply | awaiting_user | closed
    created_at: str = field(default_factory=utcnow)
    state: MailState = "queued"
    attempts: int = 0
    next_try_at: str = field(default_factory=utcnow)
    last_error: str | None = None
    sent_at: str | None = None
    # why it was parked, for the console to say in the reader's language (last_error: details)
    reason: ParkReason | None = None


@dataclass
class Rating:
    """The student's verdict on a closed ticket, given once."""

    score: int  # 1..5
    comment: str = ""
    at: str = field(default_factory=utcnow)


@dataclass
class Purge:
    """What the anonymisation of a ticket still has to delete outside its record: written in
    the same atomic step that empties the record, dropped once the files are gone, so that a
    crash in between leaves a note of the work left instead of files nobody points at."""

    attachments: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)


@dataclass
class Ticket:
    number: str  # six digits, zero-padded
    email: str  # normalised: lower case
    name: str  # "Cognome Nome" as the student typed it
    phone: str  # E.164
    topic: str
    subtopic: str
    lang: str = "it"
    status: TicketStatus = "open"
    operator: str | None = None  # username of the operator handling it
    created_at: str = field(default_factory=utcnow)
    updated_at: str = field(default_factory=utcnow)
    messages: list[Message] = field(default_factory=list)
    history: list[StatusChange] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    conversation_id: str | None = None  # the chat that led to the ticket
    references: str | None = None  # number of the closed ticket this one follows up
    # Closed because the same student asked the same in this other ticket, which goes on: no
    # resolution to count, no rating to ask for. Cleared when the ticket is reopened.
    duplicate_of: str | None = None
    outbox: list[OutboxMail] = field(default_factory=list)
    rating: Rating | None = None
    # When the student's personal data was removed (retention or erasure, storage/retention.py);
    # the record stays, so its number is never drawn again and the figures still count it.
    anonymised_at: str | None = None
    # When an operator last corrected the email: the old address may be a stranger's, whose
    # look-up with it must not go on opening the ticket (web/desk/students.py, opened_by).
    email_since: str | None = None
    purge: Purge | None = None  # files still to delete after the anonymisation
    # What a newer version of the service wrote in the record and this one does not know: kept
    # and written back as it came. During a restart of the processes one by one, an older one
    # still reads and changes a ticket that a newer one wrote, without losing the newer fields.
    unknown: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        return {**record.pop("unknown"), **record}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        known = {f.name for f in fields(cls)} - {"unknown"}
        data = {k: v for k, v in data.items() if k in known} | {
            "unknown": {k: v for k, v in data.items() if k not in known}
        }
        data["messages"] = [
            Message(**{**m, "attachments": [Attachment(**a) for a in m.get("attachments", [])]})
            for m in data.get("messages", [])
        ]
        data["history"] = [StatusChange(**h) for h in data.get("history", [])]
        data["assignments"] = [Assignment(**a) for a in data.get("assignments", [])]
        data["outbox"] = [OutboxMail(**o) for o in data.get("outbox", [])]
        rating = data.get("rating")
        data["rating"] = Rating(**rating) if rating is not None else None
        if data.get("purge") is not None:
            data["purge"] = Purge(**data["purge"])
        return cls(**data)


@dataclass(frozen=True)
class TicketSummary:
    """What the in-memory index keeps of each ticket: enough for the queue and the limits."""

    number: str
    status: TicketStatus
    topic: str
    subtopic: str
    name: str
    email: str
    operator: str | None
    created_at: str
    updated_at: str
    # the last message's author, so the queue can show "waiting for us" vs "waiting for them"
    last_author: Author | None = None
    # no personal data left: the figures count it, nobody can find or open it any more
    anonymised: bool = False
    # The queue's "waiting" order (storage/queue.py): whether the office owes the student an
    # answer (open, and no public operator reply since the student last wrote), and since when
    # the ticket has waited on whichever side it waits for (waiting_turn). Only the public
    # thread moves them: a reminder, an internal note, an assignment do not.
    awaits_office: bool = False
    waiting_since: str = ""
    email_since: str | None = None  # Ticket.email_since

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketSummary:
        """A summary as PostgreSQL keeps it beside the record; the fields a newer version
        added are left out (a summary is rewritten whole from its record at each write)."""
        return cls(**{k: v for k, v in data.items() if k in _SUMMARY_FIELDS})

    @classmethod
    def of(cls, ticket: Ticket) -> TicketSummary:
        public = [m for m in ticket.messages if not m.internal]
        side, since = waiting_turn(ticket)
        return cls(
            number=ticket.number,
            status=ticket.status,
            topic=ticket.topic,
            subtopic=ticket.subtopic,
            name=ticket.name,
            email=ticket.email,
            operator=ticket.operator,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            last_author=public[-1].author if public else None,
            anonymised=ticket.anonymised_at is not None,
            email_since=ticket.email_since,
            awaits_office=ticket.status == "open" and side == "student",
            waiting_since=since,
        )


_SUMMARY_FIELDS = frozenset(f.name for f in fields(TicketSummary))


def waiting_turn(ticket: Ticket) -> tuple[Author, str]:
    """Whose move the ticket waits for, "student" (to be answered) or "operator", and since
    when: the first public message of that side since the other side last wrote; the ticket's
    creation while nobody has answered it. So a student's reminder keeps the moment of the
    question it reminds of, and an operator's reply starts the student's turn. Internal notes
    and system lines are no one's move. (The same rule in SQL: postgres/migrations/0011.)"""
    side: Author = "student"
    since = ticket.created_at
    for m in ticket.messages:
        if m.internal or m.author == "system" or m.author == side:
            continue
        side, since = m.author, m.at
    return side, since


# The moments of a ticket the office's figures count, each a TicketTimes field: "opened"
# (created_at), "answered" (first_response_at), "closed" (closed_at), "rated" (rated_at).
Moment = Literal["opened", "answered", "closed", "rated"]
MOMENTS: tuple[Moment, ...] = ("opened", "answered", "closed", "rated")
# The moments that end a measured duration: from creation to the first answer, to the closing.
Duration = Literal["answered", "closed"]
DURATIONS: tuple[Duration, ...] = ("answered", "closed")
# A window's durations told in two figures: the median, interpolated between the two middle
# values, and the time nine in ten took at most (the nearest rank, never interpolated: "9 su 10
# entro" must be true of four tickets too); None for each when the window measured nothing.
Spread = tuple[float | None, float | None]


@dataclass(frozen=True, slots=True)
class TicketTimes:
    """The moments of a ticket that the office's figures and the students' queue count: kept
    in memory by the data folder, as columns beside the record by PostgreSQL
    (storage/README.md, "Figures")."""

    number: str
    status: TicketStatus
    topic: str
    subtopic: str
    created_at: str
    # the first operator message the student could read: an internal note is no answer
    first_response_at: str | None = None
    # when it was last closed, while it stays closed: a reopened ticket is not resolved
    closed_at: str | None = None
    rated_at: str | None = None
    score: int | None = None
    first_response_seconds: float | None = None
    resolution_seconds: float | None = None
    # the student's data erased: nobody can open the ticket any more, so it waits for nobody
    anonymised: bool = False

    @property
    def waiting(self) -> bool:
        """In the queue: not closed, nobody has answered yet, and still anyone's to answer."""
        return self.first_response_at is None and self.status != "closed" and not self.anonymised

    @classmethod
    def of(cls, ticket: Ticket) -> TicketTimes:
        answer = next(
            (m.at for m in ticket.messages if m.author == "operator" and not m.internal), None
        )
        closed = None
        if ticket.status == "closed":
            last = [h.at for h in ticket.history if h.status == "closed"]
            closed = last[-1] if last else ticket.updated_at
        return cls(
            number=ticket.number,
            # shared by thousands of tickets: one copy each
            status=sys.intern(ticket.status),  # type: ignore[arg-type]
            topic=sys.intern(ticket.topic),
            subtopic=sys.intern(ticket.subtopic),
            created_at=ticket.created_at,
            first_response_at=answer,
            closed_at=closed,
            rated_at=ticket.rating.at if ticket.rating else None,
            score=ticket.rating.score if ticket.rating else None,
            first_response_seconds=_seconds(ticket.created_at, answer),
            # a duplicate closed is no request resolved: it stays out of the resolution times
            resolution_seconds=None if ticket.duplicate_of else _seconds(ticket.created_at, closed),
            anonymised=ticket.anonymised_at is not None,
        )


def _seconds(start: str, end: str | None) -> float | None:
    if end is None:
        return None
    try:
        elapsed = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (TypeError, ValueError):  # a hand-edited stamp must not stop the start
        return None
    return max(0.0, elapsed.total_seconds())


class ChatsReached(NamedTuple):
    chats: int  # chats whose first FAQ search falls in the window
    solved: int  # of those, the ones where the student said an FAQ solved the question


@dataclass
class Conversation:
    id: str
    step: str
    slots: dict[str, Any] = field(default_factory=dict)
    lang: str = "it"
    transcript: list[dict[str, Any]] = field(default_factory=list)
    # attachments uploaded in this chat (id, filename, size, content_type): only these may
    # join its ticket
    uploads: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=utcnow)
    updated_at: str = field(default_factory=utcnow)
    # Every email given in this chat, lower case: a restart or a change of email clears the
    # slot, not what was typed, so the erasure of an email finds the chat by this list.
    emails: list[str] = field(default_factory=list)
    # Which save of the stored chat this copy is (PostgreSQL, storage/postgres/records.py):
    # 0 for a copy never stored. Not part of the record, nor of what makes two copies equal.
    version: int = field(default=0, compare=False)
    # Whether a hello resumed the stored chat (PostgreSQL), so that sockets of other processes
    # than the one that started it may follow it. Like version, not part of the record.
    shared: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The fields, sharing the conversation's lists and dicts: for encoding at once. A deep
        copy (dataclasses.asdict) of the transcript was half a millisecond per chat step."""
        return {name: getattr(self, name) for name in _CONVERSATION_RECORD}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(**data)


_CONVERSATION_RECORD = tuple(
    f.name for f in fields(Conversation) if f.name not in ("version", "shared")
)


@dataclass(frozen=True)
class ConversationBrief:
    """What the retention sweep and the erasure need to know of a chat, without its transcript."""

    id: str
    updated_at: str
    emails: tuple[str, ...]  # every email given in the chat (Conversation.emails), lower case
    uploads: tuple[str, ...]  # ids of the files uploaded in it and not yet sent with a ticket

    @classmethod
    def of(
        cls,
        conversation_id: str,
        updated_at: str,
        email: object,
        emails: object,
        uploads: list[dict[str, Any]],
    ) -> ConversationBrief:
        """From the parts of a record (slots["email"], emails, uploads), read whole or picked
        out. The slot counts too: chats saved before the list existed have only that."""
        given = [*(emails if isinstance(emails, list) else []), email]
        return cls(
            id=conversation_id,
            updated_at=updated_at,
            emails=tuple(sorted({e.strip().lower() for e in given if isinstance(e, str) and e})),
            uploads=tuple(str(u.get("id", "")) for u in uploads),
        )


@dataclass
class Operator:
    username: str
    name: str  # display name, the only one students see
    role: Role
    password_hash: str  # argon2
    active: bool = True
    created_at: str = field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operator:
        return cls(**data)


@dataclass
class AuditEntry:
    actor: str  # operator username, "student" or "system"
    action: str  # e.g. ticket.created, ticket.status, ticket.assigned, operator.added
    target: str  # ticket number or username
    detail: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=utcnow)


FaqEventKind = Literal["suggested", "solved", "no_match", "not_solved", "inserted"]
# How sure the assistant was of what it showed (bot.confidence): "none" when it found nothing
FaqBand = Literal["confident", "middle", "none"]
FAQ_BANDS: tuple[FaqBand, ...] = ("confident", "middle", "none")


@dataclass
class FaqEvent:
    """A suggestion shown, a FAQ that solved a question, a question with no match, or a FAQ
    answer an operator inserted into a reply (`inserted`, with the ticket's language and no
    query): the editors' report reads these."""

    kind: FaqEventKind
    query: str
    lang: str
    faq_ids: list[str] = field(default_factory=list)
    conversation_id: str | None = None
    at: str = field(default_factory=utcnow)
    # the chat's events only; None in events written before the bands, which were all shown
    # as sure answers, and in `inserted`
    band: FaqBand | None = None


@dataclass
class OperatorSession:
    """A signed-in console. The cookie carries a random id; stores keep only its SHA-256
    (`key`), so a copy of the database or a log line opens no console."""

    key: str
    username: str
    # The account's password hash at login: when it changes, the session is over.
    credential: str
    csrf_token: str
    # Seconds since the epoch (time.time()): a wall clock, which several processes share.
    created: float
    last_seen: float


@dataclass(frozen=True)
class Lifetime:
    """How long a session lives: `idle` seconds since the operator's last action, and never
    more than `absolute` seconds since the login."""

    idle: float
    absolute: float

    def alive(self, session: OperatorSession, now: float) -> bool:
        return now - session.last_seen < self.idle and now - session.created < self.absolute
