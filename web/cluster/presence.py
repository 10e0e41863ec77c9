"""Presence (web/desk/presence.py) across processes: each process publishes what its own sockets
show in one Redis hash, and a reader merges the hashes of the live processes.

Only the owner writes its hash, field by field as its sockets change (one MULTI each, in order
under a lock), and whole at every heartbeat; the hash expires TTL_SECONDS after the last beat, so
the sockets of a process killed with -9 drop out of presence within that time, and a Redis that
restarted empty is filled again at the next beat. One Lua script reads a field of every live
process at once, and forgets the processes whose hash expired.

While Redis is away, this process answers from its own sockets: the console then shows the
operators connected here, and a student connected elsewhere counts as not watching, so their
reply goes by mail as well: a mail too many rather than a reply nobody sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from web.cluster.link import RedisLink, RedisUnavailable
from web.desk.presence import LocalPresence, people

HEARTBEAT_SECONDS = 10.0
TTL_SECONDS = 30.0

# KEYS[1]: the set of process ids. ARGV: the prefix of their hashes, the field to read.
READ = """
local found = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('SREM', KEYS[1], id)
  else
    local value = redis.call('HGET', key, ARGV[2])
    if value then table.insert(found, value) end
  end
end
return found
"""

OPERATORS = "operators"
# The fingerprint of the key the process signs with (web/desk/secret.fingerprint).
KEY = "key"


def viewers_field(number: str) -> str:
    return f"viewers:{number}"


def watching_field(number: str) -> str:
    return f"watching:{number}"


class RedisPresence:
    def __init__(
        self,
        link: RedisLink,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        ttl_seconds: float = TTL_SECONDS,
    ) -> None:
        self.here = LocalPresence()
        self._link = link
        self._processes = f"{link.prefix}presence"
        self._hash_prefix = f"{link.prefix}presence:"
        self._id = uuid.uuid4().hex
        self._hash = self._hash_prefix + self._id
        self._heartbeat = heartbeat_seconds
        self._ttl_ms = round(ttl_seconds * 1000)
        self._read = link.client.register_script(READ)
        self._lock = asyncio.Lock()
        self._beat_now = asyncio.Event()
        self._beating: asyncio.Task[None] | None = None
        self._stopping = False
        self.key_check: str | None = None
        link.on_return(self._beat_now.set)

    # --- what this process publishes --------------------------------------------------------

    def _value(self, field: str) -> str | None:
        """The field as this process's sockets make it now; None: nothing to say."""
        kind, _, number = field.partition(":")
        if kind == OPERATORS:
            names = self.here.operators_here()
            return json.dumps(names) if names else None
        if kind == "viewers":
            names = self.here.viewers_here(number)
            return json.dumps(names) if names else None
        count = self.here.watchers_here(number)
        return str(count) if count else None

    def _fields(self) -> dict[str, str]:
        fields = [
            OPERATORS,
            *map(viewers_field, self.here.tickets_viewed_here()),
            *map(watching_field, self.here.tickets_watched_here()),
        ]
        found = {f: v for f in fields if (v := self._value(f)) is not None}
        return found if self.key_check is None else {KEY: self.key_check, **found}

    async def _publish(self, field: str) -> None:
        async with self._lock:
            value = self._value(field)  # read under the lock: the latest write wins
            with contextlib.suppress(RedisUnavailable):
                await self._link.call(lambda: self._write(field, value))

    async def _write(self, field: str, value: str | None) -> Any:
        async with self._link.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._processes, self._id)
            if value is None:
                pipe.hdel(self._hash, field)
            else:
                pipe.hset(self._hash, field, value)
            pipe.pexpire(self._hash, self._ttl_ms)
            return await pipe.execute()

    async def _write_all(self) -> Any:
        async with self._link.client.pipeline(transaction=True) as pipe:
            pipe.delete(self._hash)
            fields = self._fields()
            if fields:
                pipe.hset(self._hash, mapping=fields)
                pipe.pexpire(self._hash, self._ttl_ms)
                pipe.sadd(self._processes, self._id)
            return await pipe.execute()

    async def beat(self) -> None:
        """Write the whole hash again and push its expiry back."""
        async with self._lock:
            with contextlib.suppress(RedisUnavailable):
                await self._link.call(self._write_all)

    async def _beat_forever(self) -> None:
        while not self._stopping:
            await self.beat()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._heartbeat):
                    await self._beat_now.wait()
            self._beat_now.clear()

    def start(self) -> None:
        self._stopping = False
        self._beating = asyncio.create_task(self._beat_forever())

    async def stop(self) -> None:
        """Stop beating and take this process's sockets out at once (they are closing)."""
        if self._beating is not None:
            # Asked, not cancelled: a cancellation that lands inside redis-py's calls is not
            # always delivered (seen in tests), and this would then wait for ever.
            self._stopping = True
            self._beat_now.set()
            await self._beating
            self._beating = None
        with contextlib.suppress(RedisUnavailable):
            await self._link.call(lambda: self._link.client.delete(self._hash))

    # --- the Presence protocol --------------------------------------------------------------

    async def operator_on(self, sid: str, username: str, name: str) -> None:
        await self.here.operator_on(sid, username, name)
        await self._publish(OPERATORS)

    async def operator_off(self, sid: str) -> None:
        await self.here.operator_off(sid)
        await self._publish(OPERATORS)

    async def viewing(self, sid: str, number: str, on: bool) -> None:
        await self.here.viewing(sid, number, on)
        await self._publish(viewers_field(number))

    async def watching(self, sid: str, number: str, on: bool) -> None:
        await self.here.watching(sid, number, on)
        await self._publish(watching_field(number))

    async def keys_elsewhere(self) -> set[str]:
        """The key fingerprints the live processes of this desk show."""
        return {value.decode() for value in await self._everywhere(KEY)}

    async def _everywhere(self, field: str) -> list[bytes]:
        found = await self._link.call(
            lambda: self._read(keys=[self._processes], args=[self._hash_prefix, field])
        )
        return list(found)

    async def _names(self, field: str) -> dict[str, str] | None:
        try:
            values = await self._everywhere(field)
        except RedisUnavailable:
            return None
        names: dict[str, str] = {}
        for value in values:
            names.update(json.loads(value))
        return names

    async def online(self) -> list[dict[str, str]]:
        names = await self._names(OPERATORS)
        return people(names) if names is not None else await self.here.online()

    async def viewers(self, number: str) -> list[dict[str, str]]:
        names = await self._names(viewers_field(number))
        return people(names) if names is not None else await self.here.viewers(number)

    async def watched(self, number: str) -> bool:
        try:
            values = await self._everywhere(watching_field(number))
        except RedisUnavailable:
            return await self.here.watched(number)
        return any(int(value) > 0 for value in values)
