"""GET /readyz for the balancer: ready while the data folder takes writes and the process is
not stopping; GET /healthz stays plain liveness."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.conftest import Server
from web.ops.install import READINESS


async def ready(server: Server) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/readyz") as response:
        return response.status, await response.json()


async def test_ready_while_the_data_folder_takes_writes(server: Server) -> None:
    assert await ready(server) == (200, {"status": "ready", "checks": {"data_dir": "ok"}})
    folder = server.config.data_dir
    moved = folder.with_name("moved-away")
    folder.rename(moved)
    folder.write_text("a file where the folder was")  # as good as a full or read-only disk
    try:
        assert await ready(server) == (
            503, {"status": "not_ready", "checks": {"data_dir": "failed"}}
        )
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
            assert response.status == 200  # alive all the same
    finally:
        folder.unlink()
        moved.rename(folder)
    assert (await ready(server))[0] == 200


async def test_a_part_that_hangs_is_not_ready(server: Server) -> None:
    async def database() -> None:
        await asyncio.sleep(60)  # a server that accepts the connection and never answers

    server.app[READINESS].add("database", database)
    status, body = await ready(server)
    assert (status, body["checks"]) == (503, {"data_dir": "ok", "database": "failed"})


async def test_not_ready_once_stopping(server: Server) -> None:
    await server.app.shutdown()  # what SIGTERM starts (web/ops/serve.py)
    assert await ready(server) == (503, {"status": "stopping", "checks": {"data_dir": "ok"}})
