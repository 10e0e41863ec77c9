"""The daily sweep at a chosen "now", on a data folder and on PostgreSQL: exactly what goes and
what stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from storage import Conversation, FaqEvent, Operator, Storage, TicketSummary, check_data
from storage.retention import stamp
from tests.conftest import Server
from tests.storage.conftest import Place
from tests.web.conftest import open_ticket
from web.desk.retention import SweepReport
from web.desk.tickets import Desk
from web.http.keys import SERVICES

from .retention_fixtures import (
    chat,
    retention,
    stored_file,
    student_ticket,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture(params=["tinydb", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return Place(request.param, tmp_path / "data", url)


async def test_the_sweep_at_a_given_now(place: Place) -> None:
    mail_folder = place.data_dir / "outbox"
    # What students typed to the assistant: the day past the retention goes.
    await place.put_faq_events([
        FaqEvent("no_match", "isee", "it", at=stamp(day)) for day in (ago(731), ago(729))
    ])
    storage = await place.open()
    try:
        # A closed ticket past the retention, with its file, its chat (and a file uploaded there
        # but never sent), and its mails written to the outbox folder.
        sent_with, left_in_chat = await stored_file(storage), await stored_file(storage)
        answered_with = await stored_file(storage)  # the form the operator sent back
        await chat(storage, place, "chat-of-the-old-ticket", ago(735),
                   email="giulia@example.org", uploads=(left_in_chat,))
        old = await student_ticket(storage, status="closed", updated=ago(731),
                                   chat_id="chat-of-the-old-ticket", attachment=sent_with,
                                   answered_with=answered_with)
        mail_folder.mkdir(parents=True)
        eml = mail_folder / f"20280530T120000000Z-{old.number}-abc123.eml"
        other_eml = mail_folder / "20280530T120000000Z-999999-abc123.eml"
        eml.write_text("To: giulia@example.org")
        other_eml.write_text("To: someone@example.org")
        # Closed a day short of the retention; open for ages: both stay whole.
        recent = await student_ticket(storage, status="closed", updated=ago(729))
        # an operator's file older than 30 days, on a ticket still open: in use, not abandoned
        still_needed = await stored_file(storage)
        await place.date_attachment(still_needed, ago(40))
        waiting = await student_ticket(storage, status="open", updated=ago(1000),
                                       answered_with=still_needed)
        # Two tickets from one chat: the old one goes, the chat stays with the open one.
        await chat(storage, place, "chat-of-two-tickets", ago(2))
        shared_old = await student_ticket(storage, status="closed", updated=ago(800),
                                          chat_id="chat-of-two-tickets")
        await student_ticket(storage, status="open", updated=ago(2), chat_id="chat-of-two-tickets")
        # Chats that led to no ticket, and uploads nobody uses, either side of 30 days.
        abandoned_upload = await stored_file(storage)
        await chat(storage, place, "abandoned-chat-31", ago(31), uploads=(abandoned_upload,))
        await chat(storage, place, "quiet-chat-of-29-days", ago(29))
        orphan, young_orphan = await stored_file(storage), await stored_file(storage)
        await place.date_attachment(orphan, ago(31))
        await place.date_attachment(young_orphan, ago(29))
    finally:
        await storage.close()
    originals = {t.number: t for t in (recent, waiting)}

    storage = await place.open()
    try:
        sweep = retention(storage, mail_folder)
        report = await sweep.sweep(NOW)

        assert report == SweepReport(finished=0, anonymised=2, chats=1, uploads=1, faq_days=1)
        for number, original in originals.items():
            assert await storage.tickets.get(number) == original
        after = await storage.tickets.get(old.number)
        assert after is not None
        assert (after.name, after.email, after.phone) == ("", "", "")
        assert [(m.author, m.name, m.body, m.attachments) for m in after.messages] == [
            ("student", "", "", []), ("operator", "Laura Bianchi", "", []),
            ("operator", "Laura Bianchi", "", []),
        ]
        assert (after.anonymised_at, after.purge, after.conversation_id) == (stamp(NOW), None, None)
        # What the figures read is untouched: dates, status history, topic, who answered when.
        assert (after.created_at, after.updated_at, after.history, after.topic, after.subtopic) == (
            old.created_at, old.updated_at, old.history, old.topic, old.subtopic
        )
        assert [(m.id, m.at, m.internal) for m in after.messages] == [
            (m.id, m.at, m.internal) for m in old.messages
        ]
        gone_files = {sent_with, answered_with, left_in_chat, abandoned_upload, orphan}
        assert await place.attachment_ids() == {young_orphan, still_needed}
        for attachment_id in gone_files:
            assert await storage.attachments.read(attachment_id) is None
        assert not eml.exists() and other_eml.exists()
        assert (await storage.tickets.get(shared_old.number)).anonymised_at == stamp(NOW)  # type: ignore[union-attr]
        assert sorted(b.id for b in await storage.conversations.briefs()) == [
            "chat-of-two-tickets", "quiet-chat-of-29-days"
        ]
        assert not await place.holds("scrivo da giulia@example.org")  # the old ticket's chat
        assert [e.at for e in await storage.faq_events.recent()] == [stamp(ago(729))]

        audit = [(e.actor, e.action, e.target, e.detail) for e in await storage.audit.recent()]
        assert audit[0] == ("system", "retention.sweep", "", {
            "now": stamp(NOW), "finished": 0, "anonymised": 2, "chats": 1, "uploads": 1,
            "faq_days": 1,
        })
        assert sorted(audit[1:]) == sorted(
            ("system", "ticket.anonymised", n, {"reason": "retention"})
            for n in (old.number, shared_old.number)
        )
        # Nothing is left for a second run, nor for the check.
        assert await sweep.sweep(NOW) == SweepReport(0, 0, 0, 0, 0)
    finally:
        await storage.close()
    if place.database_url is None:
        assert check_data(place.data_dir, now=NOW) == []


async def test_a_day_later_the_next_ticket_goes(tmp_path: Path) -> None:
    async with await Storage.open(tmp_path) as storage:
        ticket = await student_ticket(storage, status="closed", updated=ago(729.5))
        sweep = retention(storage)
        assert (await sweep.sweep(NOW)).anonymised == 0
        assert check_data(tmp_path, now=NOW + timedelta(days=1)) == []  # within the sweep's day
        assert len(check_data(tmp_path, now=NOW + timedelta(days=2))) == 1
        assert (await sweep.sweep(NOW + timedelta(days=1))).anonymised == 1
        assert (await storage.tickets.get(ticket.number)).email == ""  # type: ignore[union-attr]


async def test_a_ticket_reopened_meanwhile_is_not_anonymised(place: Place) -> None:
    """The rule is checked again under the ticket's lock, against the record as it is then."""
    storage = await place.open()
    try:
        ticket = await student_ticket(storage, status="closed", updated=ago(800))
        sweep = retention(storage)

        def reopen(t: object) -> None:
            setattr(t, "status", "open")  # noqa: B010

        # The summary the sweep reads says "closed"; the record says otherwise by then.
        summaries = await storage.tickets.summaries()
        await storage.tickets.update(ticket.number, reopen, touch=False)

        async def stale() -> list[TicketSummary]:
            return summaries

        storage.tickets.summaries = stale  # type: ignore[method-assign]
        assert (await sweep.sweep(NOW)).anonymised == 0
        assert (await storage.tickets.get(ticket.number)).email == "giulia@example.org"  # type: ignore[union-attr]
    finally:
        await storage.close()


