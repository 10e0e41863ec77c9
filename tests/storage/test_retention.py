"""The retention rules on both storages: what anonymising a ticket empties and keeps, what the
stores answer about it afterwards (also after a restart), what is left in any file or row; and,
for the folder, what check_data calls overdue."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import (
    Attachment,
    Backend,
    Conversation,
    FaqEvent,
    Message,
    OutboxMail,
    Rating,
    StatusChange,
    Storage,
    Ticket,
    check_data,
)
from storage.models import TicketSummary
from storage.queue import QueueQuery
from storage.retention import anonymise, stamp

from .conftest import Place, build

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
AT = stamp(NOW)


def rich_ticket(number: str) -> Ticket:
    """A ticket with something in every field, personal and not."""
    return Ticket(
        number=number,
        email="giulia.verdi@example.org",
        name="Verdi Giulia",
        phone="+393401112233",
        topic="immatricolazioni",
        subtopic="tasse-pagamenti",
        lang="en",
        status="closed",
        operator="lbianchi",
        created_at="2027-01-10T09:00:00.000+00:00",
        updated_at="2027-01-12T10:00:00.000+00:00",
        messages=[
            Message(
                id="m1", author="student", name="Verdi Giulia", body="Il mio ISEE è 9000 euro",
                at="2027-01-10T09:00:00.000+00:00",
                attachments=[Attachment("a" * 32, "isee.pdf", 10, "application/pdf")],
            ),
            Message(
                id="m2", author="operator", name="Laura Bianchi", body="Gentile Giulia, ...",
                at="2027-01-11T09:00:00.000+00:00", username="lbianchi",
            ),
            Message(
                id="m3", author="operator", name="Laura Bianchi", body="nota: ISEE basso",
                at="2027-01-11T09:05:00.000+00:00", internal=True, username="lbianchi",
            ),
        ],
        history=[
            StatusChange("open", "student", "2027-01-10T09:00:00.000+00:00"),
            StatusChange("closed", "lbianchi", "2027-01-12T10:00:00.000+00:00"),
        ],
        conversation_id="conversation-of-giulia-1",
        references="000001",
        rating=Rating(score=2, comment="Giulia: troppo lento", at="2027-01-12T11:00:00.000+00:00"),
        outbox=[
            OutboxMail(
                "x1", "giulia.verdi@example.org", "Ticket 123456", "Cara Giulia, ...",
                "<p>Cara Giulia, ...</p>", "opened", next_try_at="2027-01-12T10:00:00.000+00:00",
            )
        ],
    )


def test_anonymising_empties_the_personal_fields_and_keeps_every_other_one() -> None:
    ticket = rich_ticket("123456")
    before = ticket.to_dict()

    assert anonymise(ticket, AT) is True

    expected = dict(before)
    expected.update(
        name="", email="", phone="", outbox=[], conversation_id=None, anonymised_at=AT,
        purge={"attachments": ["a" * 32], "conversations": ["conversation-of-giulia-1"]},
        rating={**before["rating"], "comment": ""},  # the score stays, for the figures
    )
    expected["messages"] = [
        {**m, "body": "", "attachments": [], "name": "" if m["author"] == "student" else m["name"]}
        for m in before["messages"]
    ]
    assert ticket.to_dict() == expected
    # A second time changes nothing (the sweep may meet a ticket an erasure just did).
    assert anonymise(ticket, stamp(NOW + timedelta(days=1))) is False
    assert ticket.to_dict() == expected


def test_anonymising_drops_the_fields_a_newer_version_wrote() -> None:
    # During a restart one by one an older process may anonymise a ticket a newer one wrote:
    # a field it cannot tell from personal data goes with the rest.
    ticket = Ticket.from_dict({**rich_ticket("123457").to_dict(), "codice_fiscale": "RSSMRA"})
    assert ticket.to_dict()["codice_fiscale"] == "RSSMRA"
    assert anonymise(ticket, AT) is True
    assert "codice_fiscale" not in ticket.to_dict()


def test_a_summary_of_a_newer_version_reads_without_its_new_fields() -> None:
    summary = TicketSummary.of(rich_ticket("123458"))
    assert TicketSummary.from_dict({**asdict(summary), "priority": 2}) == summary


async def test_an_anonymised_ticket_is_counted_but_found_by_nothing(place: Place) -> None:
    storage = await place.open()
    try:
        kept = await storage.tickets.create(build(email="giulia.verdi@example.org"))
        gone = await storage.tickets.create(rich_ticket)
        before = await storage.tickets.summary(gone.number)
        assert await place.holds("Cara Giulia")  # in the outbox: a row of its own in PostgreSQL
        assert await place.holds("troppo lento")
        await storage.tickets.update(gone.number, lambda t: anonymise(t, AT), touch=False)

        async def check(storage: Backend) -> None:
            summary = await storage.tickets.summary(gone.number)
            assert summary is not None and before is not None
            assert summary.anonymised and summary.name == summary.email == ""
            # the figures' fields are the same as before
            for field in ("status", "topic", "subtopic", "created_at", "updated_at", "operator"):
                assert getattr(summary, field) == getattr(before, field)
            assert {s.number for s in await storage.tickets.summaries()} == {
                kept.number, gone.number
            }
            assert await storage.tickets.count() == 2
            assert [
                s.number for s in await storage.tickets.of_email("Giulia.Verdi@example.org")
            ] == [kept.number]
            assert await storage.tickets.of_email("") == []
            found = await storage.tickets.queue(QueueQuery(text="giulia"))
            assert [s.number for s in found.tickets] == [kept.number]
            assert await storage.tickets.purging() == [gone.number]
            assert await storage.tickets.conversations_in_use() == set()
            assert await storage.tickets.attachments_in_use() == set()
            # its mail went with the rest: nothing left to send, nor to read
            assert await storage.outbox.claim("w", stamp(NOW), 10, 60) == []
            for text in ("Verdi Giulia", "3401112233", "ISEE", "Gentile", "Cara Giulia",
                         "troppo lento"):
                assert not await place.holds(text), text
            # the rating still counts in the figures
            assert await storage.tickets.scores_between("2027-01-01", "2028-01-01") == {2: 1}

        await check(storage)
    finally:
        await storage.close()
    storage = await place.open()  # the folder's index is rebuilt from the files
    try:
        await check(storage)
        await storage.tickets.update(gone.number, lambda t: setattr(t, "purge", None))
        assert await storage.tickets.purging() == []
    finally:
        await storage.close()


async def test_the_number_of_an_anonymised_ticket_is_never_drawn_again(
    storage: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = await storage.tickets.create(rich_ticket)
    await storage.tickets.update(gone.number, lambda t: anonymise(t, AT), touch=False)
    draws = iter([int(gone.number), int(gone.number), 42])
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(draws))
    new = await storage.tickets.create(build())
    assert new.number == "000042"


async def test_the_stores_know_which_chats_and_files_tickets_use(storage: Backend) -> None:
    first = await storage.tickets.create(rich_ticket)
    await storage.tickets.create(build(conversation_id="another-conversation-2"))
    assert await storage.tickets.conversations_in_use() == {
        "conversation-of-giulia-1", "another-conversation-2"
    }
    assert await storage.tickets.conversations_in_use(
        ["another-conversation-2", "nobodys-conversation-3"]
    ) == {"another-conversation-2"}
    assert await storage.tickets.conversations_in_use([]) == set()
    assert await storage.tickets.attachments_in_use() == {"a" * 32}
    await storage.tickets.update(first.number, lambda t: t.messages.clear())
    assert await storage.tickets.attachments_in_use() == set()


async def test_a_conversation_is_deleted_for_good_and_briefs_list_the_rest(
    storage: Backend, place: Place
) -> None:
    await storage.conversations.save(
        Conversation(
            id="conversation-of-giulia-1",
            step="email",
            slots={"email": "Giulia.Verdi@Example.org"},
            transcript=[{"id": "e1", "from": "student", "kind": "text", "text": "ciao"}],
            uploads=[{"id": "b" * 32, "filename": "x.pdf", "size": 3, "content_type": "x"}],
        )
    )
    await storage.conversations.save(Conversation(id="conversation-empty-22", step="welcome"))
    briefs = sorted(await storage.conversations.briefs(), key=lambda b: b.id)
    assert [(b.id, b.emails, b.uploads) for b in briefs] == [
        ("conversation-empty-22", (), ()),
        ("conversation-of-giulia-1", ("giulia.verdi@example.org",), ("b" * 32,)),
    ]
    saved = await storage.conversations.get("conversation-of-giulia-1")
    assert saved is not None and briefs[1].updated_at == saved.updated_at
    assert await place.holds("Giulia.Verdi@Example.org")
    await storage.conversations.delete("conversation-of-giulia-1")
    await storage.conversations.delete("conversation-of-giulia-1")  # twice is fine
    await storage.conversations.delete("../../etc/passwd")  # never a path
    assert not await place.holds("Giulia.Verdi@Example.org")
    assert await storage.conversations.get("conversation-of-giulia-1") is None
    assert [b.id for b in await storage.conversations.briefs()] == ["conversation-empty-22"]


async def stored_file(storage: Backend, content: bytes = b"%PDF-1.4") -> str:
    async with storage.attachments.receive() as upload:
        await upload.write(content)
        return await upload.commit()


async def test_uploads_are_listed_by_when_they_were_stored(
    storage: Backend, place: Place
) -> None:
    old, new = await stored_file(storage), await stored_file(storage)
    await place.date_attachment(old, NOW - timedelta(days=31))
    await place.date_attachment(new, NOW - timedelta(days=29))
    assert await storage.attachments.stored_before(NOW - timedelta(days=30)) == [old]
    assert await storage.attachments.stored_before(NOW) == sorted([old, new])


async def test_faq_events_forget_a_chat_and_old_days(place: Place) -> None:
    await place.put_faq_events([
        FaqEvent("no_match", query, "it", conversation_id=chat, at=f"{day}T10:00:00.000+00:00")
        for day, chat, query in (
            ("2028-05-31", "mine-conversation-1", "sono Giulia, ISEE 9000"),
            ("2028-05-31", "other-chat-2", "rate"),
            ("2028-06-01", "other-chat-2", "scadenze"),
            ("2028-06-01", "mine-conversation-1", "isee"),
            ("2028-06-01", None, "senza chat"),
        )
    ])
    storage = await place.open()
    try:
        # Just recorded (the folder queues it for its next flush), it is forgotten too.
        await storage.faq_events.append(
            FaqEvent("no_match", "appena scritto", "it", conversation_id="mine-conversation-1")
        )
        assert await storage.faq_events.forget_conversations({"mine-conversation-1"}) == 3
        assert await storage.faq_events.forget_conversations({"mine-conversation-1"}) == 0
        assert await storage.faq_events.forget_conversations(set()) == 0
    finally:
        await storage.close()
    for typed in ("sono Giulia", "appena scritto"):
        assert not await place.holds(typed), typed
    storage = await place.open()
    try:
        assert sorted(e.query for e in await storage.faq_events.recent()) == [
            "", "", "", "rate", "scadenze", "senza chat"
        ]
        # Past the retention: 2028-05-31, and today (years before)
        assert await storage.faq_events.drop_before("2028-06-01") == 2
        assert not await place.holds("rate")
        assert [e.query for e in await storage.faq_events.recent()] == [
            "senza chat", "", "scadenze"
        ]
        assert await storage.faq_events.drop_before("2028-06-01") == 0
    finally:
        await storage.close()
    again = await place.open()
    try:
        assert sorted((e.query, e.conversation_id) for e in await again.faq_events.recent()) == [
            ("", "mine-conversation-1"), ("scadenze", "other-chat-2"), ("senza chat", None)
        ]
        assert isinstance((await again.faq_events.recent())[0], FaqEvent)
    finally:
        await again.close()


def date_back(path: Path, moment: datetime) -> None:
    os.utime(path, (moment.timestamp(), moment.timestamp()))


async def test_check_data_reports_what_is_past_its_time(data_dir: Path) -> None:
    now = datetime.now(UTC)
    async with await Storage.open(data_dir) as storage:
        old_closed = await storage.tickets.create(
            build(status="closed", updated_at=stamp(now - timedelta(days=732)),
                  conversation_id="chat-of-a-ticket-1")
        )
        await storage.tickets.create(  # closed, but within the retention and the sweep's day
            build(status="closed", updated_at=stamp(now - timedelta(days=730, hours=12)))
        )
        await storage.tickets.create(  # open for ages: a ticket is kept until it is closed
            build(status="open", updated_at=stamp(now - timedelta(days=900)))
        )
        halfway = await storage.tickets.create(rich_ticket)
        await storage.tickets.update(halfway.number, lambda t: anonymise(t, AT), touch=False)
        for chat_id in ("chat-of-a-ticket-1", "abandoned-chat-22", "recent-chat-number-3"):
            await storage.conversations.save(Conversation(id=chat_id, step="welcome"))
        orphan, fresh = await stored_file(storage), await stored_file(storage)
    for chat_id in ("chat-of-a-ticket-1", "abandoned-chat-22"):
        path = storage.layout.conversation(chat_id)
        record = json.loads(path.read_text())
        record["conversation"]["1"]["updated_at"] = stamp(now - timedelta(days=40))
        path.write_text(json.dumps(record))
    date_back(storage.layout.attachment(orphan), now - timedelta(days=32))
    date_back(storage.layout.attachment(fresh), now - timedelta(days=30, hours=12))

    problems = check_data(data_dir)

    layout = storage.layout
    assert sorted(problems) == sorted([
        f"{layout.ticket(old_closed.number)}: closed and unchanged since "
        f"{old_closed.updated_at}: past the 730-day retention, and not anonymised",
        f"{layout.ticket(halfway.number)}: anonymised, but 2 of its files are still to delete",
        f"{layout.conversation('abandoned-chat-22')}: a chat untouched since "
        f"{stamp(now - timedelta(days=40))} that led to no ticket: past 30 days, and not deleted",
        f"{layout.attachment(orphan)}: an upload stored "
        f"{stamp(datetime.fromtimestamp((now - timedelta(days=32)).timestamp(), UTC))} that no "
        "ticket or chat uses: past 30 days, and not deleted",
    ])
    # A shorter retention makes the other closed ticket overdue too.
    assert len(check_data(data_dir, retention_days=700)) == 5
