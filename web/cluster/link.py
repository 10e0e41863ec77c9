"""The process's one Redis client, and whether Redis answers.

When Redis stops answering, each user of the link falls back to what this process knows by
itself (see web/cluster/__init__.py), the outage is logged once, and Redis is left alone for
RETRY_SECONDS at a time instead of being asked, and waited for, on every request. The first
answer after that is logged too, and whoever must rewrite what Redis lost is told.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from redis import exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger("helpdesk.cluster")
T = TypeVar("T")

# Redis answers in well under a millisecond on a LAN: a second means it is gone.
TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = 5.0
# What losing Redis means: a connection refused or cut, a timeout, or a restart still loading.
LOST = (exceptions.ConnectionError, exceptions.TimeoutError, OSError)


class RedisUnavailable(Exception):
    """Redis did not answer, or is being left alone after it did not."""


class RedisUnreachable(Exception):
    """Redis does not answer at start: the process refuses to start half-shared."""


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


class RedisLink:
    def __init__(self, url: str, *, retry_seconds: float = RETRY_SECONDS) -> None:
        self.url = without_password(url)
        self.client = Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            # Once, at once: after a Redis restart every pooled connection is dead, and the
            # second try opens a fresh one. redis-py's default (more tries, pauses of seconds)
            # would hold a request that long while Redis is down.
            retry=Retry(NoBackoff(), 1),
        )
        db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.prefix = "helpdesk:"
        # Pub/sub ignores the database number: two desks sharing a Redis server on two
        # databases would hear each other's events, so the channel names the database.
        self.channel = f"helpdesk:{db}:live"
        self.retry_seconds = retry_seconds
        self._down_since: float | None = None
        self._next_try = 0.0
        self._on_return: list[Callable[[], None]] = []

    def on_return(self, callback: Callable[[], None]) -> None:
        """Call `callback` when Redis answers again after an outage (it may have lost
        everything: a restart without persistence starts empty)."""
        self._on_return.append(callback)

    async def check(self) -> None:
        try:
            await cast(Awaitable[bool], self.client.ping())  # typed as sync-or-async
        except LOST as exc:
            raise RedisUnreachable(
                f"Redis at {self.url} (HELPDESK_REDIS_URL) does not answer: {exc}. Check that "
                f"redis-server runs and listens there, and any password: "
                f"redis-cli -u '{self.url}' ping"
            ) from exc

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """The result of `make()`, or RedisUnavailable (at once while Redis is left alone)."""
        if self._down_since is not None and time.monotonic() < self._next_try:
            raise RedisUnavailable(self.url)
        try:
            result = await make()
        except LOST as exc:
            self.failed(exc)
            raise RedisUnavailable(self.url) from exc
        self.answered()
        return result

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._next_try = now + self.retry_seconds
        if self._down_since is None:
            self._down_since = now
            log.error(
                "Redis at %s does not answer (%s): until it is back, live events reach only "
                "the sockets of this process, and limits and presence count this process alone",
                self.url,
                exc,
            )

    def answered(self) -> None:
        if self._down_since is None:
            return
        log.warning(
            "Redis at %s answers again after %.0f s: live events, limits and presence are "
            "shared again",
            self.url,
            time.monotonic() - self._down_since,
        )
        self._down_since = None
        for callback in self._on_return:
            callback()

    async def close(self) -> None:
        await self.client.aclose()
