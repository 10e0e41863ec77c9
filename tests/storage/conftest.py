"""The `storage` fixture runs each test against both implementations of storage/protocol.py:
the data folder (TinyDB) and PostgreSQL (a real server, a fresh database per test). Tests of
what only a folder has (files, locks, sweeping, crashes) use `folder` instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import pytest

from storage import Backend, FaqEvent, Message, Storage, Ticket
from storage.layout import Layout

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

    async def date_attachment(self, attachment_id: str, moment: datetime) -> None:
        """Make a file look stored at that moment."""
        if self.database_url is None:
            path = Layout(self.data_dir).attachment(attachment_id)
            os.utime(path, (moment.timestamp(), moment.timestamp()))
            return
        await self._execute(
            "UPDATE attachments SET created_at = %s WHERE id = %s", (moment, attachment_id)
        )

    async def date_conversation(self, conversation_id: str, moment: str) -> None:
        """Make a chat look last used at that moment (save() stamps the real time)."""
        if self.database_url is None:
            path = Layout(self.data_dir).conversation(conversation_id)
            record = json.loads(path.read_text())
            record["conversation"]["1"]["updated_at"] = moment
            path.write_text(json.dumps(record))
            return
        await self._execute(
            "UPDATE conversations SET updated_at = %(at)s,"
            " record = (record::jsonb || jsonb_build_object('updated_at', %(at)s::text))::json"
            " WHERE id = %(id)s",
            {"at": moment, "id": conversation_id},
        )

    async def put_faq_events(self, events: list[FaqEvent]) -> None:
        """Events recorded on the days their `at` says, as a closed store would have kept them
        (the folder reads its day files at open: open the storage after this)."""
        if self.database_url is None:
            folder = Layout(self.data_dir).faq_events
            folder.mkdir(parents=True, exist_ok=True)
            days: dict[str, str] = {}
            for event in events:
                days[event.at[:10]] = days.get(event.at[:10], "") + json.dumps(asdict(event)) + "\n"
            for day, lines in days.items():
                (folder / f"{day}.jsonl").write_text(lines)
            return
        for event in events:
            await self._execute(
                "INSERT INTO faq_events (at, conversation_id, event) VALUES (%s, %s, %s)",
                (event.at, event.conversation_id, json.dumps(asdict(event))),
            )

    async def holds(self, text: str) -> bool:
        """Whether anything kept, in any file or any row, contains this text."""
        if self.database_url is None:
            return any(
                text.encode() in path.read_bytes()
                for path in self.data_dir.rglob("*") if path.is_file()
            )
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.database_url) as conn:
            cur = await conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
            )
            for (table,) in await cur.fetchall():
                found = await conn.execute(
                    f"SELECT 1 FROM {table} t WHERE strpos(t::text, %s) > 0 LIMIT 1",  # type: ignore[arg-type]
                    (text,),
                )
                if await found.fetchone() is not None:
                    return True
        return False

    async def _execute(self, sql: str, params: tuple[object, ...] | dict[str, object]) -> None:
        import psycopg

        assert self.database_url is not None
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as conn:
            await conn.execute(sql, params)  # type: ignore[arg-type]


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
