"""kill -9 of one of two `python -m web` processes on one database (CONTRACT.md section 7):
every ticket either acknowledged is there, no number was given twice, and the killed process
starts again over the same database. Like tests/storage/test_crash.py, but across processes,
with the database as the only shared state."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from storage.postgres import PostgresStorage
from tests.processes import WebProcess
from tests.web.student.test_api import VALID

SECRET = "crash-test-key-0123456789abcdefghij"


class Students:
    """Students opening tickets on one process as fast as it answers, several at once; the
    numbers it acknowledged with a 201, and how many requests got no answer at all."""

    def __init__(self, process: WebProcess, name: str) -> None:
        self.process = process
        self.name = name
        self.acknowledged: list[str] = []
        self.unanswered = 0
        self._n = 0

    async def open_tickets(self) -> None:
        async with aiohttp.ClientSession(base_url=self.process.url) as http:
            while True:
                self._n += 1
                fields = {**VALID, "email": f"{self.name}{self._n}@example.org"}
                try:
                    async with http.post("/api/tickets", json=fields) as response:
                        if response.status == 201:
                            self.acknowledged.append((await response.json())["number"])
                        else:
                            assert response.status == 503, await response.text()
                except aiohttp.ClientError:
                    self.unanswered += 1  # the process died under this request
                    await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.slow
async def test_kill_9_of_one_process_loses_nothing_it_acknowledged(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_SECRET_KEY": SECRET,
        "HELPDESK_CREATE_PER_IP_PER_MINUTE": "0",
    }
    a, b = WebProcess("a", tmp_path / "a", env), WebProcess("b", tmp_path / "b", env)
    tasks: list[asyncio.Task[None]] = []
    try:
        a.start()
        b.start()
        await asyncio.gather(asyncio.to_thread(a.wait_ready), asyncio.to_thread(b.wait_ready))
        on_a, on_b = Students(a, "a"), Students(b, "b")
        tasks = [asyncio.create_task(s.open_tickets()) for s in (on_a, on_b) for _ in range(4)]
        await until(lambda: len(on_a.acknowledged) >= 10 and len(on_b.acknowledged) >= 10)
        a.kill()  # in the middle of its requests
        b_before = len(on_b.acknowledged)
        await until(lambda: on_a.unanswered > 0 and len(on_b.acknowledged) >= b_before + 10)
        a_before = len(on_a.acknowledged)
        a.start()  # over the same database, as systemd would
        await asyncio.to_thread(a.wait_ready)
        await until(lambda: len(on_a.acknowledged) > a_before)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        a.stop()
        b.stop()

    acknowledged = on_a.acknowledged + on_b.acknowledged
    assert len(set(acknowledged)) == len(acknowledged)  # no number given twice
    async with await PostgresStorage.open(database_url) as storage:
        kept = {summary.number for summary in await storage.tickets.summaries()}
        # and each is whole: its thread and the mail that announces it
        for number in acknowledged[:: max(1, len(acknowledged) // 20)]:
            ticket = await storage.tickets.get(number)
            assert ticket is not None and ticket.messages and ticket.outbox
    assert set(acknowledged) <= kept
