"""The live channel, as the application layer sees it: named rooms of two audiences, and an
`emit` that reaches whoever is in one. The Socket.IO server is what create_app passes in."""

from __future__ import annotations

from typing import Any, Protocol

STUDENTS = "/chat"
OPERATORS = "/console"
# A student's widget or ticket page, following one ticket.
STUDENT_ROOM = "ticket:{number}"
# A student following one waiting ticket's place in the queue (the ticket page, and the chat
# that has just opened it).
WAIT_ROOM = "wait:{number}"
# Every signed-in console: the queue.
OPERATORS_ROOM = "operators"
# The consoles that have one ticket open.
CONSOLE_TICKET_ROOM = "console-ticket:{number}"
# To every socket of a process whose share of the other processes' events was cut (Redis
# lost): what it shows may lack what was said meanwhile, and no connection dropped to make the
# client read it again on its own.
RESYNC = "resync"


class LiveEvents(Protocol):
    async def emit(
        self, event: str, data: Any = None, *, room: str | None = None, namespace: str | None = None
    ) -> None: ...

    async def close_room(self, room: str, namespace: str | None = None) -> None: ...
