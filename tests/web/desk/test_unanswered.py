"""Tickets the student left unanswered: with HELPDESK_AWAITING_CLOSE_DAYS set, the daily run
closes those that have waited for their student longer, and tells the student why; a student who
answered, or an operator who wrote again, keeps the ticket open."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from storage import Message, Operator, StatusChange, Ticket
from storage.models import TicketStatus
from tests.conftest import Server, make_config, start_server
from tests.web.desk.test_mail import eventually
from web.config import Config, ConfigError
from web.desk.office_hours import OFFICE_TZ
from web.desk.tickets import Desk
from web.http.keys import SERVICES

DAYS = 14
NOW = datetime.now(UTC)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat(timespec="milliseconds")


@pytest.fixture
async def server(data_dir: Path) -> AsyncIterator[Server]:
    running = await start_server(make_config(data_dir, awaiting_close_days=DAYS))
    try:
        yield running
    finally:
        await running.stop()


async def put(
    server: Server,
    *,
    asked: float,
    status: TicketStatus = "awaiting_user",
    replied: float | None = None,
    lang: str = "it",
) -> str:
    """A ticket opened 40 days ago; the operator's reply `replied` days ago and the status
    set `asked` days ago."""

    def build(number: str) -> Ticket:
        messages = [Message(id="s", author="student", name="Rossi Mario", body="?", at=ago(40))]
        if replied is not None:
            messages.append(Message(id="r", author="operator", name="Laura", body="Il libretto?",
                                    username="lbianchi", at=ago(replied)))
        return Ticket(
            number=number, email=f"s{number}@example.org", name="Rossi Mario",
            phone="+393331234567", topic="immatricolazioni", subtopic="documenti", lang=lang,
            status=status, created_at=ago(40), messages=messages,
            history=[StatusChange("open", "student", ago(40)), StatusChange(status, "lbianchi",
                                                                              ago(asked))],
        )

    return (await server.app[SERVICES].storage.tickets.create(build)).number


async def test_a_ticket_the_student_left_unanswered_is_closed_with_a_mail_that_says_why(
    server: Server,
) -> None:
    services = server.app[SERVICES]
    storage = services.storage
    waited = await put(server, asked=15, replied=15)
    english = await put(server, asked=20, replied=20, lang="en")
    # asked 13 days ago: not yet
    recent = await put(server, asked=13, replied=13)
    # asked 20 days ago, but the operator wrote again 2 days ago: the wait starts again
    reminded = await put(server, asked=20, replied=2)
    # set to "awaiting" 3 days ago, after a reply of 30 days ago: the status change counts
    restated = await put(server, asked=3, replied=30)
    # open for 30 days: the office owes the answer, nobody closes it for the student
    owed = await put(server, asked=30, status="open")
    untouched = {n: (await storage.tickets.get(n)).updated_at
                 for n in (recent, reminded, restated, owed)}

    assert services.unanswered is not None
    assert await services.unanswered.sweep(NOW) == 2

    closed = await storage.tickets.get(waited)
    assert closed.status == "closed"
    assert closed.history[-1].by == "system"
    [mail] = closed.outbox
    assert mail.kind == "unanswered"
    assert mail.subject == f"[Ticket {waited}] Ticket chiuso: non abbiamo ricevuto una tua risposta"
    assert (
        f"il tuo ticket {waited} è stato chiuso: attendeva una tua risposta da più di\n"
        f"{DAYS} giorni"
    ) in mail.text
    [mail] = (await storage.tickets.get(english)).outbox
    assert mail.subject == f"[Ticket {english}] Ticket closed: no answer from you"
    assert f"it had been waiting for an answer from you\nfor more than {DAYS} days" in mail.text
    for number, updated_at in untouched.items():
        ticket = await storage.tickets.get(number)
        assert (ticket.updated_at, ticket.outbox) == (updated_at, []), number
    # the audit says who closed it and why
    entries = [e for e in await storage.audit.recent(50) if e.target == waited]
    assert [(e.actor, e.detail) for e in entries] == [
        ("system", {"status": "closed", "reason": "unanswered"})
    ]

    # the student reads it closed
    token = services.signer.issue(waited)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/tickets/{waited}",
                 headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert (await r.json())["status"] == "closed"

    # half a day on, nothing more to close; two days on, the one asked 13 days ago
    assert await services.unanswered.sweep(NOW + timedelta(hours=12)) == 0
    assert await services.unanswered.sweep(NOW + timedelta(days=2)) == 1
    assert (await storage.tickets.get(recent)).status == "closed"


async def test_without_the_setting_no_ticket_is_closed_for_the_student(data_dir: Path) -> None:
    running = await start_server(make_config(data_dir))
    try:
        assert running.app[SERVICES].unanswered is None
    finally:
        await running.stop()


@pytest.mark.parametrize(("value", "says"), [("-1", "at least 0"), ("due settimane", "whole")])
def test_a_setting_it_cannot_use_is_refused(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=f"HELPDESK_AWAITING_CLOSE_DAYS.*{says}"):
        Config.from_env({"HELPDESK_AWAITING_CLOSE_DAYS": value})


async def test_each_mail_that_starts_the_wait_says_when_the_ticket_will_be_closed(
    server: Server,
) -> None:
    """Told only "l'assistenza riprende appena rispondi", a student who came back on the
    fifteenth day found the ticket closed "because you no longer need help": the mails that
    leave the ticket waiting for them, as written to the outbox, say how long it waits."""
    services = server.app[SERVICES]
    desk = Desk(services)
    laura = Operator(username="lbianchi", name="Laura Bianchi", role="operator", password_hash="x")
    asked = await put(server, asked=1, status="open")
    reminded = await put(server, asked=1, lang="en")
    answered = await put(server, asked=1, status="open")
    await desk.operator_reply(asked, laura, "Il libretto?", internal=False, then="awaiting_user")
    await desk.operator_reply(reminded, laura, "The receipt?", internal=False)
    await desk.operator_reply(answered, laura, "Fatto.", internal=False)

    outbox = server.config.data_dir / "outbox"
    await eventually(lambda: len(list(outbox.glob("*.eml"))) == 3)

    def parts(number: str) -> list[str]:
        [path] = outbox.glob(f"*-{number}-*.eml")
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        return [str(mail.get_body((kind,)).get_content()) for kind in ("plain", "html")]

    for text in parts(asked):
        assert f"Se non rispondi entro {DAYS} giorni, chiuderemo il ticket" in text
    for text in parts(reminded):
        assert f"If you do not answer within {DAYS} days, we will close the ticket" in text
    # a ticket that waits for the office is never closed for the student
    for text in parts(answered):
        assert "chiuderemo" not in text


async def test_the_student_reads_until_when_an_awaiting_ticket_stays_open(server: Server) -> None:
    services = server.app[SERVICES]
    awaiting = await put(server, asked=3, replied=3)
    owed = await put(server, asked=3, status="open")

    async def closes_at(number: str) -> object:
        token = services.signer.issue(number)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}/api/tickets/{number}",
                     headers={"Authorization": f"Bearer {token}"}) as r,
        ):
            return (await r.json())["closes_at"]

    assert await closes_at(awaiting) == ago(3 - DAYS)
    assert await closes_at(owed) is None


async def test_a_ticket_past_its_wait_but_not_yet_closed_reads_no_date_gone_by(
    server: Server,
) -> None:
    """The daily run closes it up to a day after its wait ran out: meanwhile the student must
    not read "Se non rispondi entro" a day already past, but that it may close any moment."""
    services = server.app[SERVICES]
    overdue = await put(server, asked=DAYS + 2, replied=DAYS + 2)
    token = services.signer.issue(overdue)
    before = datetime.now(UTC)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/tickets/{overdue}",
                 headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        body = await r.json()
    assert body["status"] == "awaiting_user"
    assert datetime.fromisoformat(body["closes_at"]) >= before - timedelta(milliseconds=1)


@pytest.mark.parametrize("at", ["2026-12-06T10:00:00", "6 dicembre"])
async def test_a_hand_edited_stamp_leaves_the_ticket_readable(server: Server, at: str) -> None:
    """A stamp without its zone, or no stamp at all, must not make the student's ticket a 500:
    the page says no closing day instead."""
    services = server.app[SERVICES]

    def build(number: str) -> Ticket:
        return Ticket(
            number=number, email=f"s{number}@example.org", name="Rossi Mario",
            phone="+393331234567", topic="immatricolazioni", subtopic="documenti", lang="it",
            status="awaiting_user", created_at=ago(40),
            messages=[Message(id="s", author="student", name="Rossi Mario", body="?",
                              at=ago(40))],
            history=[StatusChange("open", "student", ago(40)),
                     StatusChange("awaiting_user", "lbianchi", at)],
        )

    number = (await services.storage.tickets.create(build)).number
    token = services.signer.issue(number)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/tickets/{number}",
                 headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert r.status == 200
        assert (await r.json())["closes_at"] is None


async def test_a_ticket_stays_open_through_the_day_the_student_was_given(server: Server) -> None:
    """Asked at 9:00 on 7 December, the student reads "Se non rispondi entro lunedì 21
    dicembre": the daily run, whatever hour it comes at, must not close the ticket during that
    day, only once it is over in Perugia; on the day the clocks go back as on any other."""
    services = server.app[SERVICES]
    assert services.unanswered is not None

    def days_ago(moment: datetime) -> float:
        return (NOW - moment) / timedelta(days=1)

    for asked, last_day in [
        (datetime(2026, 12, 7, 9, 0, tzinfo=OFFICE_TZ), datetime(2026, 12, 21, tzinfo=OFFICE_TZ)),
        # 23:30 in summer time; 14 x 24 hours later it is 22:30 in winter time, the same day
        (datetime(2026, 10, 11, 23, 30, tzinfo=OFFICE_TZ),
         datetime(2026, 10, 25, tzinfo=OFFICE_TZ)),
    ]:
        number = await put(server, asked=days_ago(asked), replied=days_ago(asked))
        ticket = await services.storage.tickets.get(number)
        if last_day > NOW:  # the day the student reads (one gone by reads "now")
            closes_at = Desk(services).closes_at(ticket)
            assert closes_at is not None
            assert datetime.fromisoformat(closes_at).astimezone(OFFICE_TZ).date() == last_day.date()
        late_that_day = last_day.replace(hour=23, minute=50)
        assert await services.unanswered.sweep(late_that_day.astimezone(UTC)) == 0
        assert (await services.storage.tickets.get(number)).status == "awaiting_user"
        next_morning = last_day + timedelta(days=1, minutes=10)
        assert await services.unanswered.sweep(next_morning.astimezone(UTC)) == 1
        assert (await services.storage.tickets.get(number)).status == "closed"
