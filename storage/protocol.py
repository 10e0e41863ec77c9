"""The storage as the application sees it, whatever keeps it: a data folder of TinyDB files
(storage.Storage, one process) or a PostgreSQL database (storage.postgres.PostgresStorage, any
number of processes). Both take and return the records of models.py and raise the errors of
errors.py; tests/storage runs the same tests against both.

Every read is async, even where the folder answers from memory: a database cannot."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import ClassVar, Protocol, TypeVar

from .models import (
    AuditEntry,
    ChatsReached,
    Conversation,
    ConversationBrief,
    Duration,
    FaqEvent,
    Lifetime,
    Moment,
    Operator,
    OperatorSession,
    OutboxMail,
    Spread,
    Ticket,
    TicketStatus,
    TicketSummary,
    TicketTimes,
)
from .queue import QueuePage, QueueQuery

T = TypeVar("T")


class Tickets(Protocol):
    async def create(
        self, build: Callable[[str], Ticket], *, idempotency_key: str | None = None
    ) -> Ticket:
        """Draw a random number never used before (not even by a ticket since removed), build
        the ticket with it, store it. build runs once, with the number that is kept.
        idempotency_key: names the attempt; if a ticket was created with it before, even in
        the same moment by another process, that ticket is returned and build is not run
        (PostgreSQL; the data folder has one process and ignores it)."""

    async def get(self, number: str) -> Ticket | None:
        """None for an unknown number and for a malformed one."""

    async def update(
        self, number: str, change: Callable[[Ticket], T], *, touch: bool = True
    ) -> tuple[Ticket, T]:
        """Load, change (mutates the ticket, may return a value), stamp updated_at unless
        touch=False, store: one update of a ticket at a time, across every process, so none
        loses another's change. If change raises, nothing is stored. The new mails change put
        in ticket.outbox are stored with the ticket, in the same step. TicketNotFound."""

    async def summary(self, number: str) -> TicketSummary | None: ...

    async def summaries(self) -> list[TicketSummary]:
        """All tickets, newest created first."""

    async def queue(self, query: QueueQuery) -> QueuePage:
        """The console's queue: one page of the tickets the query keeps, and the counts per
        status (storage/queue.py says what each field means)."""

    async def of_email(self, email: str) -> list[TicketSummary]:
        """The tickets one student opened, newest first."""

    async def count(self) -> int: ...

    # For the retention sweep and the erasure (storage/retention.py): an anonymised ticket
    # (TicketSummary.anonymised) has an empty email, so of_email never returns it.

    async def conversations_in_use(self, among: Collection[str] | None = None) -> set[str]:
        """The chats that tickets still holding their student's data point at; only those
        of `among` when given."""

    async def attachments_in_use(self) -> set[str]:
        """The attachment files that tickets point at."""

    async def purging(self) -> list[str]:
        """The anonymised tickets whose files are still to delete (Ticket.purge set), by
        number: a crash stopped their anonymisation between its two writes."""

    # The office's figures and the students' queue (CONTRACT.md section 8; storage/README.md,
    # "Figures"). A window is [since, until), ISO 8601 UTC text as models.utcnow() writes it;
    # a moment is a TicketTimes field (models.Moment). ValueError for an unknown moment.

    async def times_between(self, moment: Moment, since: str, until: str) -> list[TicketTimes]:
        """The tickets whose moment falls in the window, in the order of that moment, then
        of number."""

    async def counts_between(self, moment: Moment, bounds: Sequence[str]) -> list[int]:
        """How many tickets have their moment in each [bounds[i], bounds[i + 1]) of the
        ascending bounds: one count per day of a report in one call."""

    async def spread_between(self, moment: Duration, since: str, until: str) -> Spread:
        """The median and the 90th percentile (models.Spread) of the seconds from creation to
        the first answer ("answered") or to the closing ("closed") of the tickets answered or
        closed in the window."""

    async def durations_between(
        self, moment: Duration, since: str, until: str
    ) -> list[tuple[str, float]]:
        """(moment, seconds since creation) of each ticket answered ("answered") or closed
        ("closed") in the window, in the order of the moment: the pace of the first answers
        for the students' wait, without the rest of each ticket's times."""

    async def opened_by_subtopic(self, since: str, until: str) -> dict[tuple[str, str], int]:
        """(topic, subtopic) -> tickets opened in the window; subtopics with none left out."""

    async def scores_between(self, since: str, until: str) -> dict[int, int]:
        """Score (1..5) -> ratings given in the window; scores nobody gave left out."""

    async def count_by_status(self) -> dict[TicketStatus, int]:
        """How many tickets are in each status now; a status with none left out."""

    async def erased_open_now(self) -> int:
        """How many tickets that are not closed had their student's data erased: still counted
        open (CONTRACT.md section 9), yet nobody can answer or close them any more."""

    async def waiting_now(self) -> tuple[int, str | None]:
        """How many tickets wait for their first answer now (the queue of queue_positions), and
        when the oldest of them was created; None when none waits."""

    async def queue_positions(self, numbers: Collection[str]) -> dict[str, int]:
        """The place in the queue of those of these tickets that wait: 1 for the oldest
        ticket that is not closed and has no operator answer the student can read (an
        internal note is none), 2 for the next... Numbers of other tickets are left out."""


class Outbox(Protocol):
    """The mail waiting in the tickets' outboxes, for any number of workers: each claims what
    it sends, so no two send one mail at once, and a claim lapses after `lease` seconds, so
    the mail of a worker that died is sent by another (at least once, never lost)."""

    async def claim(
        self, worker: str, now: str, limit: int, lease: float, *, horizon: float | None = None
    ) -> list[tuple[str, OutboxMail]]:
        """Up to limit mails due at now (queued, next_try_at <= now, not claimed by a live
        lease), oldest due first, as (ticket number, mail); they are this worker's until
        settled, released, or now + lease. horizon: the furthest, in seconds, that workers
        schedule a try or a lease ahead of their clock; a next try or a lease's end further
        ahead than now + horizon was written before the clock went back (an NTP step), and is
        due, or lapsed, now."""

    async def settle(
        self, number: str, mail_id: str, change: Callable[[OutboxMail], None]
    ) -> OutboxMail | None:
        """Record what happened to a mail (change mutates it) and end its claim; the ticket's
        updated_at is kept. The stored mail, or None when the ticket has no such mail."""

    async def release(self, worker: str, keep: Collection[tuple[str, str]] = ()) -> None:
        """End this worker's claims on the mails it did not settle (it stops, or pauses), but
        those of `keep` ((number, mail id): sent, not yet written down)."""

    async def next_due(self) -> str | None:
        """When the next queued mail can be claimed (its next try, or the end of its claim)."""

    async def parked(self) -> list[tuple[str, OutboxMail]]:
        """The mails given up on, oldest first, for an admin to see and requeue."""

    async def queued(self) -> int:
        """How many mails wait to be sent (due or not, claimed or not): the outbox's depth,
        for the metrics."""


class Conversations(Protocol):
    async def get(self, conversation_id: str) -> Conversation | None:
        """The stored chat; None for an unknown id, and for a malformed one."""

    async def resume(self, conversation_id: str) -> Conversation | None:
        """The stored chat, for a hello that resumes it in a socket: from then on the chat is
        shared, and every copy of it that save returns says so (Conversation.shared), so that
        a step's answer is published to the other processes only for a chat that one of their
        sockets may follow. The data folder has one process: there it is get."""

    async def working_copy(self, conversation_id: str) -> Conversation | None:
        """This process's own last copy of the chat if it has one, else the stored one: a
        chat step's read, which may then be behind another process's save (see save)."""

    async def save(self, conversation: Conversation, *, durable: bool = False) -> None:
        """Create or replace; stamps updated_at. ValueError for a malformed id. A chat's
        progress may reach the disk just after the call (the data folder writes it behind);
        durable: on disk before it returns, for a step that records something promised.
        ConversationChanged, changing nothing, if another process saved the chat since this
        copy was read or created (PostgreSQL; the data folder has one process). Sets the
        copy's version and shared to the stored chat's."""

    async def delete(self, conversation_id: str) -> None:
        """Gone for good; unknown and malformed ids are a no-op. The web layer holds the
        conversation's lock, so that no chat step saves it again meanwhile."""

    async def briefs(self) -> list[ConversationBrief]:
        """Every conversation without its transcript (retention sweep, erasure: rare)."""


