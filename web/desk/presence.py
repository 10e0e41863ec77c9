"""Who is here: the operators online, who has which ticket open in the console, and whether a
student is watching a ticket (then a reply reaches them live and is not mailed).

One protocol, two homes: this process's memory (LocalPresence), or Redis when several processes
serve the desk (web/cluster/presence.py): a socket is known only to the process it is connected
to, and Socket.IO's own room lists are local too.

Everything is kept per socket id: an operator with two tabs stays online until both close, and a
ticket stays watched while any tab of the student shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Presence(Protocol):
    async def operator_on(self, sid: str, username: str, name: str) -> None: ...

    async def operator_off(self, sid: str) -> None: ...

    async def viewing(self, sid: str, number: str, on: bool) -> None:
        """An operator's socket opened (on) or closed a ticket in the console."""
        ...

    async def watching(self, sid: str, number: str, on: bool) -> None:
        """A student's socket started (on) or stopped following a ticket live."""
        ...

    async def online(self) -> list[dict[str, str]]: ...

    async def viewers(self, number: str) -> list[dict[str, str]]: ...

    async def watched(self, number: str) -> bool: ...


def people(names: Mapping[str, str]) -> list[dict[str, str]]:
    """username -> name, as the console shows it: by name."""
    return [
        {"username": u, "name": n} for u, n in sorted(names.items(), key=lambda item: item[1])
    ]


class LocalPresence:
    """The sockets of this process. The *_here methods are what it knows by itself, which
    the Redis home publishes for the other processes."""

    def __init__(self) -> None:
        self._operators: dict[str, tuple[str, str]] = {}  # sid -> (username, name)
        self._viewing: dict[str, set[str]] = {}  # ticket number -> operator sids
        self._watching: dict[str, set[str]] = {}  # ticket number -> student sids

    def operators_here(self) -> dict[str, str]:
        return dict(self._operators.values())

    def viewers_here(self, number: str) -> dict[str, str]:
        return dict(
            self._operators[sid] for sid in self._viewing.get(number, ()) if sid in self._operators
        )

    def watchers_here(self, number: str) -> int:
        return len(self._watching.get(number, ()))

    def tickets_viewed_here(self) -> list[str]:
        return list(self._viewing)

    def tickets_watched_here(self) -> list[str]:
        return list(self._watching)

    async def operator_on(self, sid: str, username: str, name: str) -> None:
        self._operators[sid] = (username, name)

    async def operator_off(self, sid: str) -> None:
        self._operators.pop(sid, None)

    async def viewing(self, sid: str, number: str, on: bool) -> None:
        _mark(self._viewing, number, sid, on)

    async def watching(self, sid: str, number: str, on: bool) -> None:
        _mark(self._watching, number, sid, on)

    async def online(self) -> list[dict[str, str]]:
        return people(self.operators_here())

    async def viewers(self, number: str) -> list[dict[str, str]]:
        return people(self.viewers_here(number))

    async def watched(self, number: str) -> bool:
        return self.watchers_here(number) > 0


def _mark(table: dict[str, set[str]], number: str, sid: str, on: bool) -> None:
    if on:
        table.setdefault(number, set()).add(sid)
        return
    sids = table.get(number)
    if sids is not None:
        sids.discard(sid)
        if not sids:
            del table[number]
