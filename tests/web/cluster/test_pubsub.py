"""What each process's Redis listener hands python-socketio (web/cluster/live.py): every emit
published by any process reaches every process, and a room emit that this process sent itself,
or that goes to a room with no socket here, is passed over without being decoded."""

from __future__ import annotations

import asyncio
from typing import Any

from web.cluster.link import RedisLink
from web.cluster.live import RedisLive


def emit(sender: RedisLive, room: Any, text: str) -> dict[str, Any]:
    """A message as python-socketio's pub/sub manager publishes an emit."""
    return {
        "method": "emit", "event": "bot", "data": [{"text": text}], "binary": False,
        "namespace": "/chat", "room": room, "skip_sid": None, "callback": None,
        "host_id": sender.host_id,
    }


async def test_a_process_decodes_only_the_room_emits_of_its_own_sockets(redis_url: str) -> None:
    here, there = RedisLive(RedisLink(redis_url)), RedisLive(RedisLink(redis_url))
    here.basic_enter_room("s1", "/chat", None, eio_sid="e1")
    here.basic_enter_room("s1", "/chat", "conversation:here")
    heard: list[Any] = []
    listening = here._listen()

    async def listen() -> None:
        async for message in listening:
            heard.append(here.json.loads(message))
            if heard[-1].get("method") == "disconnect":  # the last one sent below
                return

    task = asyncio.create_task(listen())
    try:
        # subscribed once the first message from anywhere gets through
        while not heard:
            await there._publish(emit(there, "conversation:here", "ready?"))
            await asyncio.sleep(0.05)
        await there._publish(emit(there, "conversation:elsewhere", "not for here"))
        await there._publish(emit(there, "conversation:here", "for here"))
        await here._publish(emit(here, "conversation:here", "sent here, delivered here already"))
        await there._publish(emit(there, None, "to everyone"))
        await there._publish(
            {"method": "disconnect", "sid": "s9", "namespace": "/chat", "host_id": there.host_id}
        )
        await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
        await listening.aclose()
        await here.link.close()
        await there.link.close()
    texts = [m.get("data", [{}])[0].get("text") for m in heard]
    assert [t for t in texts if t != "ready?"] == ["for here", "to everyone", None]
    # what reaches python-socketio is the message as published, its address ahead of it, which
    # a process of the previous version (reading whole messages) also reads as it always did
    delivered = next(m for m in heard if texts[heard.index(m)] == "for here")
    assert delivered == {
        "address": [there.host_id, "/chat", "conversation:here"],
        **emit(there, "conversation:here", "for here"),
    }
