"""The access log: what a request did, never a student's data from its query string."""

from __future__ import annotations

import logging

import aiohttp
import pytest
import yarl

from tests.conftest import Server


async def test_the_access_log_keeps_the_path_and_drops_the_query(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """The console's search sends an email as ?q=: a log line outlives an erasure."""
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}/api/console/tickets",
        params={"q": "mario.rossi@example.org"},
        headers={"Referer": f"{server.url}/ticket?number=000412", "User-Agent": "prova"},
    ) as response:
        assert response.status == 401
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert '"GET /api/console/tickets HTTP/1.1" 401' in line
    assert line.endswith(f'"{server.url}/ticket" "prova"')
    assert "mario.rossi" not in line and "000412" not in line


async def test_a_path_cannot_write_a_log_line_of_its_own(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """A decoded %0A would end the access line and start a forged one."""
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    forged = "/nothing%0A2026-12-07%2005:30:00%20INFO%20console%20login%20failed%20for%20boss"
    async with aiohttp.ClientSession() as http, http.get(
        yarl.URL(f"{server.url}{forged}", encoded=True)
    ) as response:
        assert response.status == 404
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert "\n" not in line and f'"GET {forged} HTTP/1.1" 404' in line
