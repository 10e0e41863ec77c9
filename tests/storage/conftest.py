"""The `storage` fixture runs each test against both implementations of storage/protocol.py:
the data folder (TinyDB) and PostgreSQL (a real server, a fresh database per test). Tests of
what only a folder has (files, locks, sweeping, crashes) use `folder` instead."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import Backend, Message, Storage, Ticket

ROOT = Path(__file__).resolve().parents[2]


def build(**fields: object) -> Callable[[str], Ticket]:
    """A ticket builder for TicketStore.create, with plausible defaults."""

    def make(number: str) -> Ticket:
        values: dict[str, object] = {
            "email": "mario.rossi@example.org",
            "name": "Rossi Mario",
            "phone": "+393331234567",
            "topic": "immatricolazioni",
            "subtopic": "scadenze",
            "messages": [Message(id="m0", author="student", name="Mario", body="Quando scade?")],
        }
        values.update(fields)
        return Ticket(number=number, **values)  # type: ignore[arg-type]

    return make


def run_python(code: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter that imports the project like the server does."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@dataclass
class Place:
    """Where a test's data lives: open() gives a storage on it, as a restarted process (or
    another one) would."""

    kind: str
    data_dir: Path
    database_url: str | None = None

    async def open(self) -> Backend:
        if self.database_url is not None:
            from storage.postgres import PostgresStorage

            return await PostgresStorage.open(self.database_url)
        return await Storage.open(self.data_dir)

    async def attachment_ids(self) -> set[str]:
        """What is kept of attachments, looked at beside the store."""
        if self.database_url is None:
            root = self.data_dir / "attachments"
            return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute("SELECT id FROM attachments")
            return {row[0] for row in await cur.fetchall()}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(params=["tinydb", "postgres"])
def place(request: pytest.FixtureRequest, data_dir: Path) -> Place:
    if request.param == "postgres":
        return Place("postgres", data_dir, request.getfixturevalue("database_url"))
    return Place("tinydb", data_dir)


@pytest.fixture
async def storage(place: Place) -> AsyncIterator[Backend]:
    opened = await place.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def folder(data_dir: Path) -> AsyncIterator[Storage]:
    opened = await Storage.open(data_dir)
    try:
        yield opened
    finally:
        await opened.close()
