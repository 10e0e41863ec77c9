"""Shared fixtures: the real server on a loopback port, with its own data folder."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from storage import Backend
from tests import servers
from tests.servers import SHARED, PostgresServer, free_port, postgres_server
from web.config import Config

if TYPE_CHECKING:
    from tests.deployment import Deployment

ROOT = Path(__file__).resolve().parent.parent
FAQ_DIR = ROOT / "faq_data"
CHROMIUM = Path("/usr/bin/chromium")


def make_config(data_dir: Path, **overrides: object) -> Config:
    port = free_port()
    base = Config(
        host="127.0.0.1",
        port=port,
        data_dir=data_dir,
        faq_dir=FAQ_DIR,
        public_url=f"http://127.0.0.1:{port}",
        secret_key="test-secret",
        faq_reload_seconds=0.2,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass
class Server:
    config: Config
    app: web.Application
    runner: web.AppRunner

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(config: Config, storage: Backend | None = None) -> Server:
    """storage: one already open, for servers that share it (as processes share a database)."""
    from web.app import create_app  # imported here so that bot/ and storage/ tests need no web
    from web.http.server import Runner

    app = create_app(config, storage=storage)
    runner = Runner(app, read_timeout=config.read_timeout_seconds)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    return Server(config, app, runner)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    """A private copy of the corpus, for tests that edit it."""
    target = tmp_path / "faq_data"
    shutil.copytree(FAQ_DIR, target)
    return target


@pytest.fixture
async def faq_server(data_dir: Path, faq_dir: Path) -> AsyncIterator[Server]:
    """The real server on that private copy, which editors' tests edit while it runs."""
    running = await start_server(make_config(data_dir, faq_dir=faq_dir))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def server(data_dir: Path) -> AsyncIterator[Server]:
    running = await start_server(make_config(data_dir))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.url) as session:
        yield session


def require_browser() -> None:
    """Browser tests skip loudly without Debian's chromium; CI (HELPDESK_REQUIRE_BROWSER=1)
    turns that skip into a failure, so a missing install step cannot pass unnoticed."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: BROWSER TESTS NOT RUN (apt-get install chromium)"
    if os.environ.get("HELPDESK_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium_path() -> Iterator[str]:
    require_browser()
    yield str(CHROMIUM)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, with an empty database "helpdesk": for a test
    that stops it, which the session's shared one must not be."""
    with postgres_server() as server:
        server.execute('CREATE DATABASE "helpdesk"')
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole run, started on first use, with the shared
    database migrated."""
    with postgres_server() as server:
        server.execute(f'CREATE DATABASE "{SHARED}"')
        # A thread of its own: a session fixture has no event loop to borrow.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _migrate(server.url(SHARED))).result()
        yield server


async def _migrate(url: str) -> None:
    from storage.postgres import PostgresStorage

    await (await PostgresStorage.open(url)).close()


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """The URL of a migrated database with nothing in it."""
    postgres.empty(SHARED)
    return postgres.url(SHARED)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[servers.RedisServer]:
    """The session's redis-server (tests/servers.py), started by the first test that asks."""
    with servers.redis_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: servers.RedisServer) -> str:
    """A Redis database of this test's own."""
    return redis_server.new_url()


@pytest.fixture(scope="session")
def deployment(
    redis_server: servers.RedisServer, postgres: PostgresServer
) -> Iterator[Deployment]:
    """Two `python -m web` processes on one database and one Redis, behind haproxy
    (tests/deployment.py), started once per session: its tests take seeded tickets of their own."""
    from tests.deployment import start_deployment  # imports web, which bot/ tests do without

    database = postgres.new_database()
    with start_deployment(redis_server.new_url(), postgres.url(database)) as running:
        yield running


@pytest.fixture(scope="session")
def clamd() -> Iterator[servers.ClamdServer]:
    """The session's clamd with one test signature (tests/servers.py), started on first use."""
    with servers.clamd_server() as server:
        yield server
