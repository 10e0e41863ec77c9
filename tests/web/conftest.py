"""Operators for the console tests: accounts, a signed-in HTTP client, a /console socket, and
a student who watches a ticket live. The server itself comes from tests/conftest.py."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from yarl import URL

from storage import Operator, OperatorSession, open_operators
from tests.conftest import Server, make_config, start_server
from tests.storage.conftest import Place
from web.config import Config
from web.console.namespace import ConsoleNamespace, console_of
from web.desk.accounts import add_operator, hash_password
from web.desk.sessions import COOKIE
from web.http.keys import SERVICES

PASSWORD = "una-password-lunga"
# How long a console may sit idle with the test servers' settings (make_config keeps the default).
IDLE = Config().session_idle_minutes * 60


@dataclass(frozen=True)
class Account:
    username: str
    name: str
    role: str
    password: str = PASSWORD


LAURA = Account("lbianchi", "Laura Bianchi", "operator")
MARCO = Account("mverdi", "Marco Verdi", "operator")
ANNA = Account("aneri", "Anna Neri", "admin")
ELENA = Account("erossi", "Elena Rossi", "editor")


async def create_account(server: Server, account: Account) -> Operator:
    # The command line's own path, while the server runs: the account must work at once.
    config = server.config
    async with open_operators(config.data_dir, config.database_url) as operators:
        operator, _ = await add_operator(
            operators, account.username, account.name, account.role, account.password
        )
    return operator


class Console:
    """One operator's browser, as far as HTTP goes: a cookie jar and the CSRF token.
    source: the loopback address it connects from (127.0.0.2, ...), to be another machine."""

    def __init__(self, server: Server, lang: str | None = None, *, source: str | None = None
                 ) -> None:
        self.server = server
        headers = {"Accept-Language": lang} if lang else {}
        connector = aiohttp.TCPConnector(local_addr=(source, 0) if source else None)
        # unsafe: keep cookies from 127.0.0.1 (an IP, which aiohttp otherwise ignores)
        self.http = aiohttp.ClientSession(
            base_url=server.url, cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers,
            connector=connector,
        )
        self.csrf = ""
        self.me: dict[str, Any] = {}

    async def login(self, account: Account, password: str | None = None) -> tuple[int, Any]:
        status, body = await self.post(
            "/api/console/login",
            {"username": account.username, "password": password or account.password},
            csrf=False,
        )
        if status == 200:
            self.csrf = body["csrf_token"]
            self.me = body
        return status, body

    @property
    def session_id(self) -> str:
        cookie = self.http.cookie_jar.filter_cookies(URL(self.server.url)).get(COOKIE)
        return cookie.value if cookie else ""

    @property
    def cookie_header(self) -> str:
        return f"{COOKIE}={self.session_id}"

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.http.get(path, params=params) as response:
            return response.status, await _body(response)

    async def post(
        self,
        path: str,
        data: Any = None,
        *,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        payload = data if data is not None else {}
        async with self.http.post(path, json=payload, headers=sent) as response:
            return response.status, await _body(response)

    async def close(self) -> None:
        await self.http.close()


async def _body(response: aiohttp.ClientResponse) -> Any:
    if response.content_type == "application/json":
        return await response.json()
    try:
        return await response.text()
    except UnicodeDecodeError:  # a file that is not text (a workbook): its bytes
        return await response.read()


class Recorder:
    """Every event a socket receives, in order, awaitable one by one."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.seen: list[tuple[str, Any]] = []
        self.client.on("*", self._record, namespace=namespace)
        self.disconnected = asyncio.Event()
        self.client.on("disconnect", self._gone, namespace=namespace)
        self.refusal: Any = None  # why the server refused to connect, if it did
        self.client.on("connect_error", self._refused, namespace=namespace)

    async def _refused(self, data: Any = None) -> None:
        self.refusal = data

    async def _record(self, event: str, data: Any = None) -> None:
        self.seen.append((event, data))
        await self.events.put((event, data))

    async def _gone(self, *args: Any) -> None:
        self.disconnected.set()

    async def next(
        self, *names: str, wait: float = 5, where: Callable[[Any], bool] | None = None
    ) -> Any:
        """The next event with one of these names (and matching `where`); others are skipped."""
        while True:
            name, data = await asyncio.wait_for(self.events.get(), wait)
            if (not names or name in names) and (where is None or where(data)):
                return data

    async def nothing(self, *names: str, wait: float = 0.5) -> None:
        """No event with these names arrives within `wait` seconds."""
        try:
            while True:
                name, data = await asyncio.wait_for(self.events.get(), wait)
                assert name not in names, (name, data)
        except TimeoutError:
            return

    async def emit(self, event: str, data: Any) -> None:
        await self.client.emit(event, data, namespace=self.namespace)

    async def close(self) -> None:
        await self.client.disconnect()


