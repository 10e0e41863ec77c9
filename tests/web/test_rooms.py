"""web/rooms.py keeps python-socketio's room table exactly as the library itself would: the
same random life of sockets (connecting, joining, leaving, rooms closed, disconnecting, some
mid-connect or mid-disconnect) is played on the library's manager and on ours, and every table
and every socket's rooms compared after each step."""

from __future__ import annotations

import random
from typing import Any

import pytest
from socketio.async_manager import AsyncManager

from web.rooms import LocalRooms

NAMESPACES = ("/chat", "/console")
ROOMS = ("conversation:a", "conversation:b", "ticket:000001", "queue")


def snapshot(manager: AsyncManager, sids: list[str]) -> dict[str, Any]:
    return {
        "rooms": {ns: {room: dict(members) for room, members in table.items()}
                  for ns, table in manager.rooms.items()},
        "callbacks": dict(manager.callbacks),
        "pending_connect": {ns: list(v) for ns, v in manager.pending_connect.items()},
        "pending_disconnect": {ns: list(v) for ns, v in manager.pending_disconnect.items()},
        "rooms_of": {(ns, sid): sorted(manager.get_rooms(sid, ns)) for ns in NAMESPACES
                     for sid in sids},
    }


def play(manager: AsyncManager, step: tuple[Any, ...]) -> None:
    kind, sid, ns, room = step
    if kind == "connect":
        manager.basic_enter_room(sid, ns, None, eio_sid="e" + sid)
        manager.basic_enter_room(sid, ns, sid, eio_sid="e" + sid)
        manager.pending_connect.setdefault(ns, []).append(sid)
    elif kind == "connected":
        if sid in manager.pending_connect.get(ns, []):
            manager.pending_connect[ns].remove(sid)
            if not manager.pending_connect[ns]:
                del manager.pending_connect[ns]
    elif kind == "callback":
        manager.callbacks[sid] = {1: "ack"}
    elif kind == "enter":
        manager.basic_enter_room(sid, ns, room)
    elif kind == "leave":
        manager.basic_leave_room(sid, ns, room)
    elif kind == "close":
        manager.basic_close_room(room, ns)
    elif kind == "leaving":
        manager.pending_disconnect.setdefault(ns, []).append(sid)
    elif kind == "disconnect":
        manager.basic_disconnect(sid, ns)


@pytest.mark.parametrize("seed", range(20))
def test_the_indexed_table_is_the_library_s_table(seed: int) -> None:
    rng = random.Random(seed)
    library, ours = AsyncManager(), LocalRooms()
    sids = [f"s{i}" for i in range(8)]
    connected: set[tuple[str, str]] = set()
    for _ in range(300):
        sid, ns, room = rng.choice(sids), rng.choice(NAMESPACES), rng.choice(ROOMS)
        if (ns, sid) not in connected:
            step: tuple[Any, ...] = ("connect", sid, ns, room)
            connected.add((ns, sid))
        else:
            kind = rng.choice(
                ("connected", "callback", "enter", "enter", "leave", "close", "leaving",
                 "disconnect")
            )
            step = (kind, sid, ns, room)
            if kind == "disconnect":
                connected.discard((ns, sid))
        outcomes = []
        for manager in (library, ours):
            try:
                play(manager, step)
                outcomes.append(None)
            except Exception as error:  # the library refuses some steps: so must we
                outcomes.append(type(error))
        assert outcomes[0] == outcomes[1], step
        assert snapshot(ours, sids) == snapshot(library, sids), step
    # and nothing is remembered of a socket that is gone
    for ns, sid in list(connected):
        ours.basic_disconnect(sid, ns)
    assert ours._rooms_of == {}
