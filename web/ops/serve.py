"""`python -m web`: listen until SIGTERM (or Ctrl+C), then stop cleanly.

The stop, in order (aiohttp's runner does the middle steps): the listening socket closes, so
new connections go to the other processes or wait for the restart; idle keep-alive connections
close; every live socket is closed at the Engine.IO level, which the widget and the console
take as "reconnect" (create_app's on_shutdown); requests in flight get up to
HELPDESK_SHUTDOWN_SECONDS to finish, and their answers are sent; then the mail worker and the
storage close. Storage acknowledges a ticket, a message or an upload only once it is on disk,
and writes what it queued (chats' progress, the journals) as it closes, so whatever was
answered with a success survives; whatever was cut off was never answered (aiohttp stops
reading at the stop: a request whose body is still arriving gets no answer, not a success).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from web.app import create_app
from web.config import Config
from web.http.server import Runner
from web.ops import collector
from web.ops.open_files import raise_open_files

log = logging.getLogger("helpdesk")
# The storage and the mail worker close after the requests: a little time for them too.
CLOSE_MARGIN_SECONDS = 10


class CannotListen(Exception):
    """HELPDESK_HOST and HELPDESK_PORT name no address this process may listen on: a setting
    to change, or another program to stop, not a fault that trying again would mend."""


async def serve(config: Config, announce: Callable[[web.Application], Awaitable[None]]) -> bool:
    """Serve until a stop signal; False when the stop took longer than it may. announce runs
    once the server listens, with the app started (its storage open)."""
    open_files = raise_open_files()
    app = create_app(config)
    runner = Runner(
        app,
        read_timeout=config.read_timeout_seconds,
        shutdown_timeout=config.shutdown_seconds,
    )
    await runner.setup()
    collector.settle()
    try:
        await _listen(runner, config)
        # Once it listens: a refused start says only why.
        log.info("open files: up to %s", open_files)
        await announce(app)
        await _stop_signal()
        log.info("stopping: no new connections; finishing the requests in flight")
    finally:
        clean = await _bounded(runner.cleanup(), config.shutdown_seconds + CLOSE_MARGIN_SECONDS)
    log.info("stopped" if clean else "stopped, but the clean stop overran its time")
    return clean


async def _listen(runner: web.AppRunner, config: Config) -> None:
    try:
        await web.TCPSite(runner, config.host, config.port).start()
    except socket.gaierror as e:
        raise CannotListen(
            f"HELPDESK_HOST {config.host!r} is not an address or a name this machine can "
            f"resolve ({e.strerror}): set it to an address of this machine"
        ) from None
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise CannotListen(
                f"port {config.port} on {config.host} is in use by another program: "
                "stop it, or set HELPDESK_PORT to a free port"
            ) from None
        # The rest are settings too: an address not this machine's, a port below 1024 for a
        # process without the right to it.
        raise CannotListen(
            f"cannot listen on {config.host} port {config.port} ({e.strerror}): "
            "check HELPDESK_HOST and HELPDESK_PORT"
        ) from None


async def _stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _bounded(cleanup: Coroutine[Any, Any, None], seconds: float) -> bool:
    try:
        await asyncio.wait_for(cleanup, seconds)
    except TimeoutError:
        return False
    return True
