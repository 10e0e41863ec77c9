"""The `/chat` Socket.IO namespace (docs/protocol.md): relays a student's events to the pure
dialogue engine and carries out the effects it asks for.

The conversation lives in storage under an id the widget keeps, never under the socket id, so a
reload, a reconnect or a server restart resumes at the same step. Socket.IO runs one client's
events concurrently: a per-conversation lock makes load -> step -> save one step at a time.
"""

from __future__ import annotations

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
from web.desk import STUDENT_ROOM, Desk
from web.errors import ApiError, rate_limited
from web.services import SERVICES, Services
from web.student import check_creation_limits, count_creation, lookup
from web.uploads import read_form

log = logging.getLogger("helpdesk.chat")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_TEXT = 4000
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
        self._environ[sid] = {"ip": environ.get("REMOTE_ADDR") or _peer(environ)}
        await self.save_session(sid, {"conversation_id": None, "tickets": []})

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
            room=f"console-ticket:{number}",
            namespace="/console",
        )

    async def _error(self, sid: str, code: str, lang: str) -> None:
        await self.emit("error", {"code": code, "message": t(f"error.{code}", lang)}, to=sid)

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
            sid, {**await self.get_session(sid), "conversation_id": conversation.id}
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
            await self._error(sid, "bad_request", "it")
            return
        await self._handle(sid, data, engine.Event("choose", option))

    async def on_say(self, sid: str, data: Any) -> None:
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            await self._error(sid, "bad_request", "it")
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
            await self._error(sid, "not_found", "it")
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
            await self._error(sid, "not_found", "it")
            return None, {}
        state = engine.State(conversation.step, conversation.slots, conversation.lang)
        entries = [self._student_entry(conversation, state, event)]
        if event.kind == "attachment":
            upload = next((u for u in conversation.uploads if u["id"] == event.value), None)
            if upload is None:
                await self._error(sid, "not_found", conversation.lang)
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
        conversation.transcript += [e for e in entries if e is not None]
        await storage.conversations.save(conversation)
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
            data["status_url"] = (
                f"{self.services.config.public_url}/ticket?number={data.get('number', '')}"
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
        ip = self._ip(sid)
        try:
            check_creation_limits(services, ip, fields["email"])
        except ApiError as error:
            retry = int(error.headers.get("Retry-After", "60"))
            return engine.Event(
                "ticket_failed", data={"reason": "rate_limited", "retry_after": retry}
            )
        attachment = None
        upload = next(
            (u for u in conversation.uploads if u["id"] == data.get("attachment_id")), None
        )
        if upload is not None:
            attachment = Attachment(**upload)
        # The engine validated every field, but the HTTP API's rules are the law: a field the
        # two disagree on goes back to the student instead of into a broken ticket.
        clean, errors = validate_ticket({**fields, "references": ""}, services.faq.index)
        if errors:
            return engine.Event("ticket_failed", data={"reason": "invalid", "fields": errors})
        count_creation(services, ip, fields["email"])
        references = data.get("references") or None
        try:
            ticket = await Desk(services).open(
                clean, attachment, conversation_id=conversation.id, references=references
            )
        except Exception:
            # The student keeps every answer and can confirm again.
            log.exception("could not open a ticket for conversation %s", conversation.id)
            return engine.Event("ticket_failed", data={"reason": "error"})
        return engine.Event("ticket_created", ticket.number)

    def _ip(self, sid: str) -> str:
        return str(self._environ.get(sid, {}).get("ip") or "unknown")

    # --- a ticket, live --------------------------------------------------------------------

    async def on_watch_ticket(self, sid: str, data: Any) -> None:
        token = data.get("token") if isinstance(data, dict) else None
        number = self.services.signer.verify(token) if isinstance(token, str) else None
        lang = normalise_lang(data.get("lang") if isinstance(data, dict) else None)
        ticket = await self.services.storage.tickets.get(number) if number else None
        if ticket is None:
            await self._error(sid, "unauthorized", lang)
            return
        session = await self.get_session(sid)
        session["tickets"] = sorted({*session.get("tickets", []), ticket.number})
        await self.save_session(sid, session)
        await self.enter_room(sid, STUDENT_ROOM.format(number=ticket.number))
        await self.emit("ticket", await Desk(self.services).student_view(ticket, lang), to=sid)
        await self.emit(
            "student_online",
            {"number": ticket.number, "online": True},
            room=f"console-ticket:{ticket.number}",
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
            room=f"console-ticket:{number}",
            namespace="/console",
        )


def _peer(environ: dict[str, Any]) -> str:
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    return str(remote or "unknown")


@routes.post("/api/chat/{conversation_id}/attachments")
async def upload_chat_attachment(request: web.Request) -> web.Response:
    """Attachments come over HTTP, never in a socket event (Engine.IO's buffer is 1 MB)."""
    services = request.app[SERVICES]
    conversation_id = request.match_info["conversation_id"]
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise ApiError(404, "not_found")
    if await services.storage.conversations.get(conversation_id) is None:
        raise ApiError(404, "not_found")
    limiter = services.limits.uploads_per_conversation
    wait = limiter.retry_after(conversation_id)
    if wait:
        raise rate_limited(wait)
    if request.content_type != "multipart/form-data":
        raise ApiError(400, "bad_request")
    form = await read_form(
        await request.multipart(), services.storage.attachments, field_names=set()
    )
    attachment = form.attachment
    if attachment is None:
        raise ApiError(400, "bad_request")
    limiter.hit(conversation_id)
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
