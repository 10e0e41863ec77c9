"""Per connection, what a socket may cost the others: a bucket of events (a burst, then a
steady rate), and strikes for what had to be refused. Packets past the bucket are dropped; a
socket that collects MAX_STRIKES refusals or drops is disconnected. A refusal is answered
with one `bad_request` error event and logged once per connection, without a traceback."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("helpdesk.sockets")
# A person clicks, types and reconnects far below this; a script that floods does not.
BURST = 30
PER_SECOND = 10.0
MAX_STRIKES = 5


class Refusing(Protocol):
    """A namespace that can tell one of its sockets, in its language, that it refused
    what the socket sent."""

    async def refuse(self, sid: str) -> None: ...


@dataclass
class _Connection:
    tokens: float
    at: float
    strikes: int = 0


class Guard:
    def __init__(
        self,
        *,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        max_strikes: int = MAX_STRIKES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.max_strikes = max_strikes
        self.clock = clock
        self.server: Any = None
        self._connections: dict[str, _Connection] = {}

    def attach(self, server: Any) -> None:
        self.server = server

    def _connection(self, eio_sid: str) -> _Connection:
        now = self.clock()
        found = self._connections.get(eio_sid)
        if found is None:
            found = self._connections[eio_sid] = _Connection(tokens=self.burst, at=now)
        else:
            found.tokens = min(self.burst, found.tokens + (now - found.at) * self.per_second)
            found.at = now
        return found

    async def admit(self, eio_sid: str) -> bool:
        """Whether this packet may be handled; a dropped one is a strike."""
        connection = self._connection(eio_sid)
        if connection.tokens >= 1:
            connection.tokens -= 1
            return True
        await self._strike(eio_sid, connection, "sends faster than allowed")
        return False

    async def malformed(self, eio_sid: str, namespace: str, reason: str) -> None:
        """A packet or payload refused: a strike, and one `bad_request` to the socket (the
        last strike is answered by the disconnection)."""
        if not await self._strike(eio_sid, self._connection(eio_sid), f"{namespace}: {reason}"):
            return
        server = self.server
        connected = {
            name: sid
            for name in server.namespace_handlers
            if (sid := server.manager.sid_from_eio_sid(eio_sid, name)) is not None
        }
        # A packet too broken to name its namespace is answered where the socket is, if it is
        # in one only.
        if namespace not in connected and len(connected) == 1:
            namespace = next(iter(connected))
        handler = server.namespace_handlers.get(namespace)
        if namespace in connected and hasattr(handler, "refuse"):
            refusing: Refusing = handler
            await refusing.refuse(connected[namespace])

    async def malformed_event(self, sid: str, namespace: str, reason: str) -> None:
        eio_sid = self.server.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            await self.malformed(eio_sid, namespace, reason)

    async def _strike(self, eio_sid: str, connection: _Connection, reason: str) -> bool:
        """Count a strike; False once the connection is closed for it."""
        connection.strikes += 1
        if connection.strikes == 1:
            log.warning("socket %s: refused what it sent (%s)", eio_sid, reason)
        if connection.strikes < self.max_strikes:
            return True
        if connection.strikes == self.max_strikes:
            log.warning("socket %s: disconnected after %d refusals", eio_sid, connection.strikes)
            await self.server.eio.hang_up(eio_sid)
        return False

    def forget(self, eio_sid: str) -> None:
        self._connections.pop(eio_sid, None)