class Operators(Protocol):
    async def get(self, username: str) -> Operator | None: ...

    async def list(self) -> list[Operator]:
        """By username."""

    async def put(self, operator: Operator) -> None:
        """Create or replace the account with this username."""

    async def add(self, operator: Operator) -> bool:
        """Create the account unless the username is taken (then nothing is stored: False),
        in one step across every process."""

    async def swap(self, old: Operator, new: Operator) -> bool:
        """Store `new` in place of the account as it was read (`old`), in one step across every
        process; False, storing nothing, when another write changed it since: a change
        computed from `old` (argon2 takes a while) must not undo a deactivation meanwhile."""


class Upload(Protocol):
    """A file being received; it gets an id only when committed, and a receive() block left
    without a commit keeps nothing."""

    size: int
    head: bytes  # the first bytes, for the caller to tell the type from the content

    async def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> str:
        """Keep the file under a fresh random id, and return the id."""


class Attachments(Protocol):
    def receive(self) -> contextlib.AbstractAsyncContextManager[Upload]: ...

    async def read(self, attachment_id: str) -> bytes | None:
        """The bytes (at most a few MiB: the caller caps uploads); None for an unknown or
        malformed id."""

    async def delete(self, attachment_id: str) -> None:
        """Unknown and malformed ids are a no-op."""

    async def stored_before(self, moment: datetime) -> list[str]:
        """The ids of the files stored before this moment (aware), whoever uses them, sorted."""


