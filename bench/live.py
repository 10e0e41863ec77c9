"""Student -> operator live latency: from the moment a student sends a message on a ticket page
(POST /api/tickets/{number}/messages) to the `ticket_message` event on the console of an operator
who has that ticket open. Measured three ways, on one PostgreSQL database:

- one process without Redis (Socket.IO's in-process manager);
- one process with Redis (the student and the operator on the same process: what the Redis
  manager costs on its own);
- two processes through Redis (the student on one, the operator on the other).

The servers are the tests' own (tests/servers.py, tests/deployment.py). Messages are sent one at
a time, so the figures are latencies, not throughput.
"""

from __future__ import annotations

import asyncio
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

SAMPLES = 200
WARMUP = 10
# Under the per-ticket limit of 30 student messages in 10 minutes.
PER_TICKET = 25


async def sign_in(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(
        f"{url}/api/console/login", json={"username": LAURA.username, "password": LAURA.password}
    ) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["csrf_token"])


async def latencies(
    student: WebProcess, operator: WebProcess, tickets: list[Seeded]
) -> tuple[list[float], list[float]]:
    """(seconds until the console heard it, seconds until the POST was answered) per message."""
    heard: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(data: Any) -> None:
        await heard.put(data["message"]["body"])

    console = socketio.AsyncClient(reconnection=False)
    console.on("ticket_message", on_message, namespace="/console")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await sign_in(http, operator.url)
        cookies = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
        await console.connect(
            operator.url,
            namespaces=["/console"],
            transports=["websocket"],
            headers={"Cookie": cookies, "Origin": operator.url},
            auth={"csrf_token": csrf},
            wait_timeout=10,
        )
        try:
            for ticket in tickets:
                await console.emit("open_ticket", {"number": ticket.number}, namespace="/console")
            await asyncio.sleep(0.5)  # every room joined
            live, answered = [], []
            for n in range(WARMUP + SAMPLES):
                ticket = tickets[n // PER_TICKET]
                body = f"Messaggio di prova {n} {secrets.token_hex(4)}"
                started = time.perf_counter()
                async with http.post(
                    f"{student.url}/api/tickets/{ticket.number}/messages",
                    json={"body": body},
                    headers={"Authorization": f"Bearer {ticket.token}"},
                ) as response:
                    assert response.status == 201, await response.text()
                done = time.perf_counter()
                while await asyncio.wait_for(heard.get(), 10) != body:
                    pass
                if n >= WARMUP:
                    live.append(time.perf_counter() - started)
                    answered.append(done - started)
            return live, answered
        finally:
            await console.disconnect()


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
            tickets = [deployment.ticket() for _ in range(3 * needed)]
            rows = []
            for name, student, operator, share in (
                ("one process, no Redis", alone, alone, tickets[:needed]),
                ("one process, Redis manager", deployment.a, deployment.a,
                 tickets[needed : 2 * needed]),
                ("two processes through Redis", deployment.a, deployment.b,
                 tickets[2 * needed :]),
            ):
                live, answered = asyncio.run(latencies(student, operator, share))
                rows.append((f"live student -> operator, {name}", describe(live, answered)))
            return rows
        finally:
            alone.stop()


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:50} {value}")
