"""SIGKILL in the middle of a sweep, several times over, then a sweep left to finish: after every
kill each ticket is either untouched or fully anonymised, never half; the next sweep ends what
the killed one started, and at the end nothing personal is left on disk."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import Storage, Ticket, check_data
from storage.retention import stamp
from storage.tickets import read_ticket
from tests.storage.conftest import Place

from .retention_fixtures import chat, stored_file, student_ticket

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
TICKETS = 150
ROUNDS = 6


def run_sweep(data_dir: Path, rng: random.Random | None) -> str:
    """One sweep in a child process; with rng, killed at a random moment once it is running."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("sweep_victim.py")), str(data_dir),
         NOW.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    if child.stdout.readline() != "ready\n":
        child.kill()
        pytest.fail(f"the sweep did not start over what a kill left:\n{child.communicate()[1]}")
    if rng is None:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        return out
    time.sleep(rng.uniform(0.05, 0.8))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    return out


def personal(ticket: Ticket) -> list[Any]:
    return [ticket.name, ticket.email, ticket.phone, ticket.outbox, ticket.conversation_id,
            *[(m.body, m.attachments) for m in ticket.messages],
            *[m.name for m in ticket.messages if m.author == "student"]]


@pytest.mark.slow
async def test_a_killed_sweep_leaves_whole_tickets_and_the_next_one_finishes(
    tmp_path: Path,
) -> None:
    originals: dict[str, Ticket] = {}
    place = Place("tinydb", tmp_path)
    async with await Storage.open(tmp_path) as storage:
        for n in range(TICKETS):
            sent, unsent = await stored_file(storage), await stored_file(storage)
            chat_id = f"chat-of-ticket-number-{n}"
            await chat(storage, place, chat_id, NOW - timedelta(days=805),
                       email=f"s{n}@example.org", uploads=(unsent,))
            ticket = await student_ticket(storage, status="closed", email=f"s{n}@example.org",
                                          updated=NOW - timedelta(days=800), chat_id=chat_id,
                                          attachment=sent)
            originals[ticket.number] = ticket
    layout = storage.layout

    rng = random.Random()
    progress = []
    killed: set[str] = set()  # the tickets anonymised by the sweeps that were killed
    for _ in range(ROUNDS):
        run_sweep(tmp_path, rng)
        done = 0
        for number, original in originals.items():
            ticket = read_ticket(layout.ticket(number), number)
            if ticket.anonymised_at is None:
                assert ticket == original, f"{number} changed without being anonymised"
                continue
            done += 1
            killed.add(number)
            assert personal(ticket) == [
                "", "", "", [], None, *[("", []) for _ in original.messages],
                *["" for m in original.messages if m.author == "student"],
            ], f"{number} is half anonymised"
            assert ticket.anonymised_at == stamp(NOW)
            for field in ("created_at", "updated_at", "history", "topic", "status"):
                assert getattr(ticket, field) == getattr(original, field)
            if ticket.purge is None:  # its files are gone; else the next sweep deletes them
                assert not layout.attachment(original.messages[0].attachments[0].id).exists()
                assert not layout.conversation(str(original.conversation_id)).exists()
        progress.append(done)
    assert any(0 < done < TICKETS for done in progress), (
        f"no kill landed in the middle of the sweep: {progress}"
    )

    out = run_sweep(tmp_path, None)  # left to finish
    assert out.startswith("done SweepReport("), out
    for number in originals:
        ticket = read_ticket(layout.ticket(number), number)
        assert ticket.anonymised_at == stamp(NOW) and ticket.purge is None
    for folder in ("attachments", "conversations"):
        assert [p for p in (tmp_path / folder).rglob("*") if p.is_file()] == [], folder
    assert check_data(tmp_path, now=NOW) == []
    async with await Storage.open(tmp_path) as storage:
        assert await storage.tickets.count() == TICKETS
        assert await storage.tickets.purging() == []
        lines = [e.target for e in await storage.audit.recent(limit=10**6)
                 if e.action == "ticket.anonymised"]
        # One line a ticket. The audit is flushed in groups (storage/journal.py): a kill may
        # cost the lines of its last moments, as for every other event; a sweep that ends
        # leaves every line of its own.
        assert len(lines) == len(set(lines))
        assert set(originals) - killed <= set(lines)