class Audit(Protocol):
    async def append(self, entry: AuditEntry) -> None:
        """May return before the entry is durable (the folder flushes in groups)."""

    async def flush(self) -> None:
        """Return once every entry appended so far is durable: for what must survive a crash
        (an anonymisation, an erasure)."""

    async def recent(self, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        """Newest first."""


class FaqEvents(Protocol):
    MEMORY: ClassVar[int]  # recent() never returns more than this many events

    async def append(self, event: FaqEvent) -> None: ...

    async def recent(self, limit: int = 1000) -> list[FaqEvent]:
        """Newest first."""

    async def forget_conversations(self, conversation_ids: Collection[str]) -> int:
        """Blank the query of every event of these chats (an erasure: what the student typed);
        the events stay, for the counts. How many were blanked."""

    async def drop_before(self, day: str) -> int:
        """Delete the events of the UTC days before `day` (YYYY-MM-DD): past the retention.
        How many days had events."""

    async def chats_between(self, since: str, until: str) -> ChatsReached:
        """The chats whose first FAQ search (a `suggested` or `no_match` event) falls in
        [since, until), and how many of them have a `solved` event: the deflection rate.
        Every event counts, not only the MEMORY latest."""


class Sessions(Protocol):
    """Signed-in consoles. A session is found by the id its cookie carries; ids are never
    stored, only their keys (session_key)."""

    async def add(self, session: OperatorSession) -> None: ...

    async def get(
        self, session_id: str, now: float, lifetime: Lifetime, *, touch: bool = True
    ) -> OperatorSession | None:
        """The live session with this id, its last_seen moved to now when touch; None when
        unknown or past its lifetime."""

    async def drop(self, session_id: str) -> OperatorSession | None: ...

    async def drop_user(self, username: str) -> list[OperatorSession]:
        """End every session of an account (deactivated, or its password changed)."""

    async def expire(self, now: float, lifetime: Lifetime) -> list[OperatorSession]:
        """Remove and return the sessions past their lifetime."""


class Backend(Protocol):
    # Properties: read-only, so that each implementation may hold its own store classes.
    @property
    def tickets(self) -> Tickets: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def conversations(self) -> Conversations: ...

    @property
    def operators(self) -> Operators: ...

    @property
    def attachments(self) -> Attachments: ...

    @property
    def audit(self) -> Audit: ...

    @property
    def faq_events(self) -> FaqEvents: ...

    @property
    def sessions(self) -> Sessions: ...

    async def close(self) -> None:
        """Wait for the writes in flight, refuse new ones, let go. Idempotent."""
