"""python-socketio's room bookkeeping, indexed by socket as well as by room.

The library finds a socket's rooms by scanning every room of the namespace: each disconnect
copied and searched the whole room table, and every connected student adds two or three rooms
to it. Two thousand students leaving at once (a Wi-Fi blip, a balancer reload) cost the server
1.47 s of CPU, quadratic in the crowd; 0.5 s with the index (bench.load). `IndexedRooms` keeps,
beside the library's table, each socket's own rooms, so that leaving them costs what the
socket joined.

It overrides the manager's room primitives (basic_*), which every manager, local or over
Redis, goes through; python-socketio is pinned and tests/web/test_rooms.py checks the
bookkeeping against the library's own on every release we take.
"""

from __future__ import annotations

from typing import Any

from socketio.async_manager import AsyncManager
from socketio.base_manager import BaseManager


class IndexedRooms(BaseManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}  # (namespace, sid) -> rooms

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        # The library's disconnect, less its scan of every room: the library's method would
        # scan even with sid in no room, so it is not called.
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)
                if not waiting:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [r for r in self._rooms_of.get((namespace, sid), ()) if r is not None]


class LocalRooms(IndexedRooms, AsyncManager):
    """The manager of a single process."""
