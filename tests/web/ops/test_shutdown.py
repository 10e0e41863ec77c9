"""SIGTERM on a real `python -m web` in the middle of a burst of ticket creations: it stops
taking connections, finishes what is in flight (a body still arriving too), tells the sockets
to reconnect, exits in time, and every ticket it acknowledged is on disk. Its log is one JSON
object a line, with the request's id."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import socketio

from storage import Storage
from tests.conftest import FAQ_DIR, ROOT, free_port

SHUTDOWN_SECONDS = 5
VALID = {
    "name": "Rossi Mario",
    "phone": "+393331234567",
    "topic": "immatricolazioni",
    "subtopic": "tasse-pagamenti",
    "message": "Non riesco a pagare la prima rata con pagoPA: che cosa devo fare?",
}
pytestmark = pytest.mark.slow


class Process:
    """`python -m web` on a port of its own, its stderr (the log) kept."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "HELPDESK_DATA_DIR": str(data_dir),
            "HELPDESK_PORT": str(port),
            "HELPDESK_FAQ_DIR": str(FAQ_DIR),
            "HELPDESK_SECRET_KEY": "shutdown-test-key-0123456789abcdef",
            "HELPDESK_CREATE_PER_IP_PER_MINUTE": "0",
            "HELPDESK_SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
            "HELPDESK_LOG_FORMAT": "json",
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "web", cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        while b"Press Ctrl+C" not in await asyncio.wait_for(self.proc.stdout.readline(), 30):
            pass
        self._reader = asyncio.create_task(self._read_log())

    async def _read_log(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode())

    async def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long the stop took."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), SHUTDOWN_SECONDS + 20)
        await self._reader
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()


@pytest.fixture
async def processes() -> AsyncIterator[list[Process]]:
    made: list[Process] = []
    yield made
    for process in made:
        process.kill()


async def slow_upload(
    url: str, email: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A ticket whose body is half sent. Returns the rest."""
    body = json.dumps({**VALID, "email": email}).encode()
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:20]
    )
    await writer.drain()
    return reader, writer, body[20:]


async def test_sigterm_during_a_burst_loses_nothing_acknowledged(
    tmp_path: Path, processes: list[Process]
) -> None:
    data_dir, port = tmp_path / "var", free_port()
    first = Process(data_dir, port)
    processes.append(first)
    await first.start()

    # a widget, connected and in a conversation
    reasons: list[str] = []
    widget = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2,
                                  reconnection_delay_max=0.5)
    widget.on("disconnect", lambda reason=None: reasons.append(str(reason)), namespace="/chat")
    await widget.connect(first.url, namespaces=["/chat"], transports=["websocket"])

    acknowledged: dict[str, str] = {}  # number -> email
    late: list[str] = []  # acknowledged after the signal: they were in flight
    refused: list[str] = []
    stopping = asyncio.Event()
    busy = asyncio.Event()  # the burst is well under way

    async def burst(worker: int) -> None:
        async with aiohttp.ClientSession() as http:
            for n in range(1000):
                email = f"burst{worker}-{n}@example.org"
                try:
                    async with http.post(f"{first.url}/api/tickets",
                                         json={**VALID, "email": email}) as response:
                        assert response.status < 500, await response.text()
                        if response.status == 201:
                            number = (await response.json())["number"]
                            acknowledged[number] = email
                            if len(acknowledged) >= 30:
                                busy.set()
                            if stopping.is_set():
                                late.append(number)
                except aiohttp.ClientError as exc:
                    refused.append(type(exc).__name__)
                    if stopping.is_set():
                        return
                await asyncio.sleep(0)

    workers = [asyncio.create_task(burst(w)) for w in range(6)]
    await asyncio.wait_for(busy.wait(), 30)
    reader, writer, rest = await slow_upload(first.url, "half-sent@example.org")
    await asyncio.sleep(0.1)

    stopping.set()
    stop = asyncio.create_task(first.stop())
    await asyncio.sleep(0.5)
    # a body still arriving at the stop is read to its end, and its request finishes: the
    # stop does not wait out its whole time for bytes it would drop (aiohttp's own way)
    writer.write(rest)
    answer = await asyncio.wait_for(reader.read(), SHUTDOWN_SECONDS + 10)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]
    writer.close()
    await asyncio.wait_for(asyncio.gather(*workers), 30)
    code, took = await stop
    assert code == 0 and took < SHUTDOWN_SECONDS
    assert late, "requests in their handler when the signal came were answered"
    assert refused, "the burst went on until the server stopped taking connections"

    # every acknowledged ticket is on disk, with its student
    storage = await Storage.open(data_dir)
    try:
        for number, email in acknowledged.items():
            ticket = await storage.tickets.get(number)
            assert ticket is not None and ticket.email == email, number
        assert await storage.tickets.of_email("half-sent@example.org")
    finally:
        await storage.close()

    # the widget was told to reconnect (a closed transport, not "go away"), and does so as
    # soon as a process listens again
    assert reasons and "server disconnect" not in reasons[0].lower()
    second = Process(data_dir, port)
    processes.append(second)
    await second.start()
    for _ in range(100):
        if widget.connected and "/chat" in widget.namespaces:
            break
        await asyncio.sleep(0.1)
    assert widget.connected
    await widget.disconnect()
    assert (await second.stop())[0] == 0

    # the log: one JSON object a line, request lines carrying their request's id
    lines = [json.loads(line) for line in first.log]
    posts = [line for line in lines if '"POST /api/tickets' in line["message"]]
    assert posts and all(len(line["request_id"] or "") == 10 for line in posts)
    assert any(line["message"] == "stopped" for line in lines)
