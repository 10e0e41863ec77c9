"""A student's conversation with the assistant: load it, step the pure dialogue engine, carry
out the effects it asks for (log a FAQ event, open a ticket, look one up), save it.

The conversation lives in storage under an id the widget keeps, never under the socket id, so a
reload, a reconnect or a server restart resumes at the same step. Not one left untouched for
longer than RESUME_IDLE, though: the widget keeps the id in the browser's localStorage, which
outlives the student's visit, and on a shared computer (a library, a lab) the next person would
find the transcript, with the contact details typed into it and the ticket's token, which opens
the ticket and its files.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import engine
from bot.i18n import t
from bot.validate import validate_ticket
from storage import (
    Attachment,
    Conversation,
    ConversationChanged,
    FaqEvent,
    refused_by_disk,
)
from storage.models import FAQ_BANDS
from web.desk import meter, notify
from web.desk.errors import ApiError, rate_limited
from web.desk.limits import refund_all, take_all
from web.desk.redact import without_contacts
from web.desk.services import Services
from web.desk.students import creation_limits, lookup, opened_by, opened_from
from web.desk.tickets import Desk
from web.desk.transcript import entry

log = logging.getLogger("helpdesk.chat")
TRANSCRIPT_MAX = 300
# Longer than a student pauses to find a document, shorter than the gap to the next person at
# a library computer; a chat left longer starts over (the stored one stays, for the office).
RESUME_IDLE = timedelta(hours=1)


@dataclass
class Turn:
    """What one step said: the new transcript entries, the next prompt, the chat's language,
    and whether sockets of other processes may follow the chat (Conversation.shared)."""

    entries: list[dict[str, Any]]
    prompt: dict[str, Any]
    lang: str
    shared: bool


def prompt_view(prompt: engine.Prompt) -> dict[str, Any]:
    return {
        "options": [{"id": o.id, "label": o.label} for o in prompt.options],
        "input": prompt.input,
        "placeholder": prompt.placeholder,
    }


class Conversations:
    def __init__(self, services: Services) -> None:
        self.services = services

    def prompt(self, conversation: Conversation) -> dict[str, Any]:
        state = engine.State(conversation.step, conversation.slots, conversation.lang)
        return prompt_view(engine.prompt_for(state, self.services.faq.index))

    async def resume_or_start(
        self, requested: str | None, lang: str, follow_up: Any, ip: str
    ) -> Conversation:
        """The conversation the widget names, or a new one when it names none, an unknown one
        or one left for longer than RESUME_IDLE (ApiError 429 when this address opened too
        many)."""
        storage = self.services.storage
        if requested is not None:
            conversation = await storage.conversations.resume(requested)
            if conversation is not None and not left(conversation):
                return conversation
        # New conversations cost disk: a script must not open them by the thousand.
        wait = await self.services.limits.conversations_per_ip.take(ip)
        if wait:
            raise rate_limited(wait)
        outcome = engine.start(lang, self.services.faq.index, await self._follow_up(follow_up))
        conversation = Conversation(
            id=secrets.token_urlsafe(16),
            step=outcome.state.step,
            slots=dict(outcome.state.slots),
            lang=outcome.state.lang,
        )
        lang = outcome.state.lang
        conversation.transcript = [self._reply_entry(r, lang) for r in outcome.replies]
        _remember_email(conversation)
        await storage.conversations.save(conversation)
        return conversation

    async def in_language(self, conversation: Conversation, lang: str) -> Conversation:
        """A chat still at its welcome, where the student has said nothing yet, takes the
        language the page asks for: the Italian landing page started it, then the student
        switched the site to English, or opened an English page that embeds the widget. Once
        the student has spoken, the chat keeps its language. The caller holds its lock."""
        untouched = conversation.step == "welcome" and not any(
            entry.get("from") == "student" for entry in conversation.transcript
        )
        if conversation.lang == lang or not untouched:
            return conversation
        outcome = engine.start(lang, self.services.faq.index, conversation.slots or None)
        conversation.lang = outcome.state.lang
        conversation.transcript = [self._reply_entry(r, conversation.lang) for r in outcome.replies]
        try:
            await self.services.storage.conversations.save(conversation)
        except ConversationChanged:  # another process's tab moved it on: that chat stands
            return await self.services.storage.conversations.get(conversation.id) or conversation
        return conversation

    async def _follow_up(self, token: Any) -> dict[str, str] | None:
        """The contact data of a closed ticket whose token the student holds: its follow-up
        starts with them filled in and refers to it."""
        number = await opened_by(self.services, token)
        ticket = await self.services.storage.tickets.get(number) if number else None
        if ticket is None or ticket.status != "closed":
            return None
        return {
            "email": ticket.email,
            "name": ticket.name,
            "phone": ticket.phone,
            "references": ticket.number,
        }

    async def step(self, conversation_id: str, event: engine.Event, ip: str) -> Turn:
        """One step, saved (written behind, see storage.conversations); ApiError 404 for an
        unknown conversation or upload. The caller holds the conversation's lock, which is
        this process's: when another process saved the chat meanwhile (the student's other
        tab, there), the step is taken again on what it saved."""
        try:
            return await self._step(conversation_id, event, ip, stored=False)
        except ConversationChanged:
            return await self._step(conversation_id, event, ip, stored=True)

    async def _step(
        self, conversation_id: str, event: engine.Event, ip: str, *, stored: bool
    ) -> Turn:
        """stored: start from the stored chat rather than this process's copy of it. Nothing
        is done outside the chat before the copy is known to be current: the FAQ events wait
        for the save, and a ticket or a look-up for a read of the stored chat."""
        conversations = self.services.storage.conversations
        faq = self.services.faq.index
        conversation = await (
            conversations.get(conversation_id) if stored
            else conversations.working_copy(conversation_id)
        )
        if conversation is None:
            raise ApiError(404, "not_found")
        state = engine.State(conversation.step, conversation.slots, conversation.lang)
        entries = [self._student_entry(conversation, state, event)]
        if event.kind == "attachment":
            upload = next((u for u in conversation.uploads if u["id"] == event.value), None)
            if upload is None:
                raise ApiError(404, "not_found")
            event = engine.Event(
                "attachment", upload["id"], {k: upload[k] for k in ("id", "filename", "size")}
            )
        outcome = engine.step(state, event, faq)
        replies = list(outcome.replies)
        # Effects may feed a result back into the engine, which may ask for more effects.
        pending = list(outcome.effects)
        logged: list[engine.Effect] = []
        opens_ticket = False
        while pending:
            effect = pending.pop(0)
            if effect.kind == "faq_event":
                logged.append(effect)
                continue
            if not stored:
                await self._ensure_current(conversation)
                stored = True
            opens_ticket |= effect.kind == "create_ticket"
            result = await self._carry_out(conversation, effect, ip)
            if result is not None:
                outcome = engine.step(outcome.state, result, faq)
                replies += outcome.replies
                pending += outcome.effects
        entries += [self._reply_entry(r, outcome.state.lang) for r in replies]
        conversation.step = outcome.state.step
        conversation.slots = dict(outcome.state.slots)
        _remember_email(conversation)
        conversation.lang = outcome.state.lang
        # The newest entries are what a reload shows; an endless chat must not grow its file
        # (and every later write) without bound.
        conversation.transcript = [
            *conversation.transcript,
            *(e for e in entries if e is not None),
        ][-TRANSCRIPT_MAX:]
        # A chat that forgot, after a crash, the ticket it opened would offer to open it again.
        try:
            await conversations.save(conversation, durable=opens_ticket)
        except ConversationChanged:
            if not opens_ticket:
                raise
            await self._save_over(conversation)
        for effect in logged:
            await self._carry_out(conversation, effect, ip)
        return Turn(
            [e for e in entries if e is not None],
            prompt_view(outcome.prompt),
            conversation.lang,
            conversation.shared,
        )

    async def add_upload(self, conversation_id: str, upload: dict[str, Any]) -> bool:
        """The file joins the chat, on disk before the student is told it was received; False
        for an unknown chat. The caller holds the conversation's lock (this process's)."""
        try:
            return await self._add_upload(conversation_id, upload)
        except ConversationChanged:  # another process saved the chat between read and save
            return await self._add_upload(conversation_id, upload)

    async def _add_upload(self, conversation_id: str, upload: dict[str, Any]) -> bool:
        conversations = self.services.storage.conversations
        conversation = await conversations.get(conversation_id)
        if conversation is None:
            return False
        conversation.uploads.append(upload)
        await conversations.save(conversation, durable=True)
        return True

    async def _save_over(self, conversation: Conversation) -> None:
        """The ticket this step opened stays in the chat even though another process saved the
        chat meanwhile: taking the step again would open a second ticket, so the other tab's
        step gives way to it (a student acting in two tabs within those milliseconds)."""
        conversations = self.services.storage.conversations
        current = await conversations.get(conversation.id)
        if current is None:  # erased meanwhile: the ticket stands, the chat stays gone
            raise ApiError(404, "not_found")
        conversation.version = current.version
        await conversations.save(conversation, durable=True)

    async def _ensure_current(self, conversation: Conversation) -> None:
        """ConversationChanged if another process saved the chat after this copy was read."""
        current = await self.services.storage.conversations.get(conversation.id)
        if current is None or current.version != conversation.version:
            raise ConversationChanged(conversation.id)

    def _student_entry(
        self, conversation: Conversation, state: engine.State, event: engine.Event
    ) -> dict[str, Any] | None:
        if event.kind == "text":
            return entry("student", "text", event.value)
        if event.kind == "choose":
            if event.value.startswith("lang:"):
                # the widget's language switch works at any step, not only where offered
                return entry(
                    "student", "text", t(f"option.{event.value.replace(':', '.')}", state.lang)
                )
            prompt = engine.prompt_for(state, self.services.faq.index)
            label = next((o.label for o in prompt.options if o.id == event.value), event.value)
            return entry("student", "text", label)
        if event.kind == "attachment":
            upload = next((u for u in conversation.uploads if u["id"] == event.value), None)
            if upload:
                return entry(
                    "student",
                    "attachment",
                    upload["filename"],
                    {"filename": upload["filename"], "size": upload["size"]},
                )
        return None

    def _reply_entry(self, reply: engine.Reply, lang: str) -> dict[str, Any]:
        data = dict(reply.data)
        if reply.kind == "ticket":
            # lets the widget follow the new ticket live at once, without a look-up
            data["token"] = self.services.signer.issue(str(data.get("number", "")))
            data["status_url"] = notify.ticket_link(
                self.services.config.public_url, str(data.get("number", "")), lang
            )
        return entry("bot", reply.kind, reply.text, data, lang)

    async def _carry_out(
        self, conversation: Conversation, effect: engine.Effect, ip: str
    ) -> engine.Event | None:
        services = self.services
        data = effect.data
        if effect.kind == "faq_event":
            decision = meter.faq_decision(data)
            if decision is not None:
                services.meter.faq_decision(decision)
            await services.storage.faq_events.append(
                FaqEvent(
                    kind=data["kind"],
                    # kept for the FAQ report after the chat is gone: not its contact details
                    query=without_contacts(str(data.get("query", "")))[:500],
                    lang=conversation.lang,
                    faq_ids=list(data.get("faq_ids", [])),
                    conversation_id=conversation.id,
                    band=data["band"] if data.get("band") in FAQ_BANDS else None,
                )
            )
            return None
        if effect.kind == "create_ticket":
            return await self._create_ticket(conversation, data, ip)
        if effect.kind == "lookup_ticket":
            try:
                ticket = await lookup(services, str(data["email"]), str(data["number"]), ip)
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

    async def _create_ticket(self, conversation: Conversation, data: Any, ip: str) -> engine.Event:
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
        limits = creation_limits(services, ip, clean["email"])
        try:
            await take_all(limits)
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
            references = await self._own_ticket(data.get("references"), clean["email"])
            # The step's own name: the other tab, confirming on another process in the same
            # moment, read the same version of the chat and gets this same ticket.
            opened = await Desk(services).open_once(
                clean,
                attachment,
                conversation_id=conversation.id,
                references=references,
                idempotency_key=f"{conversation.id}@{conversation.version}",
            )
        except Exception as exc:
            # Nothing was opened: the attempt does not count, and the student keeps every
            # answer and can confirm again.
            await refund_all(limits)
            if refused_by_disk(exc):
                log.error("could not open a ticket for conversation %s: the disk refused a"
                          " write: %s", conversation.id, exc)
            else:
                log.exception("could not open a ticket for conversation %s", conversation.id)
            return engine.Event("ticket_failed", data={"reason": "error"})
        if not opened.new:
            await refund_all(limits)  # the other tab's confirm opened it, and counted it
        await opened_from(services, clean["email"], ip)
        # Files uploaded in this chat but not sent with the ticket would stay on disk forever.
        for unused in conversation.uploads:
            if attachment is None or unused["id"] != attachment.id:
                await services.storage.attachments.delete(unused["id"])
        conversation.uploads = []
        return engine.Event("ticket_created", opened.ticket.number)

    async def _own_ticket(self, number: Any, email: str) -> str | None:
        """A follow-up links its closed ticket only when both belong to the same email (the
        student may have changed the address at the summary)."""
        if not isinstance(number, str) or not number:
            return None
        old = await self.services.storage.tickets.summary(number)
        return number if old is not None and old.email == email else None


def left(conversation: Conversation) -> bool:
    """Untouched for longer than RESUME_IDLE: someone else may be at the keyboard now."""
    idle = datetime.now(UTC) - datetime.fromisoformat(conversation.updated_at)
    return idle > RESUME_IDLE


def _remember_email(conversation: Conversation) -> None:
    """Conversation.emails: the erasure must find a chat by an email it was given even after a
    restart cleared the slot (the transcript and the uploads stay)."""
    email = conversation.slots.get("email")
    if isinstance(email, str) and email and email.lower() not in conversation.emails:
        conversation.emails.append(email.lower())
