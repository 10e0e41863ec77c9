"""Sliding-window counters for the abuse limits (ticket creation, look-ups, logins).

One protocol, two homes. In memory (below) when one process serves the desk: a restart forgets
the counts, which only gives an attacker a fresh window. In Redis (web/cluster/counters.py) when
several processes do, because a limit each process counted alone would let an attacker who
alternates between them act N times as often.

An attempt is counted *before* the work it guards (a disk read, a password hash), and given
back if it turns out fine: checking first and counting after the await would let a burst of
concurrent requests all pass the check. Each counter counts atomically on its own; a request
under several limits takes them one by one and gives back what it took when one refuses.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from web.config import Config
from web.desk.errors import rate_limited

# Every this many hits, keys whose window has passed are forgotten, so one-off keys (each
# failed email, each address) cannot grow memory for the life of the process.
SWEEP_EVERY = 1000


class Counter(Protocol):
    """At most `limit` attempts per key in any `window` seconds; a limit of 0 is no limit."""

    limit: int
    window: float

    async def take(self, key: str) -> float:
        """Count an attempt if the key may act: 0.0, or the seconds to wait (nothing counted)."""
        ...

    async def retry_after(self, key: str) -> float:
        """Seconds until `key` may act again; 0 when it may act now."""
        ...

    async def refund(self, key: str) -> None:
        """Give back the newest attempt of `key` (it succeeded, so it was no abuse)."""
        ...

    async def reset(self, key: str) -> None: ...


class Recent(Protocol):
    """Keys seen in the last `window` seconds (e.g. where an operator signed in from)."""

    async def add(self, key: str) -> None: ...

    async def has(self, key: str) -> bool: ...


class CounterHome(Protocol):
    """Where the counters live. `name` tells one limit's keys from another's."""

    def counter(self, name: str, limit: int, window_seconds: float) -> Counter: ...

    def recent(self, name: str, window_seconds: float) -> Recent: ...


class RateLimiter:
    """The in-memory Counter. `now` is for tests; the methods never await, so one call is
    atomic on the event loop."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._since_sweep = 0

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def _wait(self, key: str, now: float) -> float:
        if self.limit <= 0:
            return 0.0
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return 0.0
        return hits[0] + self.window - now

    async def retry_after(self, key: str, now: float | None = None) -> float:
        return self._wait(key, time.monotonic() if now is None else now)

    async def take(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        wait = self._wait(key, now)
        if wait or self.limit <= 0:
            return wait
        self._hits.setdefault(key, deque()).append(now)
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._sweep(now)
        return 0.0

    async def refund(self, key: str) -> None:
        hits = self._hits.get(key)
        if hits:
            hits.pop()
            if not hits:
                del self._hits[key]

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key in [k for k, hits in self._hits.items() if hits[-1] <= now - self.window]:
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class RecentKeys:
    """The in-memory Recent."""

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._seen: dict[str, float] = {}

    async def add(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._seen[key] = now
        if len(self._seen) % SWEEP_EVERY == 0:
            for old in [k for k, at in self._seen.items() if at <= now - self.window]:
                del self._seen[old]

    async def has(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        at = self._seen.get(key)
        return at is not None and at > now - self.window


class InMemory:
    """The CounterHome of one process."""

    def counter(self, name: str, limit: int, window_seconds: float) -> Counter:
        return RateLimiter(limit, window_seconds)

    def recent(self, name: str, window_seconds: float) -> Recent:
        return RecentKeys(window_seconds)


def email_key(email: str) -> str:
    """One mailbox, one key: "mario+1@x.it" and "mario+2@x.it" reach the same student, so
    the per-email limits must not count them apart (nor Gmail's ignored dots)."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"{local}@{domain}"


async def take_all(pairs: Sequence[tuple[Counter, str]]) -> None:
    """Count an attempt under every limit, or under none and raise 429 with the longest wait."""
    taken: list[tuple[Counter, str]] = []
    for limiter, key in pairs:
        wait = await limiter.take(key)
        if wait:
            await refund_all(taken)
            waits = [wait, *[await counter.retry_after(k) for counter, k in pairs]]
            raise rate_limited(max(waits))
        taken.append((limiter, key))


async def refund_all(pairs: Sequence[tuple[Counter, str]]) -> None:
    for limiter, key in pairs:
        await limiter.refund(key)


@dataclass
class Limits:
    create_per_ip: Counter
    # A campus network shares addresses, so the main creation limit keys on the email.
    create_per_email: Counter
    lookup_failures_per_ip: Counter
    lookup_failures_per_number: Counter
    # Strict for one email from one address; per email, a hard ceiling for every address and
    # a tighter one for those it has not opened or found a ticket from (web/desk/students.py).
    lookup_failures_per_email_address: Counter
    lookup_failures_per_email: Counter
    lookup_failures_per_email_untrusted: Counter
    trusted_lookups: Recent
    login_failures_per_ip: Counter
    # Strict, but only for one username from one address: someone guessing an operator's
    # password from elsewhere cannot lock that operator out of their own desk...
    login_failures_per_user_address: Counter
    # ...while guesses spread over many addresses still meet a ceiling per username.
    login_failures_per_user: Counter
    # (username, address) pairs that signed in lately: the per-username ceiling, there
    # against guessing from many addresses, never locks an operator out of their own desk
    trusted_logins: Recent
    student_messages_per_ticket: Counter
    uploads_per_conversation: Counter
    # Unauthenticated chats cost disk: new conversations and uploads per address, and the
    # events of one conversation (each one is a FAQ search and a write). That last one guards
    # the CPU of the process the chat's socket is on, and is asked at every step: it is
    # counted in that process even with Redis, which saves a round trip per step.
    conversations_per_ip: Counter
    uploads_per_ip: Counter
    chat_events_per_conversation: Counter

    @classmethod
    def from_config(cls, config: Config, home: CounterHome | None = None) -> Limits:
        at = home or InMemory()
        return cls(
            create_per_ip=at.counter("create_per_ip", config.create_per_ip_per_minute, 60),
            create_per_email=at.counter("create_per_email", 5, 3600),
            lookup_failures_per_ip=at.counter(
                "lookup_failures_per_ip", config.lookup_failures_per_ip_per_hour, 3600
            ),
            lookup_failures_per_number=at.counter("lookup_failures_per_number", 10, 900),
            lookup_failures_per_email_address=at.counter(
                "lookup_failures_per_email_address", 10, 900
            ),
            lookup_failures_per_email=at.counter("lookup_failures_per_email", 100, 3600),
            lookup_failures_per_email_untrusted=at.counter(
                "lookup_failures_per_email_untrusted", 10, 900
            ),
            trusted_lookups=at.recent("trusted_lookups", 30 * 24 * 3600),
            login_failures_per_ip=at.counter("login_failures_per_ip", 20, 900),
            login_failures_per_user_address=at.counter("login_failures_per_user_address", 5, 900),
            login_failures_per_user=at.counter("login_failures_per_user", 50, 900),
            trusted_logins=at.recent("trusted_logins", 30 * 24 * 3600),
            student_messages_per_ticket=at.counter("student_messages_per_ticket", 30, 600),
            uploads_per_conversation=at.counter("uploads_per_conversation", 10, 600),
            conversations_per_ip=at.counter(
                "conversations_per_ip", config.chats_per_ip_per_hour, 3600
            ),
            uploads_per_ip=at.counter("uploads_per_ip", config.uploads_per_ip_per_hour, 3600),
            chat_events_per_conversation=RateLimiter(40, 60),
        )