async def test_the_servers_sweep_closes_the_door_on_old_tickets(server: Server) -> None:
    """The sweep the server runs daily, at a chosen moment: the student's token and look-up
    stop working, the console no longer lists the ticket, the number stays taken."""
    services = server.app[SERVICES]
    ticket = await open_ticket(server)
    staff = Operator(username="lbianchi", name="Laura Bianchi", role="operator", password_hash="x")
    await Desk(services).set_status(ticket.number, "closed", staff)
    assert services.retention is not None

    report = await services.retention.sweep(datetime.now(UTC) + timedelta(days=731))

    assert report.anonymised == 1
    async with aiohttp.ClientSession(base_url=server.url) as http:
        headers = {"Authorization": f"Bearer {ticket.token}"}
        async with http.get(f"/api/tickets/{ticket.number}", headers=headers) as response:
            assert response.status == 401
        lookup = {"email": ticket.email, "number": ticket.number}
        async with http.post("/api/tickets/lookup", json=lookup) as response:
            assert response.status == 404
    summary = await services.storage.tickets.summary(ticket.number)
    assert summary is not None and summary.anonymised and summary.status == "closed"


async def test_the_sweep_takes_a_student_s_words_out_of_a_chat_shared_with_another(
    place: Place,
) -> None:
    """A shared computer: Mario's ticket, "ricomincia", Paola's ticket, from one chat. When
    Mario's passes the retention, his words go with it; Paola's ticket loses the chat."""
    storage = await place.open()
    try:
        old = await student_ticket(storage, status="closed", updated=ago(800),
                                   email="mario@example.org", chat_id="chat-of-two-students")
        other = await student_ticket(storage, status="open", updated=ago(2),
                                     email="paola@example.org", chat_id="chat-of-two-students")
        opened = [
            {"id": f"t{n}", "from": "bot", "kind": "ticket", "text": "", "at": "",
             "data": {"number": number}}
            for n, number in enumerate((old.number, other.number))
        ]
        said = {"id": "s", "from": "student", "kind": "text", "text": "scrivo da mario@example.org",
                "data": {}, "at": ""}
        await storage.conversations.save(
            Conversation(id="chat-of-two-students", step="done",
                         slots={"email": "paola@example.org"},
                         emails=["mario@example.org", "paola@example.org"],
                         transcript=[said, *opened]),
            durable=True,
        )
    finally:
        await storage.close()
    storage = await place.open()
    try:
        await retention(storage, place.data_dir / "outbox").sweep(NOW)
        assert await storage.conversations.get("chat-of-two-students") is None
        kept = await storage.tickets.get(other.number)
        assert kept is not None and kept.email == "paola@example.org"
        assert kept.conversation_id is None
        assert not await place.holds("mario@example.org")
    finally:
        await storage.close()
