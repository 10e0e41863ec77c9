"""The figures' columns of a database written before them (migrations/0004_figures.sql): the
migration fills them from the records as models.TicketTimes.of reads a ticket, and the chats
from the FAQ events as the data folder counts them."""

from __future__ import annotations

import json
from dataclasses import asdict

import psycopg
import pytest

from storage import FaqEvent, Message, Rating, StatusChange, Ticket, TicketTimes
from storage.faq_chats import FaqChats
from storage.models import MOMENTS
from storage.postgres import PostgresStorage, database
from storage.ticket_index import email_key
from tests.servers import PostgresServer

from .conftest import build

FIRST, LAST = "0", "z"  # every stamp, even a malformed one, sorts between


def at(hour: int, minute: int = 0) -> str:
    return f"2026-09-14T{hour:02d}:{minute:02d}:00.000+00:00"


def operator(when: str, *, internal: bool = False) -> Message:
    return Message(id=f"o{when}{internal}", author="operator", name="Laura", body="ok",
                   internal=internal, username="laura", at=when)


def tickets() -> list[Ticket]:
    return [
        build(created_at=at(8))("100001"),  # waiting
        build(created_at=at(8), messages=[operator(at(8, 5), internal=True)])("100002"),
        build(created_at=at(9), messages=[operator(at(9, 30)), operator(at(10))])("100003"),
        build(created_at=at(10), status="closed", messages=[operator(at(10, 1))],
              history=[StatusChange("closed", "laura", at(11)),
                       StatusChange("open", "s", at(12)),
                       StatusChange("closed", "laura", at(13))],
              rating=Rating(score=5, at=at(14)))("100004"),
        # closed with no history: the closing is the last change
        build(created_at=at(11), status="closed", updated_at=at(12, 30))("100005"),
        # reopened: answered, not resolved
        build(created_at=at(12), messages=[operator(at(12, 10))],
              history=[StatusChange("closed", "laura", at(13))])("100006"),
        # a stamp edited by hand: no duration, and no refusal to start
        build(created_at="ieri", messages=[operator(at(9))])("100007"),
        # the student's data erased: out of the queue
        build(created_at=at(7), anonymised_at=at(8))("100008"),
    ]


EVENTS = [
    FaqEvent(kind="suggested", query="q", lang="it", conversation_id="a", at=at(9)),
    FaqEvent(kind="no_match", query="q", lang="it", conversation_id="a", at=at(8)),
    FaqEvent(kind="solved", query="q", lang="it", conversation_id="a", at=at(9, 1)),
    FaqEvent(kind="solved", query="q", lang="it", conversation_id="b", at=at(9, 2)),
    FaqEvent(kind="suggested", query="q", lang="it", conversation_id="c", at=at(10)),
    FaqEvent(kind="not_solved", query="q", lang="it", conversation_id="c", at=at(10, 1)),
    FaqEvent(kind="suggested", query="q", lang="it", at=at(11)),  # no chat to count it in
]


async def test_the_migration_fills_the_moments_of_the_tickets_kept(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = postgres.new_database()
    url = postgres.url(name)
    try:
        before_figures = [m for m in database.migrations() if m[0] < 4]
        with monkeypatch.context() as patch:
            patch.setattr(database, "migrations", lambda: before_figures)
            await (await PostgresStorage.open(url)).close()
        made = tickets()
        with psycopg.connect(url, autocommit=True) as conn:
            for ticket in made:  # as the code before the figures wrote them
                record = ticket.to_dict()
                del record["outbox"]
                conn.execute("INSERT INTO used_numbers VALUES (%s)", (ticket.number,))
                conn.execute(
                    "INSERT INTO tickets (number, email_key, created_at, updated_at,"
                    " search_text, summary, record) VALUES (%s, %s, %s, %s, '', '{}', %s)",
                    (ticket.number, email_key(ticket.email), ticket.created_at,
                     ticket.updated_at, json.dumps(record)),
                )
            for event in EVENTS:
                conn.execute(
                    "INSERT INTO faq_events (at, conversation_id, event) VALUES (%s, %s, %s)",
                    (event.at, event.conversation_id, json.dumps(asdict(event))),
                )
        async with await PostgresStorage.open(url) as storage:
            times = [TicketTimes.of(t) for t in made]
            for moment, field in zip(
                MOMENTS, ("created_at", "first_response_at", "closed_at", "rated_at"), strict=True
            ):
                expected = sorted(
                    (t for t in times if getattr(t, field) is not None),
                    key=lambda t, f=field: (getattr(t, f), t.number),  # type: ignore[misc]
                )
                assert await storage.tickets.times_between(moment, FIRST, LAST) == expected
            assert await storage.tickets.queue_positions([t.number for t in made]) == {
                "100001": 1, "100002": 2
            }
            folder = FaqChats()
            folder.add(EVENTS)
            assert await storage.faq_events.chats_between(FIRST, LAST) == (2, 1)
            assert folder.between(FIRST, LAST) == (2, 1)
            # a chat that had only said "solved" now searches: counted, as solved
            search = FaqEvent(kind="suggested", query="q", lang="it", conversation_id="b",
                              at=at(9, 3))
            await storage.faq_events.append(search)
            folder.add([search])
            assert await storage.faq_events.chats_between(FIRST, LAST) == (3, 2)
            assert folder.between(FIRST, LAST) == (3, 2)
    finally:
        postgres.drop_database(name)
