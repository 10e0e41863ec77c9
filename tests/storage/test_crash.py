"""SIGKILL in the middle of writes, many times over: every acknowledged write must still be
there, and every file must parse (so the server starts again)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from storage import Storage, check_data

from .conftest import ROOT

ROUNDS = 24


def run_and_kill(data_dir: Path, round_id: str, rng: random.Random) -> list[str]:
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("crash_writer.py")), str(data_dir), round_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    if first != "ready\n":
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"round {round_id}: the writer did not start over the data it left:\n{err}")
    time.sleep(rng.uniform(0.02, 0.3))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    assert child.returncode == -signal.SIGKILL
    return out.splitlines()


def temporary_files(data_dir: Path) -> list[Path]:
    return list(data_dir.rglob(".tmp-*"))


@pytest.mark.slow
async def test_sigkill_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random()
    acked_tickets: set[str] = set()
    acked_messages: dict[str, set[str]] = defaultdict(set)
    acked_steps: dict[str, int] = {}
    acked_audit: set[str] = set()
    interrupted = 0
    for n in range(ROUNDS):
        lines = run_and_kill(tmp_path, f"r{n}", rng)
        # A temporary file left behind proves the kill landed in the middle of a write.
        interrupted += bool(temporary_files(tmp_path))
        for line in lines:
            kind, *rest = line.split()
            if kind == "T":
                acked_tickets.add(rest[0])
            elif kind == "M":
                acked_messages[rest[0]].add(rest[1])
            elif kind == "C":
                acked_steps[rest[0]] = int(rest[1])
            elif kind == "A":
                acked_audit.add(rest[0])

    assert acked_tickets and acked_messages, "the writer was killed before writing anything"
    assert interrupted, "no kill landed in the middle of a write"
    assert check_data(tmp_path) == []
    async with await Storage.open(tmp_path) as storage:
        assert acked_tickets <= {s.number for s in await storage.tickets.summaries()}
        for number, message_ids in acked_messages.items():
            ticket = await storage.tickets.get(number)
            assert ticket is not None
            assert message_ids <= {m.id for m in ticket.messages}
        for conversation_id, step in acked_steps.items():
            conversation = await storage.conversations.get(conversation_id)
            # A save may have landed after the last acknowledgement was printed, never before.
            assert conversation is not None and int(conversation.step) >= step
        assert acked_audit <= {e.target for e in await storage.audit.recent(limit=10**6)}
    assert temporary_files(tmp_path) == []  # the last open swept them
