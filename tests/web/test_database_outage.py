"""The database lost while the service runs (CONTRACT.md section 7, issue 13): requests fail
with 503 in the contract's error shape, nothing acknowledged is lost, and the process carries
on by itself once the database is back. On a PostgreSQL server of its own, which it stops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp

from bot.i18n import t
from storage.postgres import PostgresStorage
from tests.conftest import Server, make_config, start_server
from tests.servers import PostgresServer
from tests.web.conftest import Recorder
from tests.web.student.test_api import VALID

# The pool gives up reconnecting after 5 s and starts again at the next request: back well
# within this.
RECOVERY_SECONDS = 15


class Creator:
    """Students opening tickets one after another, each with an address of their own; every
    answer is recorded, and every ticket acknowledged with a 201."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.statuses: list[int] = []
        self.acknowledged: list[str] = []
        self._n = 0

    async def one(self) -> tuple[int, dict[str, object]]:
        self._n += 1
        fields = {**VALID, "email": f"studente{self._n}@example.org"}
        async with self.http.post("/api/tickets", json=fields) as response:
            body = await response.json()
            self.statuses.append(response.status)
            if response.status == 201:
                self.acknowledged.append(body["number"])
            return response.status, body

    async def keep_going(self) -> None:
        while True:
            await self.one()


async def lookup_in_english(
    http: aiohttp.ClientSession, email: str, number: str
) -> tuple[int, str | None, str]:
    async with http.post(
        "/api/tickets/lookup",
        json={"email": email, "number": number},
        headers={"Accept-Language": "en"},
    ) as response:
        body = await response.json()
        message = body["error"]["message"] if "error" in body else ""
        return response.status, response.headers.get("Retry-After"), message


async def chat_hello(server: Server) -> object:
    """A student opening the chat: its first step writes the conversation."""
    chat = Recorder("/chat")
    await chat.client.connect(
        server.url, namespaces=["/chat"], transports=["websocket"],
        headers={"Origin": server.url}, wait_timeout=5,
    )
    try:
        await chat.emit("hello", {"conversation_id": None, "lang": "en"})
        return await chat.next("error", "state", wait=15)
    finally:
        await chat.close()


async def test_a_lost_database_answers_503_loses_nothing_and_is_picked_up_again(
    tmp_path: Path, own_postgres: PostgresServer
) -> None:
    url = own_postgres.url("helpdesk")
    server = await start_server(
        make_config(tmp_path / "var", database_url=url, create_per_ip_per_minute=0)
    )
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:
            students = [Creator(http) for _ in range(3)]
            assert (await students[0].one())[0] == 201
            running = [asyncio.create_task(s.keep_going()) for s in students]
            await asyncio.sleep(0.3)
            await asyncio.to_thread(own_postgres.halt)  # in the middle of their requests
            # Each waits a few seconds for the database before giving up: side by side.
            (status, body), lookup, hello = await asyncio.gather(
                students[0].one(),
                lookup_in_english(http, "studente1@example.org", students[0].acknowledged[0]),
                chat_hello(server),
            )
            assert status == 503
            assert body["error"]["code"] == "unavailable"  # type: ignore[index]
            assert "non è stata completata" in body["error"]["message"]  # type: ignore[index]
            assert lookup == (503, "5", t("error.unavailable", "en"))
            assert hello == {"code": "unavailable", "message": t("error.unavailable", "it")}
            await asyncio.to_thread(own_postgres.start)
            back = time.monotonic()
            while students[0].statuses[-1] != 201:
                assert time.monotonic() - back < RECOVERY_SECONDS, "not back on its own"
                await asyncio.sleep(0.2)
            for task in running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            assert (await students[1].one())[0] == 201
            assert isinstance(await chat_hello(server), dict)
    finally:
        await server.stop()

    statuses = {status for s in students for status in s.statuses}
    assert statuses == {201, 503}, statuses
    acknowledged = {number for s in students for number in s.acknowledged}
    async with await PostgresStorage.open(url) as storage:
        kept = {summary.number for summary in await storage.tickets.summaries()}
    assert acknowledged <= kept


def test_behind_haproxy_a_lost_database_leaves_the_pages_up_and_answers_the_rest_503(
    own_postgres: PostgresServer, redis_url: str
) -> None:
    """deploy/haproxy.cfg takes a process that is not ready out of the balance; when none is,
    the processes still serve what needs no database, and the rest in the contract's shape."""
    from tests.deployment import start_deployment  # starts processes: only where it runs

    def get(url: str, data: bytes | None = None) -> tuple[int, str, bytes]:
        request = urllib.request.Request(
            url, data=data, headers={"Content-Type": "application/json"} if data else {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read()

    with start_deployment(redis_url, own_postgres.url("helpdesk")) as deployment:
        proxy = deployment.proxy.url
        own_postgres.halt()
        try:
            deadline = time.monotonic() + RECOVERY_SECONDS
            # until haproxy has seen both processes not ready (2 checks, 2 s apart)
            while not all(
                f"Server helpdesk/{name} is DOWN" in deployment.proxy.log()
                for name in ("web1", "web2")
            ):
                assert time.monotonic() < deadline, deployment.proxy.log()
                time.sleep(0.5)
            for path in ("/widget.js", "/", "/faq", "/privacy"):
                status, _, _ = get(proxy + path)
                assert status == 200, path
            status, kind, body = get(
                f"{proxy}/api/tickets/lookup", b'{"email": "a@example.org", "number": "000001"}'
            )
            assert (status, kind) == (503, "application/json; charset=utf-8"), body[:200]
            assert json.loads(body)["error"]["code"] == "unavailable"
        finally:
            own_postgres.start()
