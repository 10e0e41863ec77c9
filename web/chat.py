"""The `/chat` Socket.IO namespace (docs/protocol.md): relays a student's events to the pure
dialogue engine and carries out the effects it asks for.

The conversation lives in storage under an id the widget keeps, never under the socket id, so a
reload, a reconnect or a server restart resumes at the same step. Socket.IO runs one client's
events concurrently: a per-conversation lock makes load -> step -> save one step at a time.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from dataclasses import asdict
from typing import Any

import socketio
from aiohttp import web

from bot import engine
from bot.i18n import normalise_lang, t
from bot.validate import validate_ticket
from storage import Attachment, Conversation, FaqEvent, utcnow
from web import clients, notify
from web.desk import CONSOLE_TICKET_ROOM, STUDENT_ROOM, Desk
from web.errors import ApiError, rate_limited
from web.services import SERVICES, Services
from web.student import client_ip, creation_limits, lookup, refund_all, take_all
from web.uploads import read_form

log = logging.getLogger("helpdesk.chat")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_TEXT = 4000
TRANSCRIPT_MAX = 300
CONVERSATION_ROOM = "conversation:{id}"
routes = web.RouteTableDef()


def _entry(source: str, kind: str, text: str, data: Any = None) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(6),
        "from": source,
        "kind": kind,
        "text": text,
        "data": dict(data or {}),
        "at": utcnow(),
    }


def prompt_view(prompt: engine.Prompt) -> dict[str, Any]:
    return {
        "options": [{"id": o.id, "label": o.label} for o in prompt.options],
        "input": prompt.input,
        "placeholder": prompt.placeholder,
    }


class ChatNamespace(socketio.AsyncNamespace):
    def __init__(self, services: Services) -> None:
        super().__init__("/chat")
        self.services = services
        self._environ: dict[str, dict[str, Any]] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # Anyone may chat; what a socket may see is decided per event (its conversation id,
        # a valid ticket token). Only the peer address is kept, for the creation limit.
        request = environ.get("aiohttp.request")
        ip = (
            clients.client_ip(request, self.services.config.trusted_proxies)
            if request is not None
            else str(environ.get("REMOTE_ADDR") or "unknown")
        )
        self._environ[sid] = {"ip": ip}
        await self.save_session(sid, {"conversation_id": None, "tickets": [], "lang": "it"})

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._environ.pop(sid, None)
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
        manager = self.server.manager
        room = STUDENT_ROOM.format(number=number)
        if any(
            other != sid and manager.is_connected(other, "/chat")
            for other, _ in manager.get_participants("/chat", room)
        ):
            return
        await self.emit(
            "student_online",
            {"number": number, "online": False},
            room=CONSOLE_TICKET_ROOM.format(number=number),
            namespace="/console",
        )

    async def _lang(self, sid: str) -> str:
        """The language the student chats in (a socket that already left: Italian)."""
        try:
            return str((await self.get_session(sid)).get("lang", "it"))
        except KeyError:
            return "it"

    async def _error(self, sid: str, code: str) -> None:
        message = t(f"error.{code}", await self._lang(sid))
        await self.emit("error", {"code": code, "message": message}, to=sid)

    async def _limited(self, sid: str, wait: float, lang: str | None = None) -> None:
        """A limit reached: the wait in minutes or seconds, as the HTTP API says it."""
        error = rate_limited(wait)
        message = t(f"error.{error.code}", lang or await self._lang(sid), **error.params)
        await self.emit("error", {"code": "rate_limited", "message": message}, to=sid)

    # --- the conversation ------------------------------------------------------------------

    async def on_hello(self, sid: str, data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        lang = normalise_lang(data.get("lang"))
        requested = data.get("conversation_id")
        storage = self.services.storage
        conversation = None
        if isinstance(requested, str) and CONVERSATION_ID.fullmatch(requested):
            conversation = await storage.conversations.get(requested)
        if conversation is None:
            # New conversations cost disk: a script must not open them by the thousand.
            wait = self.services.limits.conversations_per_ip.take(self._ip(sid))
            if wait:
                await self._limited(sid, wait, lang)
                return
            outcome = engine.start(
                lang, self.services.faq.index, await self._follow_up(data.get("follow_up"))
            )
            conversation = Conversation(
                id=secrets.token_urlsafe(16),
                step=outcome.state.step,
                slots=dict(outcome.state.slots),
                lang=outcome.state.lang,
            )
            conversation.transcript = [self._reply_entry(r) for r in outcome.replies]
            await storage.conversations.save(conversation)
        await self.save_session(
            sid,
            {
                **await self.get_session(sid),
                "conversation_id": conversation.id,
                "lang": conversation.lang,
            },
        )
        await self.enter_room(sid, CONVERSATION_ROOM.format(id=conversation.id))
        state = engine.State(conversation.step, conversation.slots, conversation.lang)
        await self.emit(
            "state",
            {
                "conversation_id": conversation.id,
                "lang": conversation.lang,
                "transcript": conversation.transcript,
                "prompt": prompt_view(engine.prompt_for(state, self.services.faq.index)),
            },
            to=sid,
        )

    async def _follow_up(self, token: Any) -> dict[str, str] | None:
        """The contact data of a closed ticket whose token the student holds: its follow-up
        starts with them filled in and refers to it."""
        number = self.services.signer.verify(token) if isinstance(token, str) else None
        ticket = await self.services.storage.tickets.get(number) if number else None
        if ticket is None or ticket.status != "closed":
            return None
        return {
            "email": ticket.email,
            "name": ticket.name,
            "phone": ticket.phone,
            "references": ticket.number,
        }

    async def on_choose(self, sid: str, data: Any) -> None:
        option = data.get("option") if isinstance(data, dict) else None
        if not isinstance(option, str) or len(option) > 200:
            await self._error(sid, "bad_request")
            return
        await self._handle(sid, data, engine.Event("choose", option))

    async def on_say(self, sid: str, data: Any) -> None:
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            await self._error(sid, "bad_request")
            return
        await self._handle(sid, data, engine.Event("text", text[:MAX_TEXT]))

    async def on_attach(self, sid: str, data: Any) -> None:
        attachment_id = data.get("attachment_id") if isinstance(data, dict) else None
        await self._handle(sid, data, engine.Event("attachment", str(attachment_id or "")))

    async def on_restart(self, sid: str, data: Any) -> None:
        await self._handle(sid, data, engine.Event("restart"))

    async def _handle(self, sid: str, data: Any, event: engine.Event) -> None:
        conversation_id = data.get("conversation_id") if isinstance(data, dict) else None
        session = await self.get_session(sid)
        # A socket speaks only for the conversation it said hello to.
        if not conversation_id or conversation_id != session.get("conversation_id"):
            await self._error(sid, "not_found")
            return
        wait = self.services.limits.chat_events_per_conversation.take(conversation_id)
        if wait:
            await self._limited(sid, wait)
            return
        room = CONVERSATION_ROOM.format(id=conversation_id)
        await self.emit("typing", {"on": True}, room=room)
        try:
            async with self.services.conversation_lock(conversation_id):
                entries, prompt = await self._step(sid, conversation_id, event)
        finally:
            await self.emit("typing", {"on": False}, room=room)
        if entries is not None:
            await self.emit(
                "bot",
                {"conversation_id": conversation_id, "entries": entries, "prompt": prompt},
                room=room,
            )

    async def _step(
        self, sid: str, conversation_id: str, event: engine.Event
    ) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
        storage = self.services.storage
        faq = self.services.faq.index
        conversation = await storage.conversations.get(conversation_id)
        if conversation is None:
            await self._error(sid, "not_found")
            return None, {}
        state = engine.State(conversation.step, conversation.slots, conversation.lang)
        entries = [self._student_entry(conversation, state, event)]
        if event.kind == "attachment":
            upload = next((u for u in conversation.uploads if u["id"] == event.value), None)
            if upload is None:
                await self._error(sid, "not_found")
                return None, {}
            event = engine.Event(
                "attachment", upload["id"], {k: upload[k] for k in ("id", "filename", "size")}
            )
        outcome = engine.step(state, event, faq)
        replies = list(outcome.replies)
        # Effects may feed a result back into the engine, which may ask for more effects.
        pending = list(outcome.effects)
        while pending:
            effect = pending.pop(0)
            result = await self._carry_out(sid, conversation, outcome.state, effect)
            if result is not None:
                outcome = engine.step(outcome.state, result, faq)
                replies += outcome.replies
                pending += outcome.effects
        entries += [self._reply_entry(r) for r in replies]
        conversation.step = outcome.state.step
        conversation.slots = dict(outcome.state.slots)
        conversation.lang = outcome.state.lang
        # The newest entries are what a reload shows; an endless chat must not grow its file
        # (and every later write) without bound.
        conversation.transcript = [
            *conversation.transcript,
            *(e for e in entries if e is not None),
        ][-TRANSCRIPT_MAX:]
        await storage.conversations.save(conversation)
        # The step is saved: the room must hear of it even if this socket just left.
        with contextlib.suppress(KeyError):
            session = await self.get_session(sid)
            if session.get("lang") != conversation.lang:
                await self.save_session(sid, {**session, "lang": conversation.lang})
        return [e for e in entries if e is not None], prompt_view(outcome.prompt)

    def _student_entry(
        self, conversation: Conversation, state: engine.State, event: engine.Event
    ) -> dict[str, Any] | None:
        if event.kind == "text":
            return _entry("student", "text", event.value)
        if event.kind == "choose":
            if event.value.startswith("lang:"):
                # the widget's language switch works at any step, not only where offered
                return _entry(
                    "student", "text", t(f"option.{event.value.replace(':', '.')}", state.lang)
                )
            prompt = engine.prompt_for(state, self.services.faq.index)
            label = next((o.label for o in prompt.options if o.id == event.value), event.value)
            return _entry("student", "text", label)
        if event.kind == "attachment":
            upload = next((u for u in conversation.uploads if u["id"] == event.value), None)
            if upload:
                return _entry(
                    "student",
                    "attachment",
                    upload["filename"],
                    {"filename": upload["filename"], "size": upload["size"]},
                )
        return None

    def _reply_entry(self, reply: engine.Reply) -> dict[str, Any]:
        data = dict(reply.data)
        if reply.kind == "ticket":
            # lets the widget follow the new ticket live at once, without a look-up
            data["token"] = self.services.signer.issue(str(data.get("number", "")))
            data["status_url"] = notify.ticket_link(
                self.services.config.public_url, str(data.get("number", ""))
            )
        return _entry("bot", reply.kind, reply.text, data)

    async def _carry_out(
        self, sid: str, conversation: Conversation, state: engine.State, effect: engine.Effect
    ) -> engine.Event | None:
        services = self.services
        data = effect.data
        if effect.kind == "faq_event":
            await services.storage.faq_events.append(
                FaqEvent(
                    kind=data["kind"],
                    query=str(data.get("query", ""))[:500],
                    lang=conversation.lang,
                    faq_ids=list(data.get("faq_ids", [])),
                    conversation_id=conversation.id,
                )
            )
            return None
        if effect.kind == "create_ticket":
            return await self._create_ticket(sid, conversation, data)
        if effect.kind == "lookup_ticket":
            try:
                ticket = await lookup(
                    services, str(data["email"]), str(data["number"]), self._ip(sid)
                )
            except ApiError as error:
                if error.status == 429:
                    retry = int(error.headers.get("Retry-After", "60"))
                    return engine.Event(
                        "lookup_failed", data={"reason": "throttled", "retry_after": retry}
                    )
                return engine.Event("lookup_failed", data={"reason": "not_found"})
            token = services.signer.issue(ticket.number)
            return engine.Event("ticket_found", data={"number": ticket.number, "token": token})
        log.warning("unknown effect %s", effect.kind)
        return None

    async def _create_ticket(self, sid: str, conversation: Conversation, data: Any) -> engine.Event:
        services = self.services
        fields = {
            k: str(data[k]) for k in ("email", "name", "phone", "topic", "subtopic", "message")
        }
        fields["lang"] = str(data.get("lang") or conversation.lang)
        # The engine validated every field, but the HTTP API's rules are the law: a field the
        # two disagree on goes back to the student instead of into a broken ticket.
        clean, errors = validate_ticket({**fields, "references": ""}, services.faq.index)
        if errors:
            return engine.Event("ticket_failed", data={"reason": "invalid", "fields": errors})
        limits = creation_limits(services, self._ip(sid), clean["email"])
        try:
            take_all(limits)
        except ApiError as error:
            retry = int(error.headers.get("Retry-After", "60"))
            return engine.Event(
                "ticket_failed", data={"reason": "rate_limited", "retry_after": retry}
            )
        upload = next(
            (u for u in conversation.uploads if u["id"] == data.get("attachment_id")), None
        )
        attachment = Attachment(**upload) if upload is not None else None
        try:
            references = self._own_ticket(data.get("references"), clean["email"])
            ticket = await Desk(services).open(
                clean, attachment, conversation_id=conversation.id, references=references
            )
        except Exception:
            # Nothing was opened: the attempt does not count, and the student keeps every
            # answer and can confirm again.
            refund_all(limits)
            log.exception("could not open a ticket for conversation %s", conversation.id)
            return engine.Event("ticket_failed", data={"reason": "error"})
        # Files uploaded in this chat but not sent with the ticket would stay on disk forever.
        for unused in conversation.uploads:
            if attachment is None or unused["id"] != attachment.id:
                await services.storage.attachments.delete(unused["id"])
        conversation.uploads = []
        return engine.Event("ticket_created", ticket.number)

    def _own_ticket(self, number: Any, email: str) -> str | None:
        """A follow-up links its closed ticket only when both belong to the same email (the
        student may have changed the address at the summary)."""
        if not isinstance(number, str) or not number:
            return None
        old = self.services.storage.tickets.summary(number)
        return number if old is not None and old.email == email else None

    def _ip(self, sid: str) -> str:
        return str(self._environ.get(sid, {}).get("ip") or "unknown")

    # --- a ticket, live --------------------------------------------------------------------

    async def on_watch_ticket(self, sid: str, data: Any) -> None:
        token = data.get("token") if isinstance(data, dict) else None
        number = self.services.signer.verify(token) if isinstance(token, str) else None
        lang = normalise_lang(data.get("lang") if isinstance(data, dict) else None)
        ticket = await self.services.storage.tickets.get(number) if number else None
        session = await self.get_session(sid)
        session["lang"] = lang  # the ticket page may never say hello
        await self.save_session(sid, session)
        if ticket is None:
            await self._error(sid, "unauthorized")
            return
        session["tickets"] = sorted({*session.get("tickets", []), ticket.number})
        await self.save_session(sid, session)
        await self.enter_room(sid, STUDENT_ROOM.format(number=ticket.number))
        await self.emit("ticket", await Desk(self.services).student_view(ticket, lang), to=sid)
        await self.emit(
            "student_online",
            {"number": ticket.number, "online": True},
            room=CONSOLE_TICKET_ROOM.format(number=ticket.number),
            namespace="/console",
        )

    async def on_unwatch_ticket(self, sid: str, data: Any) -> None:
        """The student turned from the ticket to the chat: a reply now goes by mail too."""
        token = data.get("token") if isinstance(data, dict) else None
        number = self.services.signer.verify(token) if isinstance(token, str) else None
        session = await self.get_session(sid)
        if number is None or number not in session.get("tickets", []):
            return
        session["tickets"] = [n for n in session["tickets"] if n != number]
        await self.save_session(sid, session)
        await self.leave_room(sid, STUDENT_ROOM.format(number=number))
        await self._left_ticket(sid, number)

    async def on_student_typing(self, sid: str, data: Any) -> None:
        token = data.get("token") if isinstance(data, dict) else None
        number = self.services.signer.verify(token) if isinstance(token, str) else None
        if number is None or number not in (await self.get_session(sid)).get("tickets", []):
            return
        await self.emit(
            "student_typing",
            {"number": number, "typing": bool(data.get("typing"))},
            room=CONSOLE_TICKET_ROOM.format(number=number),
            namespace="/console",
        )


@routes.post("/api/chat/{conversation_id}/attachments")
async def upload_chat_attachment(request: web.Request) -> web.Response:
    """Attachments come over HTTP, never in a socket event (Engine.IO's buffer is 1 MB)."""
    services = request.app[SERVICES]
    conversation_id = request.match_info["conversation_id"]
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise ApiError(404, "not_found")
    if await services.storage.conversations.get(conversation_id) is None:
        raise ApiError(404, "not_found")
    if request.content_type != "multipart/form-data":
        raise ApiError(400, "bad_request")
    # Counted up front, per chat and per address: anonymous uploads must not fill the disk.
    limits = [
        (services.limits.uploads_per_conversation, conversation_id),
        (services.limits.uploads_per_ip, client_ip(request)),
    ]
    take_all(limits)
    # A refused file (too big, wrong type) still cost a write and a delete: it counts.
    form = await read_form(
        await request.multipart(), services.storage.attachments, field_names=set()
    )
    attachment = form.attachment
    if attachment is None:
        refund_all(limits)
        raise ApiError(400, "bad_request")
    async with services.conversation_lock(conversation_id):
        conversation = await services.storage.conversations.get(conversation_id)
        if conversation is None:
            await services.storage.attachments.delete(attachment.id)
            raise ApiError(404, "not_found")
        conversation.uploads.append(asdict(attachment))
        await services.storage.conversations.save(conversation)
    return web.json_response(
        {"id": attachment.id, "filename": attachment.filename, "size": attachment.size}, status=201
    )
