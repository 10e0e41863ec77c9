"""The `/console` Socket.IO namespace and the live state the console's HTTP API shares with it:
the operator sessions, and who is online and has which ticket open (kept by
services.presence, web/desk/presence.py; docs/protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web

from bot.i18n import normalise_lang
from bot.validate import Valid, validate_number
from storage import Operator, StorageError
from storage.sessions import MemorySessions
from web.desk.live import CONSOLE_TICKET_ROOM, OPERATORS, OPERATORS_ROOM, STUDENT_ROOM, STUDENTS
from web.desk.services import Services
from web.desk.sessions import COOKIE, Session, SessionStore
from web.desk.tickets import Desk
from web.http.events import Field, GuardedNamespace

log = logging.getLogger("helpdesk.console")
BACKGROUND_HEADER = "X-Console-Background"
SWEEP_SECONDS = 15.0


@dataclass
class Caller:
    operator: Operator
    session: Session


@dataclass
class SocketUser:
    username: str
    name: str
    session: Session
    lang: str
    tickets: set[str] = field(default_factory=set)  # open in this socket
    typing: set[str] = field(default_factory=set)  # tickets it is writing in
    # tickets whose student was told it writes: only their stop goes to the student too, or a
    # colleague's stop would hide the holder's "sta scrivendo" (the widget keeps one flag)
    told_student: set[str] = field(default_factory=set)


def person(operator: Operator) -> dict[str, str]:
    return {"username": operator.username, "name": operator.name}


NUMBER = Field((str, int), max_length=12)


class ConsoleNamespace(GuardedNamespace):
    """The `/console` namespace, and the live state the console's HTTP API shares with it:
    the sessions, who is online and who has which ticket open."""

    EVENTS = {
        "active": {},
        "open_ticket": {"number": NUMBER},
        "close_ticket": {"number": NUMBER},
        "operator_typing": {
            "number": NUMBER,
            "typing": Field((bool,)),
            "internal": Field((bool,), required=False),
        },
    }

    def __init__(self, services: Services) -> None:
        super().__init__(OPERATORS)
        self.services = services
        self.desk = Desk(services)
        self.sessions = SessionStore(
            services.storage.sessions, services.config.session_idle_minutes * 60
        )
        self.secure_cookie = services.config.public_url.startswith("https://")
        self._users: dict[str, SocketUser] = {}  # sid -> who, for this process's sockets
        self.presence = services.presence
        self._sweeper: asyncio.Task[None] | None = None

    # --- sessions ---------------------------------------------------------------------------

    async def session_operator(
        self, session_id: str | None, *, touch: bool = True
    ) -> Caller | None:
        """The caller of a live session whose account is still active and whose password has
        not changed since the login; anything else ends the session."""
        session = await self.sessions.get(session_id, touch=touch)
        if session is None:
            return None
        operator = await self.services.storage.operators.get(session.username)
        if operator is None or not operator.active or operator.password_hash != session.credential:
            await self.end_session(session.id, "revoked")
            return None
        return Caller(operator, session)

    async def caller(self, request: web.Request) -> Caller | None:
        # A refresh the page makes by itself (the queue reloaded after a push) is not the
        # operator at work: it must not keep an unattended console signed in.
        background = request.method == "GET" and request.headers.get(BACKGROUND_HEADER) == "1"
        return await self.session_operator(request.cookies.get(COOKIE), touch=not background)

    async def operator_of(self, request: web.Request) -> Operator | None:
        found = await self.caller(request)
        return found.operator if found else None

    async def end_session(self, session_id: str, reason: str) -> None:
        await self.sessions.drop(session_id)
        await self._close_sockets(lambda user: user.session.id == session_id, reason)

    async def closing(self) -> None:
        """This process stops. Where the sessions live in its memory (a data folder's store)
        they end with it: its consoles are told so now, rather than, once they reconnect to
        the process restarted, that their session expired or was closed."""
        if isinstance(self.sessions.store, MemorySessions):
            for sid in list(self._users):
                await self.emit("session_expired", {"reason": "restart"}, to=sid)

    async def end_sessions_of(self, username: str, reason: str) -> None:
        await self.sessions.drop_user(username)
        await self._close_sockets(lambda user: user.username == username, reason)

    async def _close_sockets(self, which: Callable[[SocketUser], bool], reason: str) -> None:
        """This process's sockets only: another process closes its own at its next sweep."""
        for sid in [sid for sid, user in self._users.items() if which(user)]:
            await self.emit("session_expired", {"reason": reason}, to=sid)
            await self.disconnect(sid)

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        """An idle session ends on time even if its console just sits there receiving queue
        updates, and one ended on another process (a logout, a revocation) ends here too: its
        sockets are closed within SWEEP_SECONDS."""
        while self._users:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self._sweep_once()
            except StorageError as error:  # the database away: try again at the next round
                log.warning("console sessions not swept: %s", error)

    async def _sweep_once(self) -> None:
        await self.sessions.expire()
        gone = {
            session_id
            for session_id in {user.session.id for user in self._users.values()}
            if await self.session_operator(session_id, touch=False) is None
        }
        await self._close_sockets(lambda user: user.session.id in gone, "expired")

    async def close(self) -> None:
        """Stop the sweeper (at shutdown; the last disconnect stops it too)."""
        if self._sweeper is not None and self._sweeper is not asyncio.current_task():
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    # --- who is online, who has a ticket open ----------------------------------------------

    async def online(self) -> list[dict[str, str]]:
        return await self.presence.online()

    async def viewers(self, number: str) -> list[dict[str, str]]:
        return await self.presence.viewers(number)

    async def student_online(self, number: str) -> bool:
        return await self.presence.watched(number)

    async def _presence(self) -> None:
        await self.emit("presence", {"operators": await self.online()}, room=OPERATORS_ROOM)

    async def _send_viewers(self, number: str) -> None:
        await self.emit(
            "viewers",
            {"number": number, "operators": await self.viewers(number)},
            room=CONSOLE_TICKET_ROOM.format(number=number),
        )

    # --- the socket -------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ.get("aiohttp.request")
        origin = environ.get("HTTP_ORIGIN")
        # The university pages that embed the widget may open /chat, never /console.
        if origin and origin not in own_origins(self.services):
            raise socketio.exceptions.ConnectionRefusedError("forbidden")
        session_id = request.cookies.get(COOKIE) if isinstance(request, web.BaseRequest) else None
        found = await self.session_operator(session_id)
        if found is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        token = auth.get("csrf_token") if isinstance(auth, dict) else None
        if not found.session.csrf_ok(token):
            raise socketio.exceptions.ConnectionRefusedError("csrf")
        lang = normalise_lang(auth.get("lang") if isinstance(auth, dict) else None)
        self._users[sid] = SocketUser(
            found.operator.username, found.operator.name, found.session, lang
        )
        await self.presence.operator_on(sid, found.operator.username, found.operator.name)
        await self.enter_room(sid, OPERATORS_ROOM)
        self._start_sweeper()
        await self._presence()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        user = self._users.pop(sid, None)
        if user is None:
            return
        for number in list(user.tickets):
            await self._leave(sid, user, number, left=True)
        await self.presence.operator_off(sid)
        await self._presence()
        if not self._users:
            await self.close()  # nobody to watch over; the next connection starts it again

    async def _user(self, sid: str) -> SocketUser | None:
        """The socket's operator while their session lives; a dead session closes it."""
        user = self._users.get(sid)
        if user is None:
            return None
        found = await self.session_operator(user.session.id)
        if found is None:
            await self.emit("session_expired", {"reason": "expired"}, to=sid)
            await self.disconnect(sid)
            return None
        if found.operator.name != user.name:
            # An admin corrected the name: the student watching them type and the colleagues
            # see the new one now, not after the next sign-in (a new name ends no session).
            user.name = found.operator.name
            await self.presence.operator_on(sid, user.username, user.name)
            await self._presence()
        return user

    async def lang_of(self, sid: str) -> str:
        user = self._users.get(sid)
        return user.lang if user is not None else "it"

    async def on_active(self, sid: str, data: dict[str, Any]) -> None:
        """The operator is at the console (typing, clicking): the idle clock starts again."""
        await self._user(sid)

    async def on_open_ticket(self, sid: str, data: dict[str, Any]) -> None:
        user = await self._user(sid)
        if user is None:
            return
        number = parse_number(data["number"])
        summary = await self.services.storage.tickets.summary(number) if number else None
        if number is None or summary is None or summary.anonymised:
            await self.error(sid, "not_found")
            return
        user.tickets.add(number)
        await self.presence.viewing(sid, number, True)
        await self.enter_room(sid, CONSOLE_TICKET_ROOM.format(number=number))
        await self._send_viewers(number)
        online = await self.student_online(number)
        await self.emit("student_online", {"number": number, "online": online}, to=sid)

    async def on_close_ticket(self, sid: str, data: dict[str, Any]) -> None:
        user = self._users.get(sid)
        number = parse_number(data["number"])
        if user is None or number is None or number not in user.tickets:
            return
        await self._leave(sid, user, number, left=False)

    async def _leave(self, sid: str, user: SocketUser, number: str, *, left: bool) -> None:
        if number in user.typing:
            await self._relay_typing(sid, user, number, typing=False, internal=False)
        user.tickets.discard(number)
        await self.presence.viewing(sid, number, False)
        if not left:
            await self.leave_room(sid, CONSOLE_TICKET_ROOM.format(number=number))
        await self._send_viewers(number)

    async def on_operator_typing(self, sid: str, data: dict[str, Any]) -> None:
        user = await self._user(sid)
        if user is None:
            return
        number = parse_number(data["number"])
        # Only in a ticket the operator has open: a socket cannot reach other tickets' rooms.
        if number is None or number not in user.tickets:
            return
        await self._relay_typing(
            sid, user, number, typing=data["typing"], internal=data.get("internal", False)
        )

    async def _relay_typing(
        self, sid: str, user: SocketUser, number: str, *, typing: bool, internal: bool
    ) -> None:
        if typing:
            user.typing.add(number)
        else:
            user.typing.discard(number)
        payload = {"number": number, "typing": typing, "name": user.name}
        await self.emit(
            "operator_typing",
            {**payload, "username": user.username, "internal": internal},
            room=CONSOLE_TICKET_ROOM.format(number=number),
            skip_sid=sid,
        )
        # The student sees the display name only, and nothing while a note is being written,
        # nor a reply that its writer could not send: one from a colleague of the ticket's
        # holder, or on a closed ticket. The colleagues in the console still see it (who may
        # be about to take the ticket over), and the console words it as news, not as "wait".
        if typing:
            if internal or not await self._may_reply(user, number):
                return
            user.told_student.add(number)
        elif number in user.told_student:
            user.told_student.discard(number)
        else:
            return
        await self.server.emit(
            "operator_typing",
            payload,
            room=STUDENT_ROOM.format(number=number),
            namespace=STUDENTS,
        )

    async def _may_reply(self, user: SocketUser, number: str) -> bool:
        summary = await self.services.storage.tickets.summary(number)
        return (
            summary is not None
            and summary.status != "closed"
            and summary.operator in (None, "", user.username)
        )


CONSOLE = web.AppKey("console", ConsoleNamespace)


def console_of(app: web.Application) -> ConsoleNamespace:
    return app[CONSOLE]


def own_origins(services: Services) -> set[str]:
    config = services.config
    return set(config.cors_origins) - (set(config.allowed_origins) - {config.own_origin})


def parse_number(raw: object) -> str | None:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    clean = validate_number(str(raw))
    return clean.value if isinstance(clean, Valid) else None
