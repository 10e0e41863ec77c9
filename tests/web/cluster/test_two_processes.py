"""Two real `python -m web` processes on one Redis, behind haproxy (tests/deployment.py): a
student and an operator connected to different processes, and many students behind the proxy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psycopg
import pytest
from redis.asyncio import Redis

from tests.conftest import ROOT, free_port
from tests.deployment import Deployment, WebProcess
from tests.web.conftest import (
    LAURA,
    MARCO,
    Account,
    Console,
    OperatorSocket,
    StudentSocket,
    student_writes,
)
from tests.web.student.test_chat import Student, to_attachment_step


class People:
    """Consoles and sockets of one test, closed at its end."""

    def __init__(self) -> None:
        self.consoles: list[Console] = []
        self.sockets: list[OperatorSocket | StudentSocket] = []

    async def sign_in(self, process: WebProcess, account: Account) -> Console:
        console = Console(process)  # type: ignore[arg-type] # a process has a url too
        self.consoles.append(console)
        status, body = await console.login(account)
        assert status == 200, body
        return console

    async def operator(self, process: WebProcess, account: Account) -> OperatorSocket:
        console = await self.sign_in(process, account)
        socket = OperatorSocket()
        self.sockets.append(socket)
        auth = {"csrf_token": console.csrf}
        await socket.connect(process, cookie=console.cookie_header, auth=auth)  # type: ignore[arg-type]
        return socket

    async def student(self, process: WebProcess, token: str) -> StudentSocket:
        socket = StudentSocket()
        self.sockets.append(socket)
        await socket.watch(process, token)  # type: ignore[arg-type]
        return socket

    async def close(self) -> None:
        for socket in self.sockets:
            if not socket.client.connected:
                continue
            if socket.client.transport() == "polling":
                # python-socketio's client waits for its pending poll, which the server answers
                # at the next ping (25 s): say goodbye and drop the request, as a browser does.
                await socket.client.eio.disconnect(abort=True)
            else:
                await socket.close()
        for console in self.consoles:
            await console.close()


@pytest.fixture
async def people() -> AsyncIterator[People]:
    made = People()
    yield made
    await made.close()


async def test_a_student_on_one_process_and_an_operator_on_the_other_talk_live(
    deployment: Deployment, people: People
) -> None:
    ticket = deployment.ticket()
    student = await people.student(deployment.a, ticket.token)
    laura = await people.operator(deployment.b, LAURA)
    await laura.emit("open_ticket", {"number": ticket.number})
    assert await laura.next("student_online") == {"number": ticket.number, "online": True}

    status, body = await people.consoles[-1].post(
        f"/api/console/tickets/{ticket.number}/messages", {"body": "Può mandarci la ricevuta?"}
    )
    assert status == 201 and body["mailed"] is False  # read live on the other process
    view = await student.next("ticket")
    assert view["messages"][-1]["body"] == "Può mandarci la ricevuta?"

    await student_writes(deployment.a.url, ticket, "Eccola: RF123.")
    by_student = await laura.next("ticket_message", where=lambda m: "RF123" in m["message"]["body"])
    assert by_student["message"]["author"] == "student"


async def test_a_console_on_one_process_sees_who_is_online_on_the_other(
    deployment: Deployment, people: People
) -> None:
    laura = await people.operator(deployment.a, LAURA)
    await people.operator(deployment.b, MARCO)
    # the deployment serves the whole session: a console of an earlier test may still be
    # leaving, so the two are looked for among whoever is online
    both = {LAURA.username, MARCO.username}
    presence = await laura.next(
        "presence", where=lambda p: both <= {o["username"] for o in p["operators"]}
    )
    online = [o["username"] for o in presence["operators"] if o["username"] in both]
    assert online == [LAURA.username, MARCO.username]


async def test_failed_look_ups_alternating_between_the_processes_are_throttled_as_one(
    deployment: Deployment,
) -> None:
    ticket = deployment.ticket()
    statuses = []
    async with aiohttp.ClientSession() as http:
        for attempt in range(12):
            process = deployment.a if attempt % 2 else deployment.b
            async with http.post(
                f"{process.url}/api/tickets/lookup",
                json={"email": "non.sono.io@example.org", "number": ticket.number},
                # a different student's address each time: only the per-number limit (10) bites
                headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
            ) as response:
                statuses.append(response.status)
    assert statuses == [404] * 10 + [429, 429]


async def test_long_polling_students_behind_the_proxy_hear_both_processes(
    deployment: Deployment, people: People
) -> None:
    """Six widgets that only long-poll, through haproxy: the proxy spreads them over both
    processes and keeps each one's requests on its process; a reply from either process
    reaches all six."""
    ticket = deployment.ticket()
    students = []
    for _ in range(6):
        student = StudentSocket()
        people.sockets.append(student)
        await student.client.connect(
            deployment.proxy.url,
            namespaces=["/chat"],
            transports=["polling"],
            headers={"Origin": deployment.proxy.url},
            wait_timeout=5,
        )
        await student.emit("watch_ticket", {"token": ticket.token})
        await student.next("ticket")
        students.append(student)
    assert await watchers_per_process(deployment, ticket.number) == [3, 3]

    for process, text in (
        (deployment.a, "Risposta da un processo."),
        (deployment.b, "Risposta dall'altro."),
    ):
        console = await people.sign_in(process, LAURA)
        status, _ = await console.post(
            f"/api/console/tickets/{ticket.number}/messages", {"body": text}
        )
        assert status == 201
        for student in students:
            view = await student.next("ticket")
            assert view["messages"][-1]["body"] == text


async def test_the_proxy_s_log_keeps_the_path_of_a_search_but_not_what_was_searched(
    deployment: Deployment, people: People
) -> None:
    """The console searches by a student's email as ?q=: haproxy's log, kept by the system
    beyond an erasure and the retention, must not hold it (the processes' own access log
    leaves query strings out for the same reason)."""
    ticket = deployment.ticket()
    console = await people.sign_in(deployment.proxy, LAURA)  # type: ignore[arg-type]
    status, body = await console.get(
        "/api/console/tickets", q=ticket.email, status="open", assigned="all"
    )
    assert status == 200 and [t["number"] for t in body["tickets"]] == [ticket.number]
    for _ in range(50):  # haproxy writes the line once the answer has gone
        log = deployment.proxy.log()
        if "/api/console/tickets" in log:
            break
        await asyncio.sleep(0.1)
    assert "GET /api/console/tickets" in log
    local = ticket.email.split("@")[0]
    assert local not in log


async def watchers_per_process(deployment: Deployment, number: str) -> list[int]:
    """How many sockets each process says are watching the ticket (its presence hash)."""
    client = Redis.from_url(deployment.redis_url)
    try:
        counts = []
        async for key in client.scan_iter("helpdesk:presence:*"):
            value = await client.hget(key, f"watching:{number}")
            counts.append(int(value or 0))
        return sorted(counts)
    finally:
        await client.aclose()


def run_web(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HELPDESK_PORT": str(free_port()), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_an_unreachable_redis_stops_the_start_with_what_to_check(tmp_path: Any) -> None:
    url = f"redis://:sekret-password@127.0.0.1:{free_port()}/0"
    result = await asyncio.to_thread(
        run_web, {"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_REDIS_URL": url}
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "HELPDESK_REDIS_URL" in result.stderr and "redis-cli" in result.stderr
    assert ":***@127.0.0.1" in result.stderr and "sekret" not in result.stderr
    assert "Student page" not in result.stdout

    wrong = await asyncio.to_thread(
        run_web, {"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_REDIS_URL": "127.0.0.1:6379"}
    )
    assert wrong.returncode == 2 and "HELPDESK_REDIS_URL" in wrong.stderr


@pytest.fixture
async def two_tabs(deployment: Deployment) -> AsyncIterator[tuple[Student, Student]]:
    """A student's chat in two tabs, which the balancer sent to the two processes."""
    tabs = Student(deployment.a), Student(deployment.b)  # type: ignore[arg-type]
    try:
        for tab in tabs:
            await tab.connect()
        yield tabs
    finally:
        for tab in tabs:
            await tab.close()


