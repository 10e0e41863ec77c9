"""`python -m web` started as systemd starts a service, with a soft limit on open files far
below its hard one: it still serves more students at once than the soft limit allows."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from pathlib import Path

import aiohttp

from tests.conftest import FAQ_DIR, ROOT, free_port
from tests.web.ops.test_shutdown import VALID

SOFT = 256  # systemd's is 1,024: the same trap, at a size a test can reach
STUDENTS = 400


def low_soft_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, hard))


async def holds_a_connection(port: int) -> tuple[bytes, asyncio.StreamWriter | None]:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        return await asyncio.wait_for(reader.readline(), 10), writer
    except (OSError, TimeoutError) as e:
        return repr(e).encode(), None


async def test_more_students_at_once_than_the_soft_limit_on_open_files(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HELPDESK_DATA_DIR": str(tmp_path / "var"),
        "HELPDESK_PORT": str(port),
        "HELPDESK_FAQ_DIR": str(FAQ_DIR),
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web", cwd=ROOT, env=env, preexec_fn=low_soft_limit,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    held: list[tuple[bytes, asyncio.StreamWriter | None]] = []
    try:
        assert server.stdout is not None
        while b"Press Ctrl+C" not in await asyncio.wait_for(server.stdout.readline(), 30):
            pass
        held = await asyncio.gather(*(holds_a_connection(port) for _ in range(STUDENTS)))
        assert [line for line, _ in held if not line.startswith(b"HTTP/1.1 200")] == []

        # one more student, with every other connection still open
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{port}/api/tickets", json={**VALID, "email": "last@example.org"},
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            assert response.status == 201
    finally:
        for _, writer in held:
            if writer is not None:
                writer.close()
        server.terminate()
        await server.communicate()
