"""What the server keeps in memory about every ticket: the queue, search, limits and pending
mail are answered from here without touching the disk. Pure data, no I/O.

Memory per ticket is bounded: a frozen summary, a capped lower-case, accent-free search text,
and the mail still waiting to go out (sent mail is not kept).
"""

from __future__ import annotations

import bisect
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from .models import OutboxMail, Ticket, TicketSummary, TicketTimes, arrived
from .queue import TallyKey, tally_key
from .timeline import Timeline

# Enough for the request, the names and the latest exchanges of a long thread; 20,000 tickets
# then cost at most 40 MB of search text, usually far less.
SEARCH_BYTES = 2000
FIRST_MESSAGE_CHARS = 800
# The combining marks that NFKD splits off accented letters (bot.text.fold does the same for
# the FAQ; storage does not import the bot), and the zero-width (non-)joiners a Persian name
# may hold: "Ro\u200dssi" is found by "rossi".
_ACCENTS = re.compile("[\u0300-\u036f\u200c\u200d]")
# The apostrophes a phone or a word processor types instead of ': "d’angelo" is "D'Angelo".
# Folded before NFKD, which would turn the acute accent into a space and a combining mark.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u00b4`\u02bc", "'"))
# A query of digits, spaces, + and - only is a phone number (or a ticket's): compared by its
# digits, so "+39 333 1000019" and "3331000019" both find the phone stored as +393331000019.
# (No digit: nothing to compare. Checked apart from the pattern, which a digit in its middle
# would make quadratic: an 8,000-digit query held the event loop for a third of a second.)
_PHONE_LIKE = re.compile(r"[0-9+\-\s]+")
_NOT_DIGIT = re.compile("[^0-9]")


