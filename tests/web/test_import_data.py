"""`python -m web import-data DIR` (CONTRACT.md section 7): a data folder written by the TinyDB
storage, copied into an empty PostgreSQL database, twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from storage import (
    Attachment,
    AuditEntry,
    Conversation,
    FaqEvent,
    Message,
    Operator,
    OutboxMail,
    Storage,
    Ticket,
)
from storage.models import MOMENTS
from storage.postgres import PostgresStorage
from storage.retention import anonymise
from tests.conftest import ROOT
from tests.servers import PostgresServer

TABLES = ("tickets", "outbox", "conversations", "operators", "attachments", "audit", "faq_events")


def import_data(
    folder: Path, url: str, secret_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    key = {"HELPDESK_SECRET_KEY": secret_key} if secret_key else {}
    return subprocess.run(
        [sys.executable, "-m", "web", "import-data", str(folder)],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HELPDESK_DATABASE_URL": url, **key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def fill(folder: Path) -> None:
    """A season in small: tickets with threads, an attachment and mail (one sent, one waiting),
    the chats that led to them, accounts, and journal lines over two days."""
    async with await Storage.open(folder) as storage:
        await storage.operators.put(
            Operator(username="lbianchi", name="Laura Bianchi", role="operator", password_hash="h")
        )
        await storage.operators.put(
            Operator(username="aneri", name="Anna Neri", role="admin", password_hash="h2")
        )
        async with storage.attachments.receive() as upload:
            await upload.write(b"%PDF-1.7 the student's receipt")
            attachment_id = await upload.commit()
        for n in range(12):
            chat = Conversation(id=f"conversation-{n:04d}-xyz", step="done", slots={"n": n})
            await storage.conversations.save(chat)
            attachments = (
                [Attachment(attachment_id, "ricevuta.pdf", 30, "application/pdf")] if n == 0 else []
            )

            def build(
                number: str,
                n: int = n,
                chat: Conversation = chat,
                attached: list[Attachment] = attachments,
            ) -> Ticket:
                return Ticket(
                    number=number, email=f"studente{n}@example.org", name="Rossi Mario",
                    phone="+393331234567", topic="immatricolazioni", subtopic="scadenze",
                    conversation_id=chat.id,
                    messages=[
                        Message(id="m1", author="student", name="Mario", body=f"domanda {n}",
                                attachments=attached),
                        Message(id="m2", author="operator", name="Laura", username="lbianchi",
                                body="risposta"),
                    ],
                    outbox=[
                        OutboxMail(id="o1", to=f"studente{n}@example.org", subject="Aperto",
                                   text="t", html="<p>t</p>", kind="opened", state="sent",
                                   attempts=1),
                        OutboxMail(id="o2", to=f"studente{n}@example.org", subject="Risposta",
                                   text="t", html="<p>t</p>", kind="reply"),
                    ],
                )

            ticket = await storage.tickets.create(build)
            for day in ("2026-09-01", "2026-09-02"):
                await storage.audit.append(
                    AuditEntry("lbianchi", "ticket.reply", ticket.number, at=f"{day}T10:00:00Z")
                )
            await storage.faq_events.append(
                FaqEvent(kind="suggested", query=f"domanda {n}", lang="it", faq_ids=["tasse-001"],
                         conversation_id=chat.id)
            )
            if n % 3 == 0:
                await storage.faq_events.append(
                    FaqEvent(kind="solved", query="", lang="it", conversation_id=chat.id)
                )


async def everything(storage: Storage | PostgresStorage) -> dict[str, object]:
    numbers = [s.number for s in await storage.tickets.summaries()]
    tickets = [await storage.tickets.get(n) for n in numbers]
    chats = [await storage.conversations.get(t.conversation_id or "") for t in tickets if t]
    [attachment] = [a for t in tickets if t for m in t.messages for a in m.attachments]
    return {
        "tickets": tickets,
        "conversations": chats,
        "operators": await storage.operators.list(),
        "attachment": await storage.attachments.read(attachment.id),
        "audit": await storage.audit.recent(1000),
        "faq_events": await storage.faq_events.recent(1000),
        "outbox": sorted(await storage.outbox.claim("w", "2100-01-01T00:00:00.000+00:00", 99, 9)),
        # the office's figures, counted from columns and faq_chats in the database
        "figures": [
            await storage.tickets.times_between(moment, "2000", "3000") for moment in MOMENTS
        ],
        "queue": await storage.tickets.queue_positions(numbers),
        "chats": await storage.faq_events.chats_between("2000", "3000"),
    }


def rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in TABLES
        }


@pytest.fixture
async def empty_database(postgres: PostgresServer) -> AsyncIterator[str]:
    """A database with no schema at all: the import creates it."""
    name = postgres.new_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)


async def test_a_folder_is_copied_whole_with_its_numbers_and_a_second_run_adds_nothing(
    tmp_path: Path, empty_database: str
) -> None:
    folder = tmp_path / "var"
    await fill(folder)
    first = await asyncio.to_thread(import_data, folder, empty_database)
    assert first.returncode == 0, first.stderr
    assert "tickets: 12 copied, 0 already in the database" in first.stdout
    assert "audit: 24 copied, 0 already in the database" in first.stdout
    async with await Storage.open(folder) as source:
        expected = await everything(source)
    async with await PostgresStorage.open(empty_database) as copy:
        assert await everything(copy) == expected
    counted = rows(empty_database)
    assert counted["tickets"] == 12 and counted["outbox"] == 24 and counted["audit"] == 24
    # what was loaded in bulk is vacuumed and has statistics, before autovacuum comes round
    with psycopg.connect(empty_database) as conn:
        unvacuumed = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname IN"
            " ('tickets', 'conversations', 'audit', 'faq_events', 'faq_chats')"
            " AND (last_vacuum IS NULL OR last_analyze IS NULL)"
        ).fetchall()
    assert unvacuumed == []

    again = await asyncio.to_thread(import_data, folder, empty_database)
    assert again.returncode == 0, again.stderr
    assert "tickets: 0 copied, 12 already in the database" in again.stdout
    assert rows(empty_database) == counted


async def test_a_folder_used_after_an_earlier_import_is_reported_not_kept_silently(
    tmp_path: Path, empty_database: str
) -> None:
    """A trial import weeks before the move, the old server kept running, then the real import
    into the same database: the database's copies lack those weeks (a reply and a closing, a
    mail sent since, which a process on the database would send again, an erasure, an account's
    new password)."""
    folder = tmp_path / "var"
    await fill(folder)
    assert (await asyncio.to_thread(import_data, folder, empty_database)).returncode == 0
    async with await Storage.open(folder) as storage:
        replied, mailed, erased, kept = [s.number for s in await storage.tickets.summaries()][:4]

        def answer(ticket: Ticket) -> None:
            ticket.messages.append(Message(id="m3", author="operator", name="Laura", body="ok"))
            ticket.status = "closed"

        def send(ticket: Ticket) -> None:
            ticket.outbox[1].state = "sent"

        await storage.tickets.update(replied, answer)
        await storage.tickets.update(mailed, send)
        await storage.tickets.update(erased, lambda t: anonymise(t, t.updated_at), touch=False)
        account = await storage.operators.get("lbianchi")
        assert account is not None
        await storage.operators.put(replace(account, password_hash="new"))
    again = await asyncio.to_thread(import_data, folder, empty_database)
    assert again.returncode == 1
    assert "tickets: 0 copied, 12 already in the database (3 of them differ" in again.stdout
    for what in (f"ticket {replied}", f"ticket {mailed}", f"ticket {erased}", "operator lbianchi"):
        assert f"error: {what}: the database has another version of it" in again.stderr
    assert kept not in again.stderr and "another ticket with this number" not in again.stderr
    assert "import it into an empty database" in again.stderr


async def test_a_new_key_on_the_database_is_told_to_take_the_folder_s(
    tmp_path: Path, empty_database: str
) -> None:
    """The students' links were signed with the folder's key: a process on the database with
    another one (deploy.md draws a new key) would open none of them."""
    folder = tmp_path / "var"
    async with await Storage.open(folder):
        pass
    folder_key = "the-folder-s-key-0123456789abcdefgh"
    (folder / "secret_key").write_text(f"{folder_key}\n")
    drawn = await asyncio.to_thread(
        import_data, folder, empty_database, "a-new-key-0123456789abcdefghijklmnop"
    )
    assert drawn.returncode == 0, drawn.stderr
    assert f"signed with the key in {folder / 'secret_key'}" in drawn.stdout
    same = await asyncio.to_thread(import_data, folder, empty_database, folder_key)
    assert same.returncode == 0, same.stderr
    assert "signed with the key" not in same.stdout


async def test_a_number_the_database_gives_another_ticket_is_reported_not_copied(
    tmp_path: Path, empty_database: str
) -> None:
    folder = tmp_path / "var"
    await fill(folder)
    assert (await asyncio.to_thread(import_data, folder, empty_database)).returncode == 0
    with psycopg.connect(empty_database) as conn:
        number = conn.execute(
            "UPDATE tickets SET email_key = 'altro@example.org', created_at = '2027-01-01'"
            " WHERE number ="
            " (SELECT min(number) FROM tickets) RETURNING number"
        ).fetchone()[0]  # type: ignore[index]
    again = await asyncio.to_thread(import_data, folder, empty_database)
    assert again.returncode == 1
    assert f"ticket {number}: the database has another ticket with this number" in again.stderr


async def test_a_folder_in_use_or_missing_is_refused(tmp_path: Path, empty_database: str) -> None:
    folder = tmp_path / "var"
    async with await Storage.open(folder):  # the old server still running
        busy = await asyncio.to_thread(import_data, folder, empty_database)
    assert busy.returncode == 1 and "already in use by another helpdesk process" in busy.stderr
    missing = await asyncio.to_thread(import_data, tmp_path / "nowhere", empty_database)
    assert missing.returncode == 1 and "is not a help desk data folder" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
