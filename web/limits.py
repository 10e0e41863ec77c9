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
