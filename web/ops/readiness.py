"""GET /readyz: whether this process can serve now, for the balancer (GET /healthz stays
"the process is alive").

Ready means every check passes within CHECK_SECONDS and the process is not stopping. The
checks are a named list (web/ops/install.py): the data folder must take a write, or, with
HELPDESK_DATABASE_URL, the database must answer; a part that lives on a server of its own adds
its check the same way (`app[READINESS].add(name, check)`). Redis adds none: without it every
process still serves, on its own (web/cluster), and a check that failed on every process at
once would take the whole desk out of the balancer. The answer names each check and says ok or
failed, nothing more; why is in the log.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from web.config import MAX_ATTACHMENT_BYTES

log = logging.getLogger("helpdesk.ops")
CHECK_SECONDS = 2.0
# An attachment, and room again for the temporary copy of the file being replaced beside it.
MIN_FREE_BYTES = 2 * MAX_ATTACHMENT_BYTES
Check = Callable[[], Awaitable[None]]


class Readiness:
    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}
        self.stopping = False

    def add(self, name: str, check: Check) -> None:
        """A check raises (or takes longer than CHECK_SECONDS) when its part cannot serve."""
        self.checks[name] = check

    async def stop(self, _app: web.Application) -> None:
        """on_shutdown: from now on, not ready (the balancer sends the next ones elsewhere)."""
        self.stopping = True

    async def handle(self, _request: web.Request) -> web.Response:
        results = dict(
            zip(self.checks, await asyncio.gather(*map(self._run, self.checks)), strict=True)
        )
        ready = not self.stopping and all(results.values())
        body = {
            "status": "ready" if ready else ("stopping" if self.stopping else "not_ready"),
            "checks": {name: "ok" if ok else "failed" for name, ok in results.items()},
        }
        return web.json_response(
            body, status=200 if ready else 503, headers={"Cache-Control": "no-store"}
        )

    async def _run(self, name: str) -> bool:
        try:
            await asyncio.wait_for(self.checks[name](), CHECK_SECONDS)
        except Exception as exc:  # whatever the part raised, it cannot serve
            log.warning("readiness: %s failed: %s", name, str(exc) or type(exc).__name__)
            return False
        return True


def writable(folder: Path) -> Check:
    """The folder takes a file: written, flushed to disk, removed; and its disk has room for a
    student's attachment and the ticket that carries it. A disk with a few KiB left takes the
    probe's two bytes and refuses every ticket: the room is what fails here first."""

    def probe() -> None:
        disk = os.statvfs(folder)
        free = disk.f_bavail * disk.f_frsize
        if free < MIN_FREE_BYTES:
            raise OSError(
                errno.ENOSPC,
                f"{free // 1024} KiB free on the disk of {folder}, fewer than the "
                f"{MIN_FREE_BYTES // 1024} KiB a ticket with its attachment may need",
            )
        path = folder / f".ready-{secrets.token_hex(4)}"
        try:
            with path.open("wb") as file:
                file.write(b"ok")
                file.flush()
                os.fsync(file.fileno())
        finally:
            path.unlink(missing_ok=True)

    async def check() -> None:
        await asyncio.to_thread(probe)

    return check
