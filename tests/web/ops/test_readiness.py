"""GET /readyz for the balancer: ready while the data folder takes writes (or, on PostgreSQL,
the database answers) and the process is not stopping; GET /healthz stays plain liveness."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Server, make_config, start_server
from tests.servers import PostgresServer
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


async def test_the_log_names_a_failure_that_has_no_message(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    async def database() -> None:
        raise TimeoutError()  # what asyncio.wait_for raises: no message at all

    server.app[READINESS].add("database", database)
    with caplog.at_level(logging.WARNING, logger="helpdesk.ops"):
        assert (await ready(server))[0] == 503
    assert "readiness: database failed: TimeoutError" in caplog.messages


async def test_not_ready_once_stopping(server: Server) -> None:
    await server.app.shutdown()  # what SIGTERM starts (web/ops/serve.py)
    assert await ready(server) == (503, {"status": "stopping", "checks": {"data_dir": "ok"}})


async def test_on_postgresql_ready_while_the_database_answers(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    name = postgres.new_database()
    server = await start_server(
        make_config(tmp_path / "var", database_url=postgres.url(name))
    )
    try:
        # the data folder is not used then: the database is what must answer
        assert await ready(server) == (200, {"status": "ready", "checks": {"database": "ok"}})
        postgres.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        postgres.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        assert await ready(server) == (
            503, {"status": "not_ready", "checks": {"database": "failed"}}
        )
        postgres.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        for _ in range(50):  # the pool connects again on its own
            if (await ready(server))[0] == 200:
                break
            await asyncio.sleep(0.2)
        assert (await ready(server))[0] == 200
    finally:
        postgres.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await server.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB file system, as a data folder's disk with only that much left."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True, check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


async def test_a_disk_without_room_for_an_attachment_is_not_ready(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The probe's two bytes fit; a student's 2 MiB attachment and its ticket would not.
    server = await start_server(make_config(small_disk / "var"))
    try:
        with caplog.at_level(logging.WARNING, logger="helpdesk.ops"):
            assert await ready(server) == (
                503, {"status": "not_ready", "checks": {"data_dir": "failed"}}
            )
        [line] = [m for m in caplog.messages if m.startswith("readiness: data_dir failed")]
        assert f"KiB free on the disk of {small_disk / 'var'}, fewer than the 4096 KiB" in line
    finally:
        await server.stop()
