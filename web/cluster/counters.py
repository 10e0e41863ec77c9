"""The abuse limits of web/desk/limits.py counted in Redis, once for every process.

A key's attempts are a sorted set scored by the time each was made, read from Redis's own clock
so that processes on several machines agree on the window; one Lua script trims, counts and adds,
so two processes taking at once cannot both slip under the limit.

While Redis is away each counter falls back to this process's memory: every process then enforces
the limit on its own, so an attacker gets at most N processes' worth of attempts for the length
of the outage, where failing closed would shut every student out of the desk and failing open
would lift the limits altogether. Counts taken in memory stay there when Redis is back.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets

from web.cluster.link import RedisLink, RedisUnavailable
from web.desk.limits import Counter, RateLimiter, Recent, RecentKeys

# KEYS[1]: one key's attempts. ARGV: limit, window (ms), the member to add, or "" to only ask.
# Returns the milliseconds to wait, or 0 (and then the attempt is counted).
# An attempt scored after now was counted before Redis's clock stepped back (NTP): it counts
# as made now, or the key would be held for the window and the whole step (a student told to
# come back in an hour and a minute by a one-minute limit).
WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local ahead = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
for _, member in ipairs(ahead) do
  redis.call('ZADD', KEYS[1], now, member)
end
if #ahead > 0 then
  redis.call('PEXPIRE', KEYS[1], window)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return 0
"""


def digest_key(secret: bytes) -> bytes:
    """The key of the keys' digests, drawn from the deployment's secret (which every process
    shares), and not the secret itself: a digest must not be a way to test guesses of the key
    that signs the tickets' tokens."""
    return hashlib.blake2b(secret, digest_size=32, person=b"helpdesk-limits").digest()


def hashed(key: str, secret: bytes) -> str:
    """Keys are emails, addresses and usernames: Redis holds a keyed digest instead, which
    counts the same and leaves no personal data in its snapshots or in MONITOR's output. Keyed,
    because a plain digest gives them back to whoever hashes the candidates: every IPv4 address
    in minutes, the university's list of students' emails in a moment."""
    return hashlib.blake2b(key.encode(), digest_size=16, key=secret).hexdigest()


class _Keys:
    """Where one limit keeps each key's count in Redis."""

    def __init__(self, prefix: str, secret: bytes) -> None:
        self._prefix = prefix
        self._secret = secret

    def of(self, key: str) -> str:
        return self._prefix + hashed(key, self._secret)


class RedisCounter:
    def __init__(
        self, link: RedisLink, secret: bytes, name: str, limit: int, window_seconds: float
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._link = link
        self._keys = _Keys(f"{link.prefix}limit:{name}:", secret)
        self._window_ms = max(1, round(window_seconds * 1000))
        self._script = link.client.register_script(WINDOW)
        self._here = RateLimiter(limit, window_seconds)

    async def _ask(self, key: str, member: str) -> float:
        waited = await self._link.call(
            lambda: self._script(
                keys=[self._keys.of(key)], args=[self.limit, self._window_ms, member]
            )
        )
        return int(waited) / 1000

    async def take(self, key: str) -> float:
        if self.limit <= 0:
            return 0.0
        try:
            # The member only has to be unique: two attempts in one millisecond are two.
            return await self._ask(key, secrets.token_hex(8))
        except RedisUnavailable:
            return await self._here.take(key)

    async def retry_after(self, key: str) -> float:
        if self.limit <= 0:
            return 0.0
        try:
            return await self._ask(key, "")
        except RedisUnavailable:
            return await self._here.retry_after(key)

    async def refund(self, key: str) -> None:
        try:
            await self._link.call(lambda: self._link.client.zpopmax(self._keys.of(key)))
        except RedisUnavailable:
            await self._here.refund(key)

    async def reset(self, key: str) -> None:
        await self._here.reset(key)
        with contextlib.suppress(RedisUnavailable):
            await self._link.call(lambda: self._link.client.delete(self._keys.of(key)))


class RedisRecent:
    def __init__(self, link: RedisLink, secret: bytes, name: str, window_seconds: float) -> None:
        self._link = link
        self._keys = _Keys(f"{link.prefix}recent:{name}:", secret)
        self._window_ms = max(1, round(window_seconds * 1000))
        self._here = RecentKeys(window_seconds)

    async def add(self, key: str) -> None:
        # Kept here too: whoever signed in on this process stays trusted on it through an
        # outage (a month-long window would otherwise restart at every Redis restart).
        await self._here.add(key)
        with contextlib.suppress(RedisUnavailable):
            await self._link.call(
                lambda: self._link.client.set(self._keys.of(key), 1, px=self._window_ms)
            )

    async def has(self, key: str) -> bool:
        try:
            found = await self._link.call(
                lambda: self._link.client.exists(self._keys.of(key))
            )
        except RedisUnavailable:
            return await self._here.has(key)
        return bool(found) or await self._here.has(key)


class RedisCounters:
    """The CounterHome of processes that share one Redis and one secret (HELPDESK_SECRET_KEY,
    which a database requires): the same key then has the same digest on every process."""

    def __init__(self, link: RedisLink, secret: bytes) -> None:
        self._link = link
        self._secret = digest_key(secret)

    def counter(self, name: str, limit: int, window_seconds: float) -> Counter:
        return RedisCounter(self._link, self._secret, name, limit, window_seconds)

    def recent(self, name: str, window_seconds: float) -> Recent:
        return RedisRecent(self._link, self._secret, name, window_seconds)
