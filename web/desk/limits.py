"""Sliding-window counters for the abuse limits (ticket creation, look-ups, logins).

In memory: a restart forgets them, which only gives an attacker a fresh window; one process
serves the data folder (storage refuses a second one), so one memory is the whole truth.

An attempt is counted *before* the work it guards (a disk read, a password hash), and given
back if it turns out fine: checking first and counting after the await would let a burst of
concurrent requests all pass the check.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from web.config import Config
from web.desk.errors import rate_limited

# Every this many hits, keys whose window has passed are forgotten, so one-off keys (each
# failed email, each address) cannot grow memory for the life of the process.
SWEEP_EVERY = 1000


class RateLimiter:
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

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds until `key` may act again; 0 when it may act now."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return 0.0
        return hits[0] + self.window - now

    def hit(self, key: str, now: float | None = None) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic() if now is None else now
        self._recent(key, now)
        self._hits.setdefault(key, deque()).append(now)
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._sweep(now)

    def take(self, key: str, now: float | None = None) -> float:
        """Count an attempt if the key may act: 0.0, or the seconds to wait (nothing counted)."""
        wait = self.retry_after(key, now)
        if not wait:
            self.hit(key, now)
        return wait

    def refund(self, key: str) -> None:
        """Give back the newest attempt of `key` (it succeeded, so it was no abuse)."""
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

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class RecentKeys:
    """Keys seen in the last `window_seconds` (e.g. where an operator signed in from)."""

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._seen: dict[str, float] = {}

    def add(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._seen[key] = now
        if len(self._seen) % SWEEP_EVERY == 0:
            for old in [k for k, at in self._seen.items() if at <= now - self.window]:
                del self._seen[old]

    def has(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        at = self._seen.get(key)
        return at is not None and at > now - self.window


def email_key(email: str) -> str:
    """One mailbox, one key: "mario+1@x.it" and "mario+2@x.it" reach the same student, so
    the per-email limits must not count them apart (nor Gmail's ignored dots)."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
    return f"{local}@{domain}"


def take_all(pairs: Sequence[tuple[RateLimiter, str]]) -> None:
    """Count an attempt under every limit, or under none and raise 429 with the longest wait."""
    taken: list[tuple[RateLimiter, str]] = []
    for limiter, key in pairs:
        wait = limiter.take(key)
        if wait:
            refund_all(taken)
            raise rate_limited(max([wait, *(limiter.retry_after(key) for limiter, key in pairs)]))
        taken.append((limiter, key))


def refund_all(pairs: Sequence[tuple[RateLimiter, str]]) -> None:
    for limiter, key in pairs:
        limiter.refund(key)


@dataclass
class Limits:
    create_per_ip: RateLimiter
    # A campus network shares addresses, so the main creation limit keys on the email.
    create_per_email: RateLimiter
    lookup_failures_per_ip: RateLimiter
    lookup_failures_per_number: RateLimiter
    lookup_failures_per_email: RateLimiter
    login_failures_per_ip: RateLimiter
    # Strict, but only for one username from one address: someone guessing an operator's
    # password from elsewhere cannot lock that operator out of their own desk...
    login_failures_per_user_address: RateLimiter
    # ...while guesses spread over many addresses still meet a ceiling per username.
    login_failures_per_user: RateLimiter
    # (username, address) pairs that signed in lately: the per-username ceiling, there
    # against guessing from many addresses, never locks an operator out of their own desk
    trusted_logins: RecentKeys
    student_messages_per_ticket: RateLimiter
    uploads_per_conversation: RateLimiter
    # Unauthenticated chats cost disk: new conversations and uploads per address, and the
    # events of one conversation (each one is a FAQ search and a durable write).
    conversations_per_ip: RateLimiter
    uploads_per_ip: RateLimiter
    chat_events_per_conversation: RateLimiter

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        return cls(
            create_per_ip=RateLimiter(config.create_per_ip_per_minute, 60),
            create_per_email=RateLimiter(5, 3600),
            lookup_failures_per_ip=RateLimiter(20, 900),
            lookup_failures_per_number=RateLimiter(10, 900),
            lookup_failures_per_email=RateLimiter(10, 900),
            login_failures_per_ip=RateLimiter(20, 900),
            login_failures_per_user_address=RateLimiter(5, 900),
            login_failures_per_user=RateLimiter(50, 900),
            trusted_logins=RecentKeys(30 * 24 * 3600),
            student_messages_per_ticket=RateLimiter(30, 600),
            uploads_per_conversation=RateLimiter(10, 600),
            conversations_per_ip=RateLimiter(config.chats_per_ip_per_hour, 3600),
            uploads_per_ip=RateLimiter(config.uploads_per_ip_per_hour, 3600),
            chat_events_per_conversation=RateLimiter(40, 60),
        )