class OperatorSocket(Recorder):
    def __init__(self) -> None:
        super().__init__("/console")

    async def connect(
        self, server: Server, *, cookie: str | None, auth: Any, origin: str | None = None
    ) -> None:
        headers = {"Origin": origin or server.url}
        if cookie:
            headers["Cookie"] = cookie
        await self.client.connect(
            server.url,
            namespaces=["/console"],
            transports=["websocket"],
            headers=headers,
            auth=auth,
            wait_timeout=5,
        )


class StudentSocket(Recorder):
    def __init__(self) -> None:
        super().__init__("/chat")

    async def watch(self, server: Server, token: str) -> dict[str, Any]:
        await self.client.connect(
            server.url,
            namespaces=["/chat"],
            transports=["websocket"],
            headers={"Origin": server.url},
            wait_timeout=5,
        )
        await self.emit("watch_ticket", {"token": token})
        ticket: dict[str, Any] = await self.next("ticket")
        return ticket


@dataclass
class Opened:
    number: str
    token: str
    email: str


_serial = iter(range(1, 10_000))


async def open_ticket(server: Server, **fields: str) -> Opened:
    """A ticket opened by a student through the public API (each with its own email, so the
    per-email creation limit never interferes)."""
    n = next(_serial)
    body = {
        "email": f"studente{n}@example.org",
        "name": "Rossi Mario",
        "phone": "+393331234567",
        "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti",
        "message": "Non riesco a pagare la prima rata con pagoPA: che cosa devo fare?",
        **fields,
    }
    url = f"{server.url}/api/tickets"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as r:
        assert r.status == 201, await r.text()
        data = await r.json()
    return Opened(data["number"], data["token"], body["email"])


async def student_writes(url: str, ticket: Opened, body: str) -> None:
    """The ticket's student replies through the public API of the server at `url`."""
    async with aiohttp.ClientSession() as http, http.post(
        f"{url}/api/tickets/{ticket.number}/messages",
        json={"body": body},
        headers={"Authorization": f"Bearer {ticket.token}"},
    ) as response:
        assert response.status == 201, await response.text()


def console_state(server: Server) -> ConsoleNamespace:
    return console_of(server.app)


async def stored_session(server: Server, session_id: str) -> OperatorSession | None:
    """The session as the storage keeps it, untouched."""
    sessions = console_state(server).sessions
    return await sessions.store.get(session_id, time.time(), sessions.lifetime, touch=False)


async def age_session(server: Server, session_id: str, *, idle: float = 0, age: float = 0) -> None:
    """Move a session back in time: its operator's last action `idle` seconds earlier, the
    login `age` seconds earlier. Rewritten in the storage, where every process reads it."""
    found = await stored_session(server, session_id)
    assert found is not None
    store = console_state(server).sessions.store
    await store.drop(session_id)
    await store.add(replace(found, last_seen=found.last_seen - idle, created=found.created - age))


Factory = Callable[..., Coroutine[Any, Any, Console]]


@functools.cache
def password_hash(password: str) -> str:
    return hash_password(password)  # argon2 is slow on purpose: once per test run


@pytest.fixture(params=["tinydb", "postgres"])
async def either_server(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Server]:
    """The real server on a data folder, then on PostgreSQL: for the tests of rules that each
    storage keeps its own way (a module makes it its `server` to run all its tests on both)."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    running = await start_server(make_config(data_dir, database_url=url))
    try:
        yield running
    finally:
        await running.stop()


def place_of(server: Server) -> Place:
    """Where a server keeps its data, to look at it beside the server."""
    config = server.config
    kind = "postgres" if config.database_url else "tinydb"
    return Place(kind, config.data_dir, config.database_url)


@pytest.fixture
async def team(server: Server) -> dict[str, Account]:
    store = server.app[SERVICES].storage.operators
    for account in (LAURA, MARCO, ANNA, ELENA):
        await store.put(
            Operator(
                username=account.username,
                name=account.name,
                role=account.role,  # type: ignore[arg-type]
                password_hash=password_hash(account.password),
            )
        )
    return {"laura": LAURA, "marco": MARCO, "anna": ANNA, "elena": ELENA}


@pytest.fixture
async def signed_in(server: Server, team: dict[str, Account]) -> AsyncIterator[Factory]:
    """signed_in(LAURA) -> a Console already logged in as Laura."""
    made: list[Console] = []

    async def make(account: Account, lang: str | None = None) -> Console:
        console = Console(server, lang)
        made.append(console)
        status, body = await console.login(account)
        assert status == 200, body
        return console

    yield make
    for console in made:
        await console.close()


@pytest.fixture
async def sockets() -> AsyncIterator[list[Recorder]]:
    """Sockets to close at the end of a test, whatever happened."""
    made: list[Recorder] = []
    yield made
    for recorder in made:
        if recorder.client.connected:
            await recorder.close()
