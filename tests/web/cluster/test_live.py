"""Two help desks in one test process, as two processes would be: each its own Socket.IO server,
presence and limits, sharing one Redis; they share one open store too, as processes will share
PostgreSQL. What crosses from one to the other here is what Redis carries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from storage import Operator, Storage
from tests import servers
from tests.conftest import Server, make_config, start_server
from tests.web.conftest import (
    LAURA,
    MARCO,
    Account,
    Console,
    OperatorSocket,
    Recorder,
    StudentSocket,
    open_ticket,
    password_hash,
    student_writes,
)
from web.cluster.live import RedisLive
from web.http.keys import SERVICES


@dataclass
class Pair:
    a: Server
    b: Server
    consoles: list[Console]
    sockets: list[Recorder]

    async def sign_in(self, server: Server, account: Account) -> Console:
        console = Console(server)
        self.consoles.append(console)
        status, body = await console.login(account)
        assert status == 200, body
        return console

    async def operator(self, server: Server, account: Account) -> OperatorSocket:
        console = await self.sign_in(server, account)
        socket = OperatorSocket()
        self.sockets.append(socket)
        auth = {"csrf_token": console.csrf}
        await socket.connect(server, cookie=console.cookie_header, auth=auth)
        return socket

    async def student(self, server: Server, token: str) -> StudentSocket:
        socket = StudentSocket()
        self.sockets.append(socket)
        await socket.watch(server, token)
        return socket


StartPair = Callable[[str], Awaitable[Pair]]


@pytest.fixture
async def start_pair(tmp_path: Path) -> AsyncIterator[StartPair]:
    running: list[tuple[Pair, Storage]] = []

    async def start(redis_url: str) -> Pair:
        store = await Storage.open(tmp_path / "shared")
        for account in (LAURA, MARCO):
            await store.operators.put(
                Operator(
                    username=account.username,
                    name=account.name,
                    role="operator",
                    password_hash=password_hash(account.password),
                )
            )
        a = await start_server(make_config(tmp_path / "a", redis_url=redis_url), store)
        b = await start_server(make_config(tmp_path / "b", redis_url=redis_url), store)
        pair = Pair(a, b, [], [])
        running.append((pair, store))
        return pair

    yield start
    for pair, store in running:
        for socket in pair.sockets:
            if socket.client.connected:
                await socket.close()
        for console in pair.consoles:
            await console.close()
        await pair.a.stop()
        await pair.b.stop()
        await store.close()


@pytest.fixture
async def pair(start_pair: StartPair, redis_url: str) -> Pair:
    return await start_pair(redis_url)


async def test_a_student_on_one_process_and_the_operator_on_the_other_talk_live(
    pair: Pair,
) -> None:
    ticket = await open_ticket(pair.a)
    student = await pair.student(pair.a, ticket.token)
    laura = await pair.operator(pair.b, LAURA)
    await laura.emit("open_ticket", {"number": ticket.number})
    # B knows from Redis that the student, connected to A, is reading
    seen = await laura.next("student_online")
    assert seen == {"number": ticket.number, "online": True}

    await laura.emit("operator_typing", {"number": ticket.number, "typing": True})
    assert (await student.next("operator_typing"))["typing"] is True
    await student.emit("student_typing", {"token": ticket.token, "typing": True})
    assert (await laura.next("student_typing"))["typing"] is True

    console = pair.consoles[-1]
    status, body = await console.post(
        f"/api/console/tickets/{ticket.number}/messages", {"body": "Le rispondo qui."}
    )
    assert status == 201
    assert body["mailed"] is False  # the student reads it live, on the other process
    view = await student.next("ticket")
    assert view["messages"][-1]["body"] == "Le rispondo qui."

    await student.emit("unwatch_ticket", {"token": ticket.token})
    assert await laura.next("student_online") == {"number": ticket.number, "online": False}


async def test_a_console_on_one_process_sees_the_operators_of_the_other(pair: Pair) -> None:
    ticket = await open_ticket(pair.a)
    laura = await pair.operator(pair.a, LAURA)
    marco = await pair.operator(pair.b, MARCO)
    both = [
        {"username": LAURA.username, "name": LAURA.name},
        {"username": MARCO.username, "name": MARCO.name},
    ]
    assert (await laura.next("presence", where=lambda p: len(p["operators"]) == 2)) == {
        "operators": both
    }
    await marco.emit("open_ticket", {"number": ticket.number})
    await laura.emit("open_ticket", {"number": ticket.number})
    viewers = await marco.next("viewers", where=lambda p: len(p["operators"]) == 2)
    assert viewers == {"number": ticket.number, "operators": both}
    # the HTTP view of the ticket, on A, counts Marco's console on B too
    status, body = await pair.consoles[0].get(f"/api/console/tickets/{ticket.number}")
    assert status == 200 and body["viewers"] == both
    await marco.close()
    assert (await laura.next("presence", where=lambda p: len(p["operators"]) == 1)) == {
        "operators": both[:1]
    }


async def test_failed_look_ups_alternating_between_processes_are_throttled_as_one(
    pair: Pair,
) -> None:
    ticket = await open_ticket(pair.a)
    limit = pair.a.app[SERVICES].limits.lookup_failures_per_number.limit
    statuses = []
    async with aiohttp.ClientSession() as http:
        for attempt in range(limit + 2):
            server = pair.a if attempt % 2 else pair.b
            async with http.post(
                f"{server.url}/api/tickets/lookup",
                json={"email": f"guess{attempt}@example.org", "number": ticket.number},
            ) as response:
                statuses.append(response.status)
    assert statuses == [404] * limit + [429, 429]


async def listening_again(pair: Pair) -> None:
    managers = [server.app[SERVICES].live.manager for server in (pair.a, pair.b)]
    assert all(isinstance(manager, RedisLive) for manager in managers)
    for _ in range(200):
        if all(manager.listening.is_set() for manager in managers):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("a process does not listen to Redis again")


async def test_without_redis_each_process_serves_its_own_sockets_until_it_is_back(
    start_pair: StartPair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "helpdesk.cluster")
    with servers.redis_server() as redis:
        pair = await start_pair(redis.url())
        ticket = await open_ticket(pair.a)
        far = await pair.student(pair.a, ticket.token)
        near = await pair.student(pair.b, ticket.token)
        await pair.sign_in(pair.b, LAURA)
        console = pair.consoles[-1]

        async def reply(text: str) -> bool:
            status, body = await console.post(
                f"/api/console/tickets/{ticket.number}/messages", {"body": text}
            )
            assert status == 201, body
            return bool(body["mailed"])

        redis.kill()
        assert await reply("Durante il guasto.") is False  # `near` reads it on B
        assert (await near.next("ticket"))["messages"][-1]["body"] == "Durante il guasto."
        await far.nothing("ticket", wait=0.5)
        # B cannot see the student on A any more: when unsure, the reply is mailed as well
        await near.emit("unwatch_ticket", {"token": ticket.token})
        assert await reply("Anche per email.") is True

        redis.start()  # empty
        await listening_again(pair)
        await asyncio.sleep(0.1)  # the beat that rewrites presence, triggered by the return
        assert await reply("Di nuovo in linea.") is False
        assert (await far.next("ticket"))["messages"][-1]["body"] == "Di nuovo in linea."
    messages = [r.getMessage() for r in caplog.records if r.name == "helpdesk.cluster"]
    assert len([m for m in messages if "does not answer" in m]) == 2, messages  # one each
    assert len([m for m in messages if "answers again" in m]) == 2, messages


async def test_after_redis_is_back_the_sockets_are_told_to_read_again_what_they_missed(
    start_pair: StartPair,
) -> None:
    """Nobody's socket dropped, so nobody reloaded: the console on B would never show the
    student's message written on A while Redis was away."""
    with servers.redis_server() as redis:
        pair = await start_pair(redis.url())
        ticket = await open_ticket(pair.a)
        student = await pair.student(pair.a, ticket.token)
        laura = await pair.operator(pair.b, LAURA)
        await laura.emit("open_ticket", {"number": ticket.number})
        assert (await laura.next("student_online"))["online"] is True

        redis.kill()
        await student_writes(pair.a.url, ticket, "Ho pagato durante il guasto.")
        await laura.nothing("ticket_message", wait=0.5)

        redis.start()
        await listening_again(pair)
        assert await laura.next("resync") == {}
        assert await student.next("resync") == {}
        status, body = await pair.consoles[-1].get(f"/api/console/tickets/{ticket.number}")
        assert status == 200
        assert body["messages"][-1]["body"] == "Ho pagato durante il guasto."
    # only after an outage: the first subscription at start lost nothing
    assert [event for event, _ in laura.seen].count("resync") == 1


async def test_a_student_hears_the_queue_move_when_an_operator_of_the_other_process_answers(
    start_pair: StartPair, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.desk import waiting

    monkeypatch.setattr(waiting, "LOOK_SECONDS", 0.2)
    pair = await start_pair(redis_url)
    first, second = await open_ticket(pair.a), await open_ticket(pair.a)
    student = await pair.student(pair.a, second.token)
    await pair.sign_in(pair.b, LAURA)
    status, _ = await pair.consoles[-1].post(
        f"/api/console/tickets/{first.number}/messages", {"body": "Eccomi."}
    )
    assert status == 201
    # B moved the queue; A tells its own student at its next look
    assert await student.next("wait") == {
        "number": second.number, "queue": {"position": 1, "expected_wait_minutes": 1}
    }