def searchable(text: str) -> str:
    """Lower case without accents, with one apostrophe, on both sides of the console's search:
    "Garcia" finds "García", "Muller" finds "Müller", "d’angelo" finds "D'Angelo", and "è
    scaduto" still finds itself."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered.replace("`", "'")
    lowered = lowered.translate(_APOSTROPHES)
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", lowered))


def needles(query: str) -> list[list[str]]:
    """What the console's search looks for: a ticket matches when its search text holds every
    needle of one of these lists. Every word of the query, in any order (the form asks "Cognome
    e nome", so students write their names both ways round); for a query of digits, spaces, +
    and -, its digits as one needle too (a phone written any way), or the words as typed (an
    academic year "2024-25"). No list: nothing to look for (a query of marks and spaces only)."""
    words = [w for w in searchable(query).replace("\x00", "").split() if w]
    if _PHONE_LIKE.fullmatch(query) and any(c.isdigit() for c in query):
        digits = [_NOT_DIGIT.sub("", query)]
        return [digits] if words == digits else [digits, words]
    return [words] if words else []


def search_text(ticket: Ticket) -> bytes:
    """Lower-cased number, email, name, the phone's digits and message bodies (internal notes
    too: operators search them), capped: the first message, then as many of the latest ones as
    fit.

    UTF-8 bytes rather than str: one emoji would make Python store a whole str at four bytes a
    character. Substring search is the same on UTF-8 bytes, whose characters never overlap."""
    phone = _NOT_DIGIT.sub("", ticket.phone)
    head = searchable(f"{ticket.number}\n{ticket.email}\n{ticket.name}\n{phone}\n").encode()
    bodies = [searchable(m.body).encode() for m in ticket.messages]
    if not bodies:
        return head[:SEARCH_BYTES]
    first, rest = bodies[0][:FIRST_MESSAGE_CHARS], bodies[1:]
    budget = SEARCH_BYTES - len(head) - len(first)
    tail: list[bytes] = []
    for body in reversed(rest):
        if budget <= 0:
            break
        tail.append(body[:budget])
        budget -= len(body) + 1
    return b"\n".join([head + first, *reversed(tail)])[:SEARCH_BYTES]


def _interned(ticket: Ticket) -> TicketSummary:
    # Status, topic, subtopic and operator repeat across thousands of tickets: share one copy.
    s = TicketSummary.of(ticket)
    return replace(
        s,
        status=sys.intern(s.status),  # type: ignore[arg-type]
        topic=sys.intern(s.topic),
        subtopic=sys.intern(s.subtopic),
        operator=sys.intern(s.operator) if s.operator is not None else None,
    )


def email_key(email: str) -> str:
    key = email.strip().lower()
    return email if key == email else key  # the summary's own string when already normal


class TicketIndex:
    def __init__(self) -> None:
        self._summaries: dict[str, TicketSummary] = {}
        self._text: dict[str, bytes] = {}
        self._by_email: dict[str, list[str]] = {}
        self._pending_mail: dict[str, list[OutboxMail]] = {}
        # (created_at, number) ascending: newest last, so a new ticket is an append.
        self._order: list[tuple[str, str]] = []
        # Numbers drawn for tickets being written right now: used, though not yet on disk.
        self._reserved: set[str] = set()
        # What the retention sweep must not delete: the chat and the files of each ticket that
        # still holds its student's data; and the anonymised tickets whose files still go.
        self._conversation: dict[str, str] = {}
        # the other way round, counted: the retention sweep asks about one chat at a time
        self._conversation_users: Counter[str] = Counter()
        self._attachments: dict[str, tuple[str, ...]] = {}
        self._purging: set[str] = set()
        self.timeline = Timeline()
        # The queue's: the tickets of each status, and how many of each status there are per
        # topic, subtopic and holder (storage/queue.py page_by_status).
        self._by_status: dict[str, dict[str, TicketSummary]] = {}
        self.tally: Counter[TallyKey] = Counter()

    def __len__(self) -> int:
        return len(self._summaries)

    # numbers

    def is_used(self, number: str) -> bool:
        return number in self._summaries or number in self._reserved

    def reserve(self, number: str) -> None:
        self._reserved.add(number)

    def release(self, number: str) -> None:
        self._reserved.discard(number)

    # writing

    def put(self, ticket: Ticket, *, bulk: bool = False) -> None:
        """Add a ticket or refresh it after a change. bulk: loading at start, sort() follows."""
        number = ticket.number
        old = self._summaries.get(number)
        summary = _interned(ticket)
        if old is not None:
            if old.created_at != summary.created_at:
                self._order.remove((old.created_at, number))
                bisect.insort(self._order, (summary.created_at, number))
            if old.email != summary.email:
                self._forget_email(old.email, number)
        elif bulk or not self._order or self._order[-1] < (summary.created_at, number):
            self._order.append((summary.created_at, number))
        else:
            bisect.insort(self._order, (summary.created_at, number))
        self._summaries[number] = summary
        if old is not None:
            self.tally[tally_key(old)] -= 1
            self._by_status.get(old.status, {}).pop(number, None)
        self.tally[tally_key(summary)] += 1
        self._by_status.setdefault(summary.status, {})[number] = summary
        if summary.email:  # an anonymised ticket has none, and no look-up may reach it
            numbers = self._by_email.setdefault(email_key(summary.email), [])
            if number not in numbers:
                numbers.append(number)
        self._text[number] = search_text(ticket)
        self._keep_files(ticket)
        pending = [replace(m) for m in ticket.outbox if m.state != "sent"]
        if pending:
            self._pending_mail[number] = pending
        else:
            self._pending_mail.pop(number, None)
        self.timeline.put(TicketTimes.of(ticket), bulk=bulk)

    def _keep_files(self, ticket: Ticket) -> None:
        number = ticket.number
        old = self._conversation.pop(number, None)
        if old is not None:
            self._conversation_users[old] -= 1
            if not self._conversation_users[old]:
                del self._conversation_users[old]
        if ticket.conversation_id:
            self._conversation[number] = ticket.conversation_id
            self._conversation_users[ticket.conversation_id] += 1
        files = tuple(a.id for m in ticket.messages for a in m.attachments)
        if files:
            self._attachments[number] = files
        else:
            self._attachments.pop(number, None)
        if ticket.purge is not None:
            self._purging.add(number)
        else:
            self._purging.discard(number)

    def _forget_email(self, email: str, number: str) -> None:
        numbers = self._by_email.get(email_key(email), [])
        if number in numbers:
            numbers.remove(number)

    def sort(self) -> None:
        """Once, after the bulk puts of the start."""
        self._order.sort()
        self.timeline.sort()

    # reading

    def summary(self, number: str) -> TicketSummary | None:
        return self._summaries.get(number)

    def summaries(self) -> list[TicketSummary]:
        return [self._summaries[n] for _, n in reversed(self._order)]

    def of_status(self) -> Mapping[str, Iterable[TicketSummary]]:
        return {status: tickets.values() for status, tickets in self._by_status.items()}

    def matching(self, text: str, number: str = "") -> list[TicketSummary]:
        """QueueQuery.text and .number: newest first."""
        # One pass a word, the longest (likely the rarest) first, over what the previous passes
        # kept: a scan of 20,000 texts is then one `in` each, as for a one-word search, instead
        # of a generator per ticket.
        texts = self._text
        order = [n for _, n in reversed(self._order)]
        hits = {number} if number else set()
        for words in needles(text):
            kept = order
            for word in sorted({w.encode() for w in words}, key=len, reverse=True):
                kept = [n for n in kept if word in texts[n]]
            hits.update(kept)
        return [self._summaries[n] for n in order if n in hits]

    def of_email(self, email: str) -> list[TicketSummary]:
        """The tickets one student opened, newest first (the console shows them together)."""
        numbers = self._by_email.get(email_key(email), ())
        return sorted(
            (self._summaries[n] for n in numbers), key=lambda s: s.created_at, reverse=True
        )

    def conversations_in_use(self, among: Iterable[str] | None = None) -> set[str]:
        if among is None:
            return set(self._conversation_users)
        return {c for c in among if c in self._conversation_users}

    def attachments_in_use(self) -> set[str]:
        return {a for files in self._attachments.values() for a in files}

    def purging(self) -> list[str]:
        return sorted(self._purging)

    def due_mail(self, now: str, latest: str | None = None) -> list[tuple[str, OutboxMail]]:
        """The queued mails due at now: next_try_at <= now, or after latest (Outbox.claim)."""
        due = [
            (number, replace(mail))
            for number, mails in self._pending_mail.items()
            for mail in mails
            if mail.state == "queued" and arrived(mail.next_try_at, now, latest)
        ]
        due.sort(key=lambda item: (item[1].next_try_at, item[1].created_at))
        return due

    def queued_mail(self) -> list[tuple[str, OutboxMail]]:
        """Every queued mail, due or not; not copies: for reading only."""
        return [
            (number, mail)
            for number, mails in self._pending_mail.items()
            for mail in mails
            if mail.state == "queued"
        ]

    def parked_mail(self) -> list[tuple[str, OutboxMail]]:
        parked = [
            (number, replace(mail))
            for number, mails in self._pending_mail.items()
            for mail in mails
            if mail.state == "parked"
        ]
        parked.sort(key=lambda item: item[1].created_at)
        return parked