@contextlib.asynccontextmanager
async def slowed(
    deployment: Deployment, event: str, table: str, seconds: float
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """The database sleeps `seconds` before each row's `event` ("INSERT") on `table`: to widen
    the moment of a race, or to make a step slow. Yields a connection to it."""
    url = deployment.a.env["HELPDESK_DATABASE_URL"]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        await db.execute(
            "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" PERFORM pg_sleep({seconds}); RETURN NEW; END $$"
        )
        await db.execute(
            f"CREATE TRIGGER slow BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION slow()"
        )
        try:
            yield db
        finally:
            await db.execute(f"DROP TRIGGER slow ON {table}")
            await db.execute("DROP FUNCTION slow()")


async def hear(tab: Student) -> dict[str, Any]:
    """The step the other tab took, as this one hears it through Redis."""
    _, heard = await tab.next("bot")
    tab.prompt = heard["prompt"]
    return dict(heard)


async def test_a_chat_open_in_two_tabs_on_two_processes_loses_no_step(
    deployment: Deployment, two_tabs: tuple[Student, Student]
) -> None:
    first, second = two_tabs
    await first.hello()
    await second.hello(first.conversation_id)  # the second tab's process keeps its copy
    chosen = first.prompt["options"][0]
    await first.choose(chosen["id"])  # saved by the first process: that copy is now behind
    then = (await hear(second))["prompt"]["options"][0]
    await second.choose(then["id"])
    again = Student(deployment.a)  # type: ignore[arg-type]
    await again.connect()
    try:
        state = await again.hello(first.conversation_id)
    finally:
        await again.close()
    said = [e["text"] for e in state["transcript"] if e["from"] == "student"]
    assert said == [chosen["label"], then["label"]]


async def test_a_confirm_from_a_tab_whose_process_is_behind_opens_one_ticket(
    deployment: Deployment, two_tabs: tuple[Student, Student]
) -> None:
    first, second = two_tabs
    await first.hello()
    await to_attachment_step(first)
    await first.choose("skip_attachment")
    await second.hello(first.conversation_id)  # its process keeps this copy: the summary
    await first._send("choose", option="lang:en")  # and that copy is now behind
    await hear(second)
    done = await second.choose("confirm")
    [ticket] = [e for e in done if e["kind"] == "ticket"]
    async with await psycopg.AsyncConnection.connect(
        deployment.a.env["HELPDESK_DATABASE_URL"]
    ) as db:
        cursor = await db.execute(
            "SELECT number FROM tickets WHERE conversation_id = %s", (first.conversation_id,)
        )
        assert await cursor.fetchall() == [(ticket["data"]["number"],)]


async def test_two_tabs_confirming_in_the_same_moment_on_two_processes_open_one_ticket(
    deployment: Deployment, two_tabs: tuple[Student, Student]
) -> None:
    """Each process reads the chat, finds its copy current and opens the ticket: the other's
    save comes too late to stop it. The moment is widened to half a second by a trigger that
    slows every ticket number's insert."""
    first, second = two_tabs
    email = "due.schede@example.com"  # the allowance below is this student's alone
    await first.hello()
    await to_attachment_step(first, email)
    await first.choose("skip_attachment")
    await second.hello(first.conversation_id)  # both processes now hold the current summary
    async with slowed(deployment, "INSERT", "used_numbers", 0.5) as db:
        for tab in two_tabs:
            await tab.client.emit(
                "choose",
                {"conversation_id": first.conversation_id, "option": "confirm"},
                namespace="/chat",
            )
        # each tab hears both steps, its own and the other's
        heard = [await tab.next("bot") for tab in two_tabs for _ in range(2)]
        cursor = await db.execute(
            "SELECT number FROM tickets WHERE conversation_id = %s", (first.conversation_id,)
        )
        opened = await cursor.fetchall()
    entries = [e for _, step in heard for e in step["entries"]]
    told = {e["data"]["number"] for e in entries if e["kind"] == "ticket"}
    assert len(opened) == 1, opened
    assert told == {opened[0][0]}
    # one ticket counts once against the 5 an hour one email may open
    statuses = [await open_over_http(deployment, email, n) for n in range(5)]
    assert statuses == [201] * 4 + [429]


async def open_over_http(deployment: Deployment, email: str, n: int) -> int:
    """Opens a ticket with the HTTP API, each from its own address: only the email's limit."""
    fields = {
        "email": email,
        "name": "Rossi Mario",
        "phone": "3331234567",
        "topic": "immatricolazioni",
        "subtopic": "procedura-online",
        "message": f"Domanda numero {n}.",
    }
    async with aiohttp.ClientSession() as http, http.post(
        f"{deployment.proxy.url}/api/tickets",
        json=fields,
        headers={"X-Forwarded-For": f"198.51.100.{n}"},
    ) as response:
        return response.status


async def test_the_typing_hint_of_a_slow_step_stays_on_its_process(
    deployment: Deployment, two_tabs: tuple[Student, Student]
) -> None:
    """Steps turn slow when the processes are overloaded: the hint is not published then to
    every process, only shown to the tabs of the one taking the step; the answer reaches all."""
    first, second = two_tabs
    for tab in two_tabs:
        tab.client.on("typing", tab._recorder("typing"), namespace="/chat")
    await first.hello()
    await second.hello(first.conversation_id)
    async with slowed(deployment, "UPDATE", "conversations", 0.6):
        await first.client.emit(
            "say", {"conversation_id": first.conversation_id, "text": "ciao"}, namespace="/chat"
        )
        here = [await first.next("typing", "bot") for _ in range(3)]
        there = await second.next("typing", "bot")
    assert [name for name, _ in here] == ["typing", "typing", "bot"]
    assert there[0] == "bot"


@contextlib.asynccontextmanager
async def published(deployment: Deployment) -> AsyncIterator[list[bytes]]:
    """Every message the processes publish on Redis while the block runs, as it runs."""
    client = Redis.from_url(deployment.redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    heard: list[bytes] = []

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                heard.append(message["data"])

    await pubsub.psubscribe("helpdesk:*:live")
    listener = asyncio.ensure_future(listen())
    try:
        yield heard
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


async def test_a_chat_in_one_tab_publishes_nothing_until_another_tab_resumes_it(
    deployment: Deployment, two_tabs: tuple[Student, Student]
) -> None:
    """Nearly every chat is followed by the one tab that started it, on the process that takes
    its steps: its answers stay on that process (a Redis round trip per step, and every other
    process's decoding of it, saved). Once a tab resumes it, they are published."""
    first, second = two_tabs
    async with published(deployment) as heard:
        await first.hello()
        room = f'"conversation:{first.conversation_id}"'.encode()
        await first.choose(first.options()[0])
        await first.say("Come pago la seconda rata?")
        await asyncio.sleep(0.5)  # a publish follows the local answer within milliseconds
        assert not [m for m in heard if room in m]
        await second.hello(first.conversation_id)
        await first._send("choose", option="lang:en")
        await hear(second)
        assert [m for m in heard if room in m]


async def test_a_step_saved_while_the_other_tab_resumes_the_chat_reaches_that_tab(
    deployment: Deployment, two_tabs: tuple[Student, Student]
) -> None:
    """The first tab's save waits for the row that the second tab's hello holds: it must learn
    that the chat is now shared and publish its answer, which the second tab's state (read
    before the step) does not have. Each chat update sleeps 0.5 s to widen the moment."""
    first, second = two_tabs
    await first.hello()
    async with slowed(deployment, "UPDATE", "conversations", 0.5):
        await second.client.emit(
            "hello", {"conversation_id": first.conversation_id, "lang": "it"}, namespace="/chat"
        )
        await asyncio.sleep(0.2)  # the hello holds the row now
        chosen = first.options()[0]
        await first.client.emit(
            "choose", {"conversation_id": first.conversation_id, "option": chosen},
            namespace="/chat",
        )
        _, state = await second.next("state")
        assert all(e["from"] != "student" for e in state["transcript"])
        heard = await hear(second)
    assert [e["text"] for e in heard["entries"] if e["from"] == "student"] == [
        first.prompt["options"][0]["label"]
    ]
