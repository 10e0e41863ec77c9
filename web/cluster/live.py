"""Socket.IO's client manager over Redis pub/sub: an emit on one process reaches the sockets of
every process, so a student connected to one hears the operator who answers on another.

Built on AsyncPubSubManager's two hooks (_publish, _listen) rather than on python-socketio's
AsyncRedisManager, whose semantics it keeps: the emitting process delivers to its own sockets
first and then publishes; whoever is not listening at that moment never hears it (at most once;
the stores hold the truth, and every client reloads what it shows when it reconnects). What
differs is the outage: AsyncRedisManager logs two errors for every emit while Redis is down and
listens again only after up to 60 s; this one goes through the process's RedisLink (one line
when Redis goes, one when it is back, no publishing in between) and listens again within
LISTEN_RETRY_MAX seconds. A subscriber whose connection dies silently is found by TCP
keep-alive, which redis-py turns on (about 45 s), where python-socketio#826 hung for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from socketio.async_pubsub_manager import AsyncPubSubManager

from web.cluster.link import LOST, RedisLink, RedisUnavailable
from web.desk.live import RESYNC
from web.rooms import IndexedRooms

LISTEN_RETRY_MIN = 0.5
LISTEN_RETRY_MAX = 5.0
START_SECONDS = 5.0
ADDRESS = '{"address":'
ADDRESS_BYTES = ADDRESS.encode()
_ADDRESS_DECODER = json.JSONDecoder()


def addressed(data: dict[str, Any], dumps: Callable[[Any], str]) -> str:
    """A pub/sub message as JSON; a room emit with its address (sender, namespace, room) at the
    head of the object, where a listener reads it alone (RedisLive._wanted). Inside the object:
    a process of the previous version, met while the processes are restarted one at a time,
    reads the message as it always did."""
    message = dumps(data)
    room = data.get("room")
    if data.get("method") != "emit" or not isinstance(room, str):
        return message
    return f"{ADDRESS}{dumps([data['host_id'], data['namespace'], room])},{message[1:]}"


class RedisLive(IndexedRooms, AsyncPubSubManager):
    name = "helpdesk-redis"

    def __init__(self, link: RedisLink) -> None:
        super().__init__(channel=link.channel)
        self.link = link
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Listen from the start rather than from the first socket (python-socketio's
        default), so that an event published just after this process's first client
        connected is heard."""
        self.server.manager_initialized = True
        self.initialize()
        async with asyncio.timeout(START_SECONDS):
            await self.listening.wait()

    async def stop(self) -> None:
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await thread

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        """An emit to one socket of this process (the answer to the student who asked, most
        emits) stays here: publishing it cost a Redis round trip, and every other process's
        decoding of it, for no socket of theirs."""
        room = to or room
        if isinstance(room, str) and self.is_connected(room, namespace or "/"):
            kwargs["ignore_queue"] = True
        await super().emit(
            event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback,
            **kwargs,
        )

    async def _publish(self, data: Any) -> None:
        message = addressed(data, self.json.dumps)
        with contextlib.suppress(RedisUnavailable):
            await self.link.call(lambda: self.link.client.publish(self.channel, message))

    def _wanted(self, message: bytes) -> bytes | None:
        """The message to hand to python-socketio, or None for an emit this process has no use
        for: its own (delivered here before it was published) or one to a room with no socket
        here. Every process hears every emit, and a chat's room is nearly always on one
        process; python-socketio decoded each, then encoded its packet again before finding
        nobody to send it to. A room emit is published with its address at the head
        (addressed), so that only the address is decoded."""
        if not message.startswith(ADDRESS_BYTES):
            return message
        (host, namespace, room), _ = _ADDRESS_DECODER.raw_decode(
            message.decode(), len(ADDRESS)
        )
        if host == self.host_id or room not in self.rooms.get(namespace, ()):
            return None
        return message

    async def _resync(self) -> None:
        """What the other processes published while this one did not listen is lost to its
        sockets, which stayed connected and so never read again what they show: told to."""
        for namespace in list(self.rooms):
            await self.server.emit(RESYNC, {}, namespace=namespace, ignore_queue=True)

    async def _listen(self) -> AsyncIterator[bytes]:
        pause = LISTEN_RETRY_MIN
        resumed = False
        while True:
            pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.link.answered()
                self.listening.set()
                pause = LISTEN_RETRY_MIN
                if resumed:
                    await self._resync()
                resumed = True
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        wanted = self._wanted(message["data"])
                        if wanted is not None:
                            yield wanted
            except LOST as exc:
                self.link.failed(exc)
            finally:
                self.listening.clear()
                with contextlib.suppress(*LOST):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(pause)
            pause = min(pause * 2, LISTEN_RETRY_MAX)
