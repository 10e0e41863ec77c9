from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from storage import Message, Storage, Ticket

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


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def storage(data_dir: Path) -> AsyncIterator[Storage]:
    opened = await Storage.open(data_dir)
    try:
        yield opened
    finally:
        await opened.close()
