"""Student -> operator live latency: from the moment a student sends a message on a ticket page
(POST /api/tickets/{number}/messages) to the `ticket_message` event on the console of an operator
who has that ticket open. Measured three ways, on one PostgreSQL database:

- one process without Redis (Socket.IO's in-process manager);
- one process with Redis (the student and the operator on the same process: what the Redis
  manager costs on its own);
- two processes through Redis (the student on one, the operator on the other).

The servers are the tests' own (tests/servers.py, tests/deployment.py). Messages are sent one at
a time, in turn on the three routes, so the figures are latencies, not throughput.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests import servers
from tests.deployment import HAPROXY, Seeded, WebProcess, start_deployment
from tests.web.conftest import LAURA
from web.cluster.link import RedisLink
from web.cluster.live import RedisLive, addressed

SAMPLES = 200
WARMUP = 10
# Under the per-ticket limit of 30 student messages in 10 minutes.
PER_TICKET = 25
EMITS = 5000


async def sign_in(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(
        f"{url}/api/console/login", json={"username": LAURA.username, "password": LAURA.password}
    ) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["csrf_token"])


class Route:
    """A student who writes on one process to an operator whose console is on another (or the
    same) process, with that ticket open."""

    def __init__(self, student: WebProcess, operator: WebProcess, tickets: list[Seeded]) -> None:
        self.student, self.operator, self.tickets = student, operator, tickets
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.console = socketio.AsyncClient(reconnection=False)
        self.heard: asyncio.Queue[str] = asyncio.Queue()
        self.console.on("ticket_message", self._heard, namespace="/console")
        self.sent = 0
        self.live: list[float] = []
        self.answered: list[float] = []

    async def _heard(self, data: Any) -> None:
        await self.heard.put(data["message"]["body"])

    async def open(self) -> None:
        csrf = await sign_in(self.http, self.operator.url)
        cookies = "; ".join(f"{c.key}={c.value}" for c in self.http.cookie_jar)
        await self.console.connect(
            self.operator.url,
            namespaces=["/console"],
            transports=["websocket"],
            headers={"Cookie": cookies, "Origin": self.operator.url},
            auth={"csrf_token": csrf},
            wait_timeout=10,
        )
        for ticket in self.tickets:
            await self.console.emit("open_ticket", {"number": ticket.number}, namespace="/console")

    async def one(self) -> None:
        """Send one message and wait for the console to hear it."""
        ticket = self.tickets[self.sent // PER_TICKET]
        body = f"Messaggio di prova {self.sent} {secrets.token_hex(4)}"
        started = time.perf_counter()
        async with self.http.post(
            f"{self.student.url}/api/tickets/{ticket.number}/messages",
            json={"body": body},
            headers={"Authorization": f"Bearer {ticket.token}"},
        ) as response:
            assert response.status == 201, await response.text()
        done = time.perf_counter()
        while await asyncio.wait_for(self.heard.get(), 10) != body:
            pass
        if self.sent >= WARMUP:
            self.live.append(time.perf_counter() - started)
            self.answered.append(done - started)
        self.sent += 1

    async def close(self) -> None:
        await self.console.disconnect()
        await self.http.close()


async def measure(
    specs: list[tuple[WebProcess, WebProcess, list[Seeded]]],
) -> list[Route]:
    """Message by message in turn, so that whatever else the machine does hits every route
    alike."""
    routes = [Route(*spec) for spec in specs]
    for route in routes:
        await route.open()
    await asyncio.sleep(0.5)  # every ticket's room joined
    try:
        for _ in range(WARMUP + SAMPLES):
            for route in routes:
                await route.one()
    finally:
        for route in routes:
            await route.close()
    return routes


def describe(live: list[float], answered: list[float]) -> str:
    p99 = statistics.quantiles(live, n=100)[98]
    return (
        f"median {statistics.median(live) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"(POST answered after {statistics.median(answered) * 1000:.1f} ms median; n={len(live)})"
    )


def run() -> list[tuple[str, str]]:
    missing = [
        str(path)
        for path in (servers.REDIS_SERVER, servers.PG_BIN / "postgres", HAPROXY)
        if not path.exists()
    ]
    if missing:
        return [("live latency", f"not measured: {', '.join(missing)} missing (make server-deps)")]
    needed = (WARMUP + SAMPLES + PER_TICKET - 1) // PER_TICKET
    with (
        servers.postgres_server() as postgres,
        servers.redis_server() as redis,
        start_deployment(redis.url(1), postgres.url(postgres.new_database())) as deployment,
        tempfile.TemporaryDirectory() as folder,
    ):
        alone_env = {k: v for k, v in deployment.a.env.items() if k != "HELPDESK_REDIS_URL"}
        alone = WebProcess("alone", Path(folder) / "alone", alone_env)
        alone.start()
        try:
            alone.wait_ready()
            names = (
                "one process, no Redis",
                "one process, Redis manager",
                "two processes through Redis",
            )
            pairs = ((alone, alone), (deployment.a, deployment.a), (deployment.a, deployment.b))
            routes = asyncio.run(
                measure(
                    [
                        (student, operator, [deployment.ticket() for _ in range(needed)])
                        for student, operator in pairs
                    ]
                )
            )
            return [
                (f"live student -> operator, {name}", describe(route.live, route.answered))
                for name, route in zip(names, routes, strict=True)
            ] + [asyncio.run(unwanted_emit())]
        finally:
            alone.stop()


async def unwanted_emit() -> tuple[str, str]:
    """Every process hears every emit: the CPU of one to a chat with no socket in this process,
    as python-socketio handles it (decoded, encoded again for nobody) and as our listener
    passes it over (web/cluster/live.py: only the address at the head of the message)."""
    live = RedisLive(RedisLink("redis://127.0.0.1:1/0"))  # never connects: nothing is sent
    socketio.AsyncServer(client_manager=live, async_mode="aiohttp")
    live.basic_enter_room("s1", "/chat", None, eio_sid="e1")
    entry = {"id": "e1", "from": "bot", "kind": "text", "text": "Ecco cosa ho trovato. " * 5,
             "data": {"faq_ids": ["imm-001", "imm-002"]}, "at": "2026-12-06T10:00:00+00:00"}
    message = {"method": "emit", "event": "bot", "binary": False, "namespace": "/chat",
               "room": "conversation:elsewhere", "skip_sid": None, "callback": None,
               "host_id": "another", "data": [{"entries": [entry] * 2, "prompt": {
                   "options": [{"id": f"o{i}", "label": "Opzione"} for i in range(5)]}}]}
    plain = json.dumps(message).encode()
    headed = addressed(message, json.dumps).encode()
    started = time.process_time()
    for _ in range(EMITS):
        await live._handle_emit(json.loads(plain))
    handled = (time.process_time() - started) / EMITS
    started = time.process_time()
    for _ in range(EMITS):
        live._wanted(headed)
    passed = (time.process_time() - started) / EMITS
    return ("live: an emit to a chat of another process, CPU here: decoded / passed over",
            f"{handled * 1e6:.0f} / {passed * 1e6:.0f} us")


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:50} {value}")
