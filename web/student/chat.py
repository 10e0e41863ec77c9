"""The `/chat` Socket.IO namespace (docs/protocol.md): checks a student's events and relays
them to the conversation (web/desk/conversations.py) and to the live ticket view.

Socket.IO runs one client's events concurrently: a per-conversation lock makes load -> step ->
save one step at a time. The socket session holds only who is speaking: the conversation it said
hello to, the tickets it follows, its language.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import socketio

from bot import engine
from bot.i18n import normalise_lang
from web.desk.conversations import Conversations
from web.desk.errors import ApiError, rate_limited
from web.desk.live import CONSOLE_TICKET_ROOM, OPERATORS, STUDENT_ROOM, STUDENTS, WAIT_ROOM
from web.desk.services import Services
from web.desk.students import opened_by
from web.desk.tickets import Desk
from web.http import clients
from web.http.events import MAYBE_TEXT, TEXT, Field, GuardedNamespace

CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_TEXT = 4000
CONVERSATION_ROOM = "conversation:{id}"
# null before the first `state` (the widget's race): answered not_found, like a wrong id.
CONVERSATION = Field(MAYBE_TEXT, max_length=64)
TOKEN = Field(TEXT, max_length=512)
LANG = Field(TEXT, max_length=16)

TYPING_AFTER = 0.3  # seconds


class TypingIndicator:
    """"The assistant is typing", only for a step slow enough to be seen: most answer in
    milliseconds, and two more events per step were a third of a crowd's traffic. Shown only
    to the tabs on this process (ignore_queue): steps turn slow when the processes are
    overloaded, and publishing both events to every process then added a twentieth to their
    work (profile of two overloaded processes), while a tab elsewhere only misses a hint."""

    def __init__(self, namespace: socketio.AsyncNamespace, room: str) -> None:
        self._namespace = namespace
        self._room = room
        self._shown = False
        self._task = asyncio.create_task(self._show())

    async def _show(self) -> None:
        await asyncio.sleep(TYPING_AFTER)
        self._shown = True
        await self._namespace.emit("typing", {"on": True}, room=self._room, ignore_queue=True)

    async def stop(self) -> None:
        if not self._shown:
            self._task.cancel()
            return
        await self._task  # the "on" is on its way: "off" must follow it, not pass it
        await self._namespace.emit("typing", {"on": False}, room=self._room, ignore_queue=True)


class ChatNamespace(GuardedNamespace):
    EVENTS = {
        "hello": {
            "conversation_id": CONVERSATION,
            "lang": LANG,
            "follow_up": Field(MAYBE_TEXT, required=False, max_length=512),
        },
        "choose": {"conversation_id": CONVERSATION, "option": Field(TEXT, max_length=200)},
        "say": {"conversation_id": CONVERSATION, "text": Field(TEXT, max_length=MAX_TEXT)},
        "attach": {"conversation_id": CONVERSATION, "attachment_id": Field(TEXT, max_length=64)},
        "restart": {"conversation_id": CONVERSATION},
        "watch_ticket": {"token": TOKEN, "lang": Field(TEXT, required=False, max_length=16)},
        "unwatch_ticket": {"token": TOKEN},
        "watch_wait": {"token": TOKEN},
        "student_typing": {"token": TOKEN, "typing": Field((bool,))},
    }

    def __init__(self, services: Services) -> None:
        super().__init__(STUDENTS)
        self.services = services
        self.conversations = Conversations(services)
        self._environ: dict[str, dict[str, Any]] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # Anyone may chat; what a socket may see is decided per event (its conversation id,
        # a valid ticket token). Only the sender's address is kept, as the limits count it.
        request = environ.get("aiohttp.request")
        ip = clients.sender(
            clients.client_ip(request, self.services.config.trusted_proxies)
            if request is not None
            else str(environ.get("REMOTE_ADDR") or "unknown")
        )
        self._environ[sid] = {"ip": ip}
        await self.save_session(sid, {"conversation_id": None, "tickets": [], "lang": "it"})

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._environ.pop(sid, None)
        self.services.waits.forget(sid)
        try:
            tickets = (await self.get_session(sid)).get("tickets", [])
        except KeyError:
            return
        for number in tickets:
            await self._left_ticket(sid, number)

    async def _left_ticket(self, sid: str, number: str) -> None:
        """The operators who have the ticket open see the student leave it (and the console
        mails its next reply instead of counting on the live view), unless another tab of
        the student still shows it."""
        await self.services.presence.watching(sid, number, False)
        if await self.services.presence.watched(number):
            return
        await self.emit(
            "student_online",
            {"number": number, "online": False},
            room=CONSOLE_TICKET_ROOM.format(number=number),
            namespace=OPERATORS,
        )

    async def lang_of(self, sid: str) -> str:
        """The language the student chats in (a socket that already left: Italian)."""
        try:
            return str((await self.get_session(sid)).get("lang", "it"))
        except KeyError:
            return "it"

    async def _report(self, sid: str, error: ApiError) -> None:
        """An error event in the student's language; a limit says its wait in minutes or
        seconds, as the HTTP API says it."""
        await self.error(sid, error.code, **error.params)

    # --- the conversation ------------------------------------------------------------------

    async def on_hello(self, sid: str, data: dict[str, Any]) -> None:
        lang = normalise_lang(data["lang"])
        requested = data["conversation_id"]
        valid = isinstance(requested, str) and CONVERSATION_ID.fullmatch(requested)
        try:
            conversation = await self.conversations.resume_or_start(
                requested if valid else None, lang, data.get("follow_up"), self._ip(sid)
            )
            async with self.services.conversation_lock(conversation.id):
                conversation = await self.conversations.in_language(conversation, lang)
        except ApiError as error:
            await self.save_session(sid, {**await self.get_session(sid), "lang": lang})
            await self._report(sid, error)
            return
        await self.save_session(
            sid,
            {
                **await self.get_session(sid),
                "conversation_id": conversation.id,
                "lang": conversation.lang,
            },
        )
        await self.enter_room(sid, CONVERSATION_ROOM.format(id=conversation.id))
        await self.emit(
            "state",
            {
                "conversation_id": conversation.id,
                "lang": conversation.lang,
                "transcript": conversation.transcript,
                "prompt": self.conversations.prompt(conversation),
            },
            to=sid,
        )

    async def on_choose(self, sid: str, data: dict[str, Any]) -> None:
        await self._handle(sid, data, engine.Event("choose", data["option"]))

    async def on_say(self, sid: str, data: dict[str, Any]) -> None:
        if not data["text"].strip():
            await self.refuse(sid)  # well formed, but nothing said: no strike
            return
        await self._handle(sid, data, engine.Event("text", data["text"]))

    async def on_attach(self, sid: str, data: dict[str, Any]) -> None:
        await self._handle(sid, data, engine.Event("attachment", data["attachment_id"]))

    async def on_restart(self, sid: str, data: dict[str, Any]) -> None:
        await self._handle(sid, data, engine.Event("restart"))

    async def _handle(self, sid: str, data: dict[str, Any], event: engine.Event) -> None:
        conversation_id = data["conversation_id"]
        session = await self.get_session(sid)
        # A socket speaks only for the conversation it said hello to (and an event before
        # any hello has none yet).
        if not conversation_id or conversation_id != session.get("conversation_id"):
            await self.error(sid, "not_found")
            return
        wait = await self.services.limits.chat_events_per_conversation.take(conversation_id)
        if wait:
            await self._report(sid, rate_limited(wait))
            return
        room = CONVERSATION_ROOM.format(id=conversation_id)
        typing = TypingIndicator(self, room)
        try:
            async with self.services.conversation_lock(conversation_id):
                turn = await self.conversations.step(conversation_id, event, self._ip(sid))
        except ApiError as error:
            await self._report(sid, error)
            return
        finally:
            await typing.stop()
        # The step is saved: the room must hear of it even if this socket just left.
        with contextlib.suppress(KeyError):
            session = await self.get_session(sid)
            if session.get("lang") != turn.lang:
                await self.save_session(sid, {**session, "lang": turn.lang})
        # A chat no hello resumed is followed by one socket, the one that started it and sent
        # this step, here: publishing the answer to the other processes would reach nobody.
        await self.emit(
            "bot",
            {
                "conversation_id": conversation_id,
                "lang": turn.lang,
                "entries": turn.entries,
                "prompt": turn.prompt,
            },
            room=room,
            ignore_queue=not turn.shared,
        )

    def _ip(self, sid: str) -> str:
        return str(self._environ.get(sid, {}).get("ip") or "unknown")

    # --- a ticket, live --------------------------------------------------------------------

    async def on_watch_ticket(self, sid: str, data: dict[str, Any]) -> None:
        number = await opened_by(self.services, data["token"])
        lang = normalise_lang(data.get("lang"))
        ticket = await self.services.storage.tickets.get(number) if number else None
        session = await self.get_session(sid)
        session["lang"] = lang  # the ticket page may never say hello
        await self.save_session(sid, session)
        if ticket is None:
            await self.error(sid, "unauthorized")
            return
        session["tickets"] = sorted({*session.get("tickets", []), ticket.number})
        await self.save_session(sid, session)
        await self.enter_room(sid, STUDENT_ROOM.format(number=ticket.number))
        await self.services.presence.watching(sid, ticket.number, True)
        view = await Desk(self.services).student_view(ticket, lang)
        await self.emit("ticket", view, to=sid)
        await self._follow_wait(sid, ticket.number, view["queue"])
        await self.emit(
            "student_online",
            {"number": ticket.number, "online": True},
            room=CONSOLE_TICKET_ROOM.format(number=ticket.number),
            namespace=OPERATORS,
        )

    async def on_watch_wait(self, sid: str, data: dict[str, Any]) -> None:
        """The chat that has just opened a ticket shows its place in the queue, without
        watching the ticket itself (which would tell the operators the student is reading)."""
        number = await opened_by(self.services, data["token"])
        if number is None:
            await self.error(sid, "unauthorized")
            return
        queue = await self.services.waits.view(number)
        await self.emit("wait", {"number": number, "queue": queue}, to=sid)
        await self._follow_wait(sid, number, queue)

    async def _follow_wait(self, sid: str, number: str, told: Any) -> None:
        # a socket that left while we were reading the ticket would be watched forever
        if not self.server.manager.is_connected(sid, STUDENTS):
            return
        await self.enter_room(sid, WAIT_ROOM.format(number=number))
        self.services.waits.watch(number, sid, told)

    async def on_unwatch_ticket(self, sid: str, data: dict[str, Any]) -> None:
        """The student turned from the ticket to the chat: a reply now goes by mail too."""
        number = self.services.signer.verify(data["token"])
        session = await self.get_session(sid)
        if number is None or number not in session.get("tickets", []):
            return
        session["tickets"] = [n for n in session["tickets"] if n != number]
        await self.save_session(sid, session)
        await self.leave_room(sid, STUDENT_ROOM.format(number=number))
        await self._left_ticket(sid, number)

    async def on_student_typing(self, sid: str, data: dict[str, Any]) -> None:
        number = self.services.signer.verify(data["token"])
        if number is None or number not in (await self.get_session(sid)).get("tickets", []):
            return
        await self.emit(
            "student_typing",
            {"number": number, "typing": data["typing"]},
            room=CONSOLE_TICKET_ROOM.format(number=number),
            namespace=OPERATORS,
        )
