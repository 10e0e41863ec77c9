"""The wait (CONTRACT.md section 8): a waiting ticket's place in the queue and the expected wait,
in GET /api/tickets/{number} and live, as the office answers the tickets ahead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from storage import Message, Operator, Ticket
from tests.conftest import Server, make_config, start_server
from tests.web.backends import on_both_backends  # noqa: F401 - `server`, twice
from tests.web.conftest import Opened, Recorder, StudentSocket, open_ticket
from web.desk.office_hours import OFFICE_TZ, WEEKDAYS, OfficeHours
from web.desk.tickets import Desk
from web.http.keys import SERVICES

LAURA = Operator(username="lbianchi", name="Laura Bianchi", role="operator", password_hash="x")


async def queue(server: Server, ticket: Opened) -> Any:
    headers = {"Authorization": f"Bearer {ticket.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/tickets/{ticket.number}", headers=headers) as r,
    ):
        assert r.status == 200
        return (await r.json())["queue"]


async def desk(server: Server) -> Desk:
    await server.app[SERVICES].storage.operators.put(LAURA)
    return Desk(server.app[SERVICES])


async def test_the_place_moves_up_as_the_tickets_ahead_are_answered(server: Server) -> None:
    first, second, third = [await open_ticket(server) for _ in range(3)]
    # no ticket answered in the last 7 days: the place alone, no invented figure
    assert [await queue(server, t) for t in (first, second, third)] == [
        {"position": n, "expected_wait_minutes": None} for n in (1, 2, 3)
    ]
    office = await desk(server)
    await office.operator_reply(first.number, LAURA, "nota: controllare", internal=True)
    assert await queue(server, first) == {"position": 1, "expected_wait_minutes": None}

    await office.operator_reply(first.number, LAURA, "Eccomi.", internal=False)
    assert await queue(server, first) is None
    # answered within seconds: the estimate says at least a minute
    assert await queue(server, second) == {"position": 1, "expected_wait_minutes": 1}
    assert await queue(server, third) == {"position": 2, "expected_wait_minutes": 1}

    # closed without an answer, it leaves the queue too; an answered ticket never re-enters it
    await office.set_status(second.number, "closed", LAURA)
    assert await queue(server, third) == {"position": 1, "expected_wait_minutes": 1}
    await office.set_status(first.number, "closed", LAURA)
    await office.set_status(first.number, "open", LAURA)
    assert await queue(server, first) is None
    assert await queue(server, third) == {"position": 1, "expected_wait_minutes": 1}


async def test_the_estimate_is_the_median_first_answer_of_the_last_7_days(server: Server) -> None:
    storage = server.app[SERVICES].storage
    now = datetime.now(UTC)
    for created, after in (
        (timedelta(days=1), timedelta(minutes=30)),
        (timedelta(days=2), timedelta(minutes=90)),
        (timedelta(days=3), timedelta(minutes=150)),
        # answered 8 days ago: too old to say how fast the office answers now
        (timedelta(days=9), timedelta(minutes=1000)),
    ):
        await storage.tickets.create(answered_at(now - created, after))
    ticket, second = await open_ticket(server), await open_ticket(server)
    assert await queue(server, ticket) == {"position": 1, "expected_wait_minutes": 90}
    # answers hours apart tell no pace: each ticket ahead counts as a usual wait
    assert await queue(server, second) == {"position": 2, "expected_wait_minutes": 180}


def answered_at(start: datetime, after: timedelta) -> Any:
    """A ticket created at start and first answered `after` later."""

    def build(number: str) -> Ticket:
        stamp = (start + after).isoformat(timespec="milliseconds")
        return Ticket(
            number=number, email=f"x{number}@example.org", name="Rossi Mario",
            phone="+393331234567", topic="immatricolazioni", subtopic="scadenze",
            created_at=start.isoformat(timespec="milliseconds"),
            messages=[Message(id="r", author="operator", name="Laura", body="ok", at=stamp)],
        )

    return build


def waiting(number: str) -> Ticket:
    return Ticket(number=number, email=f"w{number}@example.org", name="Rossi Mario",
                  phone="+393331234567", topic="immatricolazioni", subtopic="scadenze")


async def test_a_later_place_waits_longer_at_the_office_s_pace(server: Server) -> None:
    storage = server.app[SERVICES].storage
    yesterday = datetime.now(UTC) - timedelta(days=1)
    # answered 8 days ago: too old to tell the pace, so still no figure
    await storage.tickets.create(answered_at(yesterday - timedelta(days=7), timedelta(minutes=5)))
    first = await open_ticket(server)
    for _ in range(28):
        await storage.tickets.create(waiting)
    last = await open_ticket(server)
    assert await queue(server, first) == {"position": 1, "expected_wait_minutes": None}
    assert await queue(server, last) == {"position": 30, "expected_wait_minutes": None}

    # yesterday, ten tickets each answered 10 minutes after it arrived, one every 2 minutes,
    # then, after the night, two more the same way
    for i in range(10):
        start = yesterday + timedelta(minutes=2 * i)
        await storage.tickets.create(answered_at(start, timedelta(minutes=10)))
    for i in range(2):
        start = yesterday + timedelta(hours=14, minutes=2 * i)
        await storage.tickets.create(answered_at(start, timedelta(minutes=10)))
    # the next one waits the usual 10 minutes; the 30th, 30 answers at one each 2 minutes (the
    # night between is no part of the pace)
    assert await queue(server, first) == {"position": 1, "expected_wait_minutes": 10}
    assert await queue(server, last) == {"position": 30, "expected_wait_minutes": 60}


async def test_a_quiet_week_tells_no_slow_pace(server: Server) -> None:
    # One ticket every 20 minutes, each answered 2 minutes after it came: the office answers
    # in 2 minutes, and the 20 between answers are only how long until the next ticket came.
    storage = server.app[SERVICES].storage
    start = datetime.now(UTC) - timedelta(days=1)
    for i in range(20):
        await storage.tickets.create(
            answered_at(start + timedelta(minutes=20 * i), timedelta(minutes=2))
        )
    tickets = [await open_ticket(server) for _ in range(3)]
    assert [(await queue(server, t))["expected_wait_minutes"] for t in tickets] == [2, 4, 6]


async def connect(server: Server, socket: Recorder) -> None:
    await socket.client.connect(server.url, namespaces=["/chat"], transports=["websocket"],
                                headers={"Origin": server.url}, wait_timeout=5)


async def test_the_watching_students_hear_only_of_their_own_place_changing(
    server: Server, sockets: list[Recorder]
) -> None:
    first, second, third = [await open_ticket(server) for _ in range(3)]
    office = await desk(server)

    page = StudentSocket()  # the ticket page of the third
    sockets.append(page)
    view = await page.watch(server, third.token)
    assert view["queue"] == {"position": 3, "expected_wait_minutes": None}
    chat = StudentSocket()  # the chat that has just opened the second
    sockets.append(chat)
    await connect(server, chat)
    await chat.emit("watch_wait", {"token": second.token})
    assert await chat.next("wait") == {
        "number": second.number, "queue": {"position": 2, "expected_wait_minutes": None}
    }

    await office.operator_reply(first.number, LAURA, "Eccomi.", internal=False)
    assert await page.next("wait") == {
        "number": third.number, "queue": {"position": 2, "expected_wait_minutes": 1}
    }
    assert await chat.next("wait") == {
        "number": second.number, "queue": {"position": 1, "expected_wait_minutes": 1}
    }
    # a note, or a ticket joining the end of the queue, moves nobody: nothing is sent
    await office.operator_reply(second.number, LAURA, "nota", internal=True)
    await open_ticket(server)
    await page.nothing("wait")
    await chat.nothing("wait")
    # the chat only watches the wait: it never receives the ticket itself
    assert not any(name == "ticket" for name, _ in chat.seen)

    await office.operator_reply(second.number, LAURA, "Ecco.", internal=False)
    assert await chat.next("wait") == {"number": second.number, "queue": None}
    assert (await page.next("wait"))["queue"]["position"] == 1


async def test_watching_the_wait_needs_the_ticket_token(
    server: Server, sockets: list[Recorder]
) -> None:
    ticket = await open_ticket(server)
    socket = StudentSocket()
    sockets.append(socket)
    await connect(server, socket)
    for payload, code in (
        ({"token": "nope"}, "unauthorized"),
        ({"token": ticket.token + "x"}, "unauthorized"),
        ({}, "bad_request"),  # not the event's shape: refused before any handler
        ("x", "bad_request"),
    ):
        await socket.emit("watch_wait", payload)
        error = await socket.next("error")
        assert error["code"] == code
    assert server.app[SERVICES].waits.watched() == 0
    await socket.emit("watch_wait", {"token": ticket.token})
    await socket.next("wait")
    assert server.app[SERVICES].waits.watched() == 1
    await socket.close()  # the server hears of it a moment later
    for _ in range(50):
        if server.app[SERVICES].waits.watched() == 0:
            break
        await asyncio.sleep(0.05)
    assert server.app[SERVICES].waits.watched() == 0


def closed_today(hours: str) -> tuple[OfficeHours, datetime]:
    """An office open at `hours` every day but today's weekday, so closed now, and the start of
    its last opening before today (a public holiday is no opening)."""
    now = datetime.now(OFFICE_TZ)
    days = ",".join(d for i, d in enumerate(WEEKDAYS) if i != now.weekday())
    office = OfficeHours.parse(f"{days} {hours}")
    last_open = next(
        spans[0][0]
        for back in range(1, 8)
        if (spans := office.spans((now - timedelta(days=back)).date()))
    )
    return office, last_open


async def test_with_the_office_s_hours_the_queue_says_when_it_reopens(data_dir: Path) -> None:
    # the last morning it was open, a ticket answered in 5 minutes
    office, last_open = closed_today("09:00-13:00")
    now = datetime.now(OFFICE_TZ)
    server = await start_server(make_config(data_dir, office_hours=office))
    try:
        storage = server.app[SERVICES].storage
        await storage.tickets.create(answered_at(last_open, timedelta(minutes=5)))
        queue_now = await queue(server, await open_ticket(server))
    finally:
        await server.stop()
    assert queue_now["office"]["open"] is False
    opens = datetime.fromisoformat(queue_now["office"]["opens_at"]).astimezone(OFFICE_TZ)
    assert opens.time() == time(9, 0) and now < opens < now + timedelta(days=7)
    # five working minutes after it reopens, counted on the clock from now
    expected = datetime.fromisoformat(queue_now["expected_at"])
    assert expected == opens + timedelta(minutes=5)
    minutes = (expected - now).total_seconds() / 60
    assert abs(queue_now["expected_wait_minutes"] - minutes) <= 1


async def test_with_the_office_s_hours_time_passing_alone_tells_the_students_nothing(
    data_dir: Path, sockets: list[Recorder]
) -> None:
    """The clock moves the expected moment (open) or the minutes to it (closed) at every look:
    neither changes what the student reads, so no `wait` event goes out (the widget would
    read its live region out again every 10 s); the office closing, and the day turning (the
    answer "domani" becomes "oggi"), do."""
    office = OfficeHours.parse("mon-fri 09:00-13:00")
    thursday = datetime(2026, 12, 3, 10, 0, tzinfo=OFFICE_TZ)
    server = await start_server(make_config(data_dir, office_hours=office))
    try:
        services = server.app[SERVICES]
        await services.waits.stop()  # only this test's moments, not the real clock's looks
        await services.storage.tickets.create(
            answered_at(thursday - timedelta(days=1), timedelta(minutes=5))
        )
        page = StudentSocket()
        sockets.append(page)
        await page.watch(server, (await open_ticket(server)).token)
        moved = services.waits.moved
        assert await moved(thursday) == 1  # the view was told on today's clock
        assert await moved(thursday + timedelta(seconds=10)) == 0
        assert await moved(thursday + timedelta(minutes=5)) == 0
        evening = thursday.replace(hour=20)
        assert await moved(evening) == 1  # closed: it reopens tomorrow
        assert await moved(evening + timedelta(seconds=10)) == 0
        assert await moved(evening + timedelta(minutes=5)) == 0
        assert await moved(evening + timedelta(hours=4, minutes=30)) == 1  # tomorrow is today
    finally:
        await server.stop()


async def test_a_ticket_opened_while_the_office_is_closed_gets_a_mail_that_says_so(
    data_dir: Path,
) -> None:
    office, _ = closed_today("09:00-13:00")
    server = await start_server(make_config(data_dir, office_hours=office))
    try:
        ticket = await open_ticket(server)
        stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    finally:
        await server.stop()
    assert stored is not None
    [opened] = stored.outbox
    assert "L'ufficio ora è chiuso e riapre " in opened.text
    reopens = office.opens_at(datetime.now(UTC))
    assert reopens is not None
    assert f" alle {reopens.astimezone(OFFICE_TZ).hour}:00 (ora italiana)" in opened.text
