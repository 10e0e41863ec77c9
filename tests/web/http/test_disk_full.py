"""A disk that refuses writes (full, over quota or a file size limit): the student is told to
try again, as when the database is away, and the admin reads one line, not a traceback."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.web.student.test_chat import Student, to_attachment_step

# Room for the server to start (its key, its folders) but not for a ticket or a chat: a file
# size limit makes the kernel refuse the write as a full disk would (EFBIG for ENOSPC).
FILE_SIZE_LIMIT = 700
TICKET = {
    "email": "mario.rossi@example.com",
    "name": "Rossi Mario",
    "phone": "3331234567",
    "topic": "immatricolazioni",
    "subtopic": "scadenze",
    "message": "Posso ancora immatricolarmi dopo la scadenza di settembre? " * 4,
}


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


class FullDisk:
    """`python -m web` under the file size limit. Its output goes to a pipe, which the limit
    does not touch."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HELPDESK_PORT": str(self.port),
            "HELPDESK_DATA_DIR": str(folder),
            # a byte-code file cut short by the limit would break every later import
            "PYTHONDONTWRITEBYTECODE": "1",
            # the chats written behind cannot be written at the stop either: do not wait long
            "HELPDESK_SHUTDOWN_SECONDS": "2",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web"], cwd=ROOT, env=env, preexec_fn=_limited,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Its whole output."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.communicate(timeout=30)[0].decode()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    server = FullDisk(tmp_path / "var")
    try:
        yield server
    finally:
        server.stop()


def refused_writes(output: str) -> list[str]:
    assert "Traceback" not in output, output
    return [line for line in output.splitlines() if "the disk refused a write" in line]


def test_a_ticket_on_a_full_disk_is_a_503_and_one_log_line(full_disk: FullDisk) -> None:
    request = urllib.request.Request(
        f"{full_disk.url}/api/tickets", data=json.dumps(TICKET).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 503
    assert json.loads(refused.value.read())["error"]["code"] == "unavailable"
    [line] = refused_writes(full_disk.stop())
    assert "POST /api/tickets" in line


async def test_a_ticket_from_the_chat_on_a_full_disk_is_told_to_try_again(
    full_disk: FullDisk,
) -> None:
    student = Student(full_disk)  # type: ignore[arg-type]  # a server is its url here
    await student.connect()
    await student.hello()
    await to_attachment_step(student)
    await student.choose("skip_attachment")
    await student.client.emit(
        "choose", {"conversation_id": student.conversation_id, "option": "confirm"},
        namespace="/chat",
    )
    name, data = await student.next("bot", "error")
    await student.close()
    assert (name, data["code"]) == ("error", "unavailable")
    lines = refused_writes(full_disk.stop())
    assert any("could not open a ticket" in line for line in lines), lines
    assert any("/chat choose" in line for line in lines), lines
