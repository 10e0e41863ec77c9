"""The operators' side: sign-in and sessions, the console page, the console HTTP API of
CONTRACT.md section 4 and the `/console` Socket.IO namespace (docs/protocol.md).

Who may do what, in one place:
- every console call needs a live session (cookie `helpdesk_console`, else 401); every POST
  after login also needs the session's CSRF token in `X-CSRF-Token` (else 403);
- the socket needs the same cookie and the CSRF token in its `auth` dict, or it is refused;
- a student's ticket token opens nothing here: it is never read by this module;
- operators, editors and admins all work tickets; only admins manage accounts and see mail
  that could not be delivered; editors and admins read the FAQ report.

Two operators must never answer one student twice, so a public reply and a status change are
refused (409) on a ticket a colleague holds (take it first, on purpose), and a reply is refused
when a colleague's answer arrived after the last message the sender had seen. Both checks run
under the ticket's lock, inside the same update that writes the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp_jinja2
import socketio
from aiohttp import web

from bot.i18n import normalise_lang, t
from bot.validate import Invalid, Valid, validate_number, validate_reply
from storage import AuditEntry, Message, Operator, Ticket, TicketSummary
from storage.models import ROLES, TICKET_STATUSES, Role, TicketStatus
from web.accounts import (
    USERNAME,
    AccountError,
    build_operator,
    check_name,
    check_password,
    check_role,
    hash_password,
    needs_rehash,
    normalise_username,
    verify_password,
)
from web.desk import (
    CONSOLE_TICKET_ROOM,
    OPERATORS_ROOM,
    STUDENT_ROOM,
    Desk,
    Guard,
    message_view,
    summary_view,
)
from web.errors import ApiError, json_object, rate_limited, request_lang
from web.faq_report import build_report
from web.limits import RateLimiter
from web.services import SERVICES, Limits, Services
from web.sessions import COOKIE, Session, SessionStore
from web.student import client_ip

log = logging.getLogger("helpdesk.console")
NAMESPACE = "/console"
CSRF_HEADER = "X-CSRF-Token"
BACKGROUND_HEADER = "X-Console-Background"
QUEUE_LIMIT = 200
QUEUE_LIMIT_MAX = 1000
FAQ_RESULTS = 8
SWEEP_SECONDS = 15.0
routes = web.RouteTableDef()


# --- who is calling ---------------------------------------------------------------------------


@dataclass
class Caller:
    operator: Operator
    session: Session


@dataclass
class SocketUser:
    username: str
    name: str
    session_id: str
    lang: str
    tickets: set[str] = field(default_factory=set)  # open in this socket
    typing: set[str] = field(default_factory=set)  # tickets it is writing in


def person(operator: Operator) -> dict[str, str]:
    return {"username": operator.username, "name": operator.name}


class ConsoleNamespace(socketio.AsyncNamespace):
    """The `/console` namespace, and the live state the console's HTTP API shares with it:
    the sessions, who is online and who has which ticket open."""

    def __init__(self, services: Services) -> None:
        super().__init__(NAMESPACE)
        self.services = services
        self.desk = Desk(services)
        self.sessions = SessionStore(services.config.session_idle_minutes * 60)
        self.secure_cookie = services.config.public_url.startswith("https://")
        self._users: dict[str, SocketUser] = {}  # sid -> who
        self._viewers: dict[str, set[str]] = {}  # ticket number -> sids that have it open
        self._sweeper: asyncio.Task[None] | None = None

    # --- sessions ---------------------------------------------------------------------------

    async def session_operator(
        self, session_id: str | None, *, touch: bool = True
    ) -> Caller | None:
        """The caller of a live session whose account is still active and whose password has
        not changed since the login; anything else ends the session."""
        session = self.sessions.get(session_id, touch=touch)
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
        session = self.sessions.drop(session_id)
        if session is not None:
            await self._close_sockets(session, reason)

    async def end_sessions_of(self, username: str, reason: str) -> None:
        for session in self.sessions.drop_user(username):
            await self._close_sockets(session, reason)

    async def _close_sockets(self, session: Session, reason: str) -> None:
        for sid in list(session.sids):
            await self.emit("session_expired", {"reason": reason}, to=sid)
            await self.disconnect(sid)

    def _start_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        """An idle session ends on time even if its console just sits there receiving queue
        updates: its sockets are closed within SWEEP_SECONDS."""
        while self._users:
            await asyncio.sleep(SWEEP_SECONDS)
            for session in self.sessions.expired():
                await self._close_sockets(session, "expired")

    async def close(self) -> None:
        """Stop the sweeper (at shutdown; the last disconnect stops it too)."""
        if self._sweeper is not None and self._sweeper is not asyncio.current_task():
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    # --- who is online, who has a ticket open ----------------------------------------------

    def online(self) -> list[dict[str, str]]:
        seen: dict[str, str] = {}
        for user in self._users.values():
            seen.setdefault(user.username, user.name)
        return [{"username": u, "name": n} for u, n in sorted(seen.items(), key=lambda x: x[1])]

    def viewers(self, number: str) -> list[dict[str, str]]:
        seen: dict[str, str] = {}
        for sid in self._viewers.get(number, ()):
            user = self._users.get(sid)
            if user is not None:
                seen.setdefault(user.username, user.name)
        return [{"username": u, "name": n} for u, n in sorted(seen.items(), key=lambda x: x[1])]

    def student_online(self, number: str) -> bool:
        room = STUDENT_ROOM.format(number=number)
        manager = self.server.manager
        return any(
            manager.is_connected(sid, "/chat") for sid, _ in manager.get_participants("/chat", room)
        )

    async def _presence(self) -> None:
        await self.emit("presence", {"operators": self.online()}, room=OPERATORS_ROOM)

    async def _send_viewers(self, number: str) -> None:
        await self.emit(
            "viewers",
            {"number": number, "operators": self.viewers(number)},
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
            found.operator.username, found.operator.name, found.session.id, lang
        )
        found.session.sids.add(sid)
        await self.enter_room(sid, OPERATORS_ROOM)
        self._start_sweeper()
        await self._presence()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        user = self._users.pop(sid, None)
        if user is None:
            return
        session = self.sessions.get(user.session_id, touch=False)
        if session is not None:
            session.sids.discard(sid)
        for number in list(user.tickets):
            await self._leave(sid, user, number, left=True)
        await self._presence()
        if not self._users:
            await self.close()  # nobody to watch over; the next connection starts it again

    async def _user(self, sid: str) -> SocketUser | None:
        """The socket's operator while their session lives; a dead session closes it."""
        user = self._users.get(sid)
        if user is None:
            return None
        if await self.session_operator(user.session_id) is None:
            await self.emit("session_expired", {"reason": "expired"}, to=sid)
            await self.disconnect(sid)
            return None
        return user

    async def _error(self, sid: str, user: SocketUser, code: str) -> None:
        await self.emit("error", {"code": code, "message": t(f"error.{code}", user.lang)}, to=sid)

    async def on_active(self, sid: str, data: Any = None) -> None:
        """The operator is at the console (typing, clicking): the idle clock starts again."""
        await self._user(sid)

    async def on_open_ticket(self, sid: str, data: Any = None) -> None:
        user = await self._user(sid)
        if user is None:
            return
        number = _number(data.get("number") if isinstance(data, dict) else None)
        if number is None or self.services.storage.tickets.summary(number) is None:
            await self._error(sid, user, "not_found")
            return
        user.tickets.add(number)
        self._viewers.setdefault(number, set()).add(sid)
        await self.enter_room(sid, CONSOLE_TICKET_ROOM.format(number=number))
        await self._send_viewers(number)
        await self.emit(
            "student_online", {"number": number, "online": self.student_online(number)}, to=sid
        )

    async def on_close_ticket(self, sid: str, data: Any = None) -> None:
        user = self._users.get(sid)
        number = _number(data.get("number") if isinstance(data, dict) else None)
        if user is None or number is None or number not in user.tickets:
            return
        await self._leave(sid, user, number, left=False)

    async def _leave(self, sid: str, user: SocketUser, number: str, *, left: bool) -> None:
        if number in user.typing:
            await self._relay_typing(sid, user, number, typing=False, internal=False)
        user.tickets.discard(number)
        sids = self._viewers.get(number, set())
        sids.discard(sid)
        if not sids:
            self._viewers.pop(number, None)
        if not left:
            await self.leave_room(sid, CONSOLE_TICKET_ROOM.format(number=number))
        await self._send_viewers(number)

    async def on_operator_typing(self, sid: str, data: Any = None) -> None:
        user = await self._user(sid)
        if user is None or not isinstance(data, dict):
            return
        number = _number(data.get("number"))
        # Only in a ticket the operator has open: a socket cannot reach other tickets' rooms.
        if number is None or number not in user.tickets:
            return
        typing = bool(data.get("typing"))
        await self._relay_typing(
            sid, user, number, typing=typing, internal=bool(data.get("internal"))
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
        # The student sees the display name only, and nothing while a note is being written.
        if not internal or not typing:
            await self.server.emit(
                "operator_typing",
                payload,
                room=STUDENT_ROOM.format(number=number),
                namespace="/chat",
            )


def console_of(services: Services) -> ConsoleNamespace:
    handler = services.sio.namespace_handlers.get(NAMESPACE)
    if not isinstance(handler, ConsoleNamespace):
        raise RuntimeError("the /console namespace is not registered")
    return handler


def install(services: Services) -> None:
    """Called by create_app once the namespace is registered: the attachment download asks the
    console who is signed in."""
    services.operator_of = console_of(services).operator_of


def own_origins(services: Services) -> set[str]:
    config = services.config
    return set(config.cors_origins) - (set(config.allowed_origins) - {config.own_origin})


def _number(raw: object) -> str | None:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    clean = validate_number(str(raw))
    return clean.value if isinstance(clean, Valid) else None


# --- HTTP helpers ---------------------------------------------------------------------------


async def require(
    request: web.Request, *, csrf: bool, roles: Iterable[Role] = ROLES
) -> tuple[ConsoleNamespace, Caller]:
    """401 without a live session, 403 without the CSRF token (csrf: every POST) or the role."""
    console = console_of(request.app[SERVICES])
    found = await console.caller(request)
    if found is None:
        raise ApiError(401, "unauthorized")
    if csrf and not found.session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "csrf")
    if found.operator.role not in set(roles):
        raise ApiError(403, "forbidden")
    return console, found


def path_number(request: web.Request) -> str:
    number = _number(request.match_info["number"])
    if number is None or request.app[SERVICES].storage.tickets.summary(number) is None:
        raise ApiError(404, "not_found")
    return number


def flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(422, "validation_failed", fields={name: "console.field.boolean"})
    return value


async def audit(request: web.Request, actor: str, action: str, target: str, **detail: Any) -> None:
    await request.app[SERVICES].storage.audit.append(
        AuditEntry(actor=actor, action=action, target=target, detail=detail)
    )


def no_store(response: web.StreamResponse) -> web.StreamResponse:
    # Student data and CSRF tokens must not sit in a shared or back-button cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def json_response(data: Any, status: int = 200) -> web.StreamResponse:
    return no_store(
        web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))
    )


# --- sign-in --------------------------------------------------------------------------------


@dataclass
class LoginAttempt:
    """One try at a password, counted against three limits: per address, per username from
    that address (strict), per username from anywhere (a high ceiling). The strict one is
    keyed on the address too, so that whoever knows an operator's username cannot lock the
    operator out by guessing from elsewhere; and the ceiling does not apply where the
    operator signed in during the last 30 days, so a distributed guesser cannot either."""

    taken: list[tuple[RateLimiter, str]]
    limits: Limits
    user_address: str

    @classmethod
    def take(cls, limits: Limits, username: str, ip: str) -> LoginAttempt:
        """Count the attempt, or raise 429 (counting nothing) if any limit is reached."""
        user_address = f"{username}\n{ip}"  # no address holds a line break
        counters = [
            (limits.login_failures_per_ip, ip),
            (limits.login_failures_per_user_address, user_address),
        ]
        if not limits.trusted_logins.has(user_address):
            counters.append((limits.login_failures_per_user, username))
        taken: list[tuple[RateLimiter, str]] = []
        wait = 0.0
        for limiter, key in counters:  # no await in here: nothing runs in between
            refused = limiter.take(key)
            if refused:
                wait = max(wait, refused)
            else:
                taken.append((limiter, key))
        if wait:
            for limiter, key in taken:
                limiter.refund(key)
            raise rate_limited(wait)
        return cls(taken, limits, user_address)

    def succeeded(self) -> None:
        """The right password: this try was no guess, and the typos this operator made from
        this address before are forgiven."""
        for limiter, key in self.taken:
            limiter.refund(key)
        self.limits.login_failures_per_user_address.reset(self.user_address)
        self.limits.trusted_logins.add(self.user_address)


@routes.post("/api/console/login")
async def login(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    console = console_of(services)
    # Login CSRF (signing a victim into someone else's account): JSON only, which a cross-site
    # form cannot send, and never from another origin.
    origin = request.headers.get("Origin")
    if origin and origin not in own_origins(services):
        raise ApiError(403, "forbidden")
    data = await json_object(request)
    raw_user, password = data.get("username"), data.get("password")
    missing = {
        name: "console.field.required"
        for name, value in (("username", raw_user), ("password", password))
        if not isinstance(value, str) or not value
    }
    if missing or not isinstance(raw_user, str) or not isinstance(password, str):
        raise ApiError(422, "validation_failed", fields=missing)
    username = normalise_username(raw_user)[:64]
    ip = client_ip(request)
    limits = services.limits
    # Counted before the password check and given back if it succeeds: a burst of concurrent
    # guesses must not all pass a check made before any of them was counted.
    attempt = LoginAttempt.take(limits, username, ip)
    operator = (
        await services.storage.operators.get(username) if USERNAME.fullmatch(username) else None
    )
    # argon2 is slow on purpose: off the event loop. Unknown users cost the same time.
    ok = await asyncio.to_thread(
        verify_password, operator.password_hash if operator else None, password
    )
    if not ok or operator is None:
        log.info("console login failed for %r from %s", username, ip)
        raise ApiError(401, "login_failed")
    attempt.succeeded()
    if not operator.active:
        # Only someone who knows the password learns that the account is disabled.
        raise ApiError(403, "account_disabled")
    if needs_rehash(operator.password_hash):
        operator = replace(operator, password_hash=await asyncio.to_thread(hash_password, password))
        await services.storage.operators.put(operator)
    # A new id at every login: a session id planted in the browser before is worth nothing.
    old = request.cookies.get(COOKIE)
    if old:
        await console.end_session(old, "replaced")
    session = console.sessions.create(operator.username, operator.password_hash)
    await audit(request, operator.username, "operator.login", operator.username, ip=ip)
    response = json_response(
        {
            "username": operator.username,
            "name": operator.name,
            "role": operator.role,
            "csrf_token": session.csrf_token,
            "idle_minutes": services.config.session_idle_minutes,
        }
    )
    response.set_cookie(
        COOKIE, session.id, path="/", httponly=True, samesite="Lax", secure=console.secure_cookie
    )
    return response


@routes.post("/api/console/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True)
    await console.end_session(caller.session.id, "logout")
    await audit(request, caller.operator.username, "operator.logout", caller.operator.username)
    response = no_store(web.Response(status=204))
    response.del_cookie(COOKIE, path="/")
    return response


@routes.get("/api/console/me")
async def me(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=False)
    return json_response(
        {
            **person(caller.operator),
            "role": caller.operator.role,
            "csrf_token": caller.session.csrf_token,
            "idle_minutes": console.services.config.session_idle_minutes,
        }
    )


# --- the page -------------------------------------------------------------------------------


@routes.get("/console")
async def console_page(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    lang = "en" if request.query.get("lang") == "en" else "it"
    found = await console_of(services).caller(request)
    index = services.faq.index
    boot = {
        "lang": lang,
        "statuses": list(TICKET_STATUSES),
        "topics": [
            {
                "id": topic.id,
                "label": topic.label_in(lang),
                "subtopics": [{"id": s.id, "label": s.label_in(lang)} for s in topic.subtopics],
            }
            for topic in index.topics
        ],
        "me": None
        if found is None
        else {
            **person(found.operator),
            "role": found.operator.role,
            "csrf_token": found.session.csrf_token,
        },
        "idle_minutes": services.config.session_idle_minutes,
    }
    response = aiohttp_jinja2.render_template(
        "console.html", request, {"lang": lang, "boot": boot, "signed_in": found is not None}
    )
    return no_store(response)


# --- the queue ------------------------------------------------------------------------------


def _search(services: Services, query: str) -> list[TicketSummary]:
    tickets = services.storage.tickets
    found = tickets.search(query, limit=QUEUE_LIMIT_MAX)
    number = _number(query)
    exact = tickets.summary(number) if number else None
    if exact is None:
        return found
    return [exact, *(s for s in found if s.number != exact.number)]


SORTS = {
    "newest": (lambda s: s.created_at, True),
    "oldest": (lambda s: s.created_at, False),
    # Longest without news first: what a student has been waiting for the longest.
    "waiting": (lambda s: s.updated_at, False),
    "updated": (lambda s: s.updated_at, True),
}


@routes.get("/api/console/tickets")
async def list_tickets(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=False)
    services = console.services
    q = request.query
    fields: dict[str, str] = {}
    statuses = [s for s in q.get("status", "").split(",") if s]
    if any(s not in TICKET_STATUSES for s in statuses):
        fields["status"] = "console.field.status"
    # all | me | none | a username, or several joined by commas ("me,none": what I may take)
    assigned = [a for a in q.get("assigned", "all").split(",") if a]
    if any(a not in ("all", "me", "none") and not USERNAME.fullmatch(a) for a in assigned):
        fields["assigned"] = "console.field.assigned"
    sort = q.get("sort", "newest")
    if sort not in SORTS:
        fields["sort"] = "console.field.sort"
    try:
        limit = int(q.get("limit", QUEUE_LIMIT))
        if not 1 <= limit <= QUEUE_LIMIT_MAX:
            raise ValueError
    except ValueError:
        fields["limit"] = "console.field.limit"
        limit = QUEUE_LIMIT
    if fields:
        raise ApiError(422, "validation_failed", fields=fields)
    query = q.get("q", "").strip()[:200]
    topic, subtopic = q.get("topic", ""), q.get("subtopic", "")
    holders = (
        None
        if not assigned or "all" in assigned
        else {{"me": caller.operator.username, "none": ""}.get(a, a) for a in assigned}
    )

    def keep(s: TicketSummary) -> bool:
        return (
            (not topic or s.topic == topic)
            and (not subtopic or s.subtopic == subtopic)
            and (holders is None or (s.operator or "") in holders)
        )

    pool = [
        s
        for s in (_search(services, query) if query else services.storage.tickets.summaries())
        if keep(s)
    ]
    counts = dict.fromkeys(TICKET_STATUSES, 0)
    for s in pool:
        counts[s.status] += 1
    chosen = [s for s in pool if not statuses or s.status in statuses]
    key, reverse = SORTS[sort]
    if not (query and sort == "newest"):  # a search keeps the exact number first
        chosen.sort(key=key, reverse=reverse)
    names = await console.desk.operator_names()
    return json_response(
        {
            "tickets": [summary_view(s, names) for s in chosen[:limit]],
            "total": len(chosen),
            "counts": counts,
        }
    )


# --- one ticket -----------------------------------------------------------------------------


def _labels(services: Services, ticket: Ticket, lang: str) -> dict[str, str]:
    topic, subtopic = services.faq.index.labels(ticket.topic, ticket.subtopic, lang)
    return {
        "status_label": t(f"status.{ticket.status}", lang),
        "topic_label": topic,
        "subtopic_label": subtopic,
    }


async def ticket_view(console: ConsoleNamespace, ticket: Ticket, lang: str) -> dict[str, Any]:
    """Everything an operator needs on one screen, internal notes included."""
    services = console.services
    names = await console.desk.operator_names()
    conversation = None
    if ticket.conversation_id:
        found = await services.storage.conversations.get(ticket.conversation_id)
        if found is not None:
            conversation = {
                "transcript": found.transcript,
                # What the assistant proposed before the student asked for a person: these
                # did not answer the question, so the reply should not repeat them.
                "faqs": [
                    {
                        "id": e["data"].get("id"),
                        "question": e["data"].get("question", e.get("text")),
                    }
                    for e in found.transcript
                    if e.get("kind") == "faq" and isinstance(e.get("data"), dict)
                ],
            }
    others = [
        {"number": s.number, "status": s.status, "created_at": s.created_at}
        for s in services.storage.tickets.of_email(ticket.email)
        if s.number != ticket.number
    ]
    return {
        "number": ticket.number,
        "status": ticket.status,
        **_labels(services, ticket, lang),
        "topic": ticket.topic,
        "subtopic": ticket.subtopic,
        "name": ticket.name,
        "email": ticket.email,
        "phone": ticket.phone,
        "lang": ticket.lang,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "references": ticket.references,
        "operator": (
            {"username": ticket.operator, "name": names.get(ticket.operator, ticket.operator)}
            if ticket.operator
            else None
        ),
        "messages": [console_message(m) for m in ticket.messages],
        "history": [
            {"status": h.status, "by": h.by, "by_name": names.get(h.by, ""), "at": h.at}
            for h in ticket.history
        ],
        "conversation": conversation,
        "other_tickets": others,
        "viewers": console.viewers(ticket.number),
        "student_online": console.student_online(ticket.number),
    }


@routes.get("/api/console/tickets/{number}")
async def get_ticket(request: web.Request) -> web.StreamResponse:
    console, _ = await require(request, csrf=False)
    ticket = await console.services.storage.tickets.get(path_number(request))
    if ticket is None:
        raise ApiError(404, "not_found")
    return json_response(await ticket_view(console, ticket, request_lang(request)))


def console_message(message: Message) -> dict[str, Any]:
    # Operators see who wrote what; the student's view (Desk.student_view) never has this.
    return {**message_view(message), "username": message.username}


def holder_guard(caller: Caller, names: dict[str, str], *, force: bool = False) -> Guard:
    def guard(ticket: Ticket) -> None:
        if ticket.operator not in (None, caller.operator.username) and not force:
            raise ApiError(
                409, "held_by_other", params={"name": names.get(ticket.operator, ticket.operator)}
            )

    return guard


def reply_guard(caller: Caller, names: dict[str, str], after: str | None) -> Guard:
    holder = holder_guard(caller, names)

    def guard(ticket: Ticket) -> None:
        holder(ticket)
        if after is None:
            return
        ids = [m.id for m in ticket.messages]
        if after not in ids:
            raise ApiError(422, "validation_failed", fields={"after": "console.field.after"})
        for message in ticket.messages[ids.index(after) + 1 :]:
            if (
                message.author == "operator"
                and not message.internal
                and message.username != caller.operator.username
            ):
                raise ApiError(409, "reply_conflict", params={"name": message.name})

    return guard


# The rule for a message in a ticket is the students' one (bot.validate); operators read its
# errors in the console's own words.
BODY_ERRORS = {
    "wrong_message.empty": "console.field.body_empty",
    "wrong_message.too_long": "console.field.body_long",
}


def clean_body(raw: object) -> str:
    result = validate_reply(raw) if isinstance(raw, str) else Invalid("wrong_message.empty")
    if isinstance(result, Invalid):
        key = BODY_ERRORS.get(result.key, "console.field.body_empty")
        raise ApiError(422, "validation_failed", fields={"body": key})
    return result.value


@routes.post("/api/console/tickets/{number}/messages")
async def post_message(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True)
    number = path_number(request)
    data = await json_object(request)
    body = clean_body(data.get("body"))
    internal = flag(data, "internal")
    after = data.get("after")
    if after is not None and not isinstance(after, str):
        raise ApiError(422, "validation_failed", fields={"after": "console.field.after"})
    names = await console.desk.operator_names()
    guard = None if internal else reply_guard(caller, names, after)
    # Read live by the student when the ticket is open in their widget; otherwise mailed.
    mail = not internal and not console.student_online(number)
    ticket = await console.desk.operator_reply(
        number, caller.operator, body, internal=internal, guard=guard, mail=mail
    )
    return json_response(
        {
            "message": console_message(ticket.messages[-1]),
            "ticket": summary_view(TicketSummary.of(ticket), names),
            "mailed": mail,
        },
        status=201,
    )


@routes.post("/api/console/tickets/{number}/status")
async def post_status(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True)
    number = path_number(request)
    data = await json_object(request)
    status = data.get("status")
    if status not in TICKET_STATUSES:
        raise ApiError(422, "validation_failed", fields={"status": "console.field.status"})
    force = flag(data, "force")
    names = await console.desk.operator_names()
    ticket = await console.desk.set_status(
        number,
        cast(TicketStatus, status),
        caller.operator,
        guard=holder_guard(caller, names, force=force),
    )
    return json_response({"ticket": summary_view(TicketSummary.of(ticket), names)})


@routes.post("/api/console/tickets/{number}/assign")
async def post_assign(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True)
    number = path_number(request)
    data = await json_object(request)
    raw = data.get("username", "")
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise ApiError(422, "validation_failed", fields={"username": "error.unknown_operator"})
    username = normalise_username(raw) or caller.operator.username
    force = flag(data, "force")
    names = await console.desk.operator_names()
    ticket = await console.desk.assign(
        number, username, caller.operator, guard=holder_guard(caller, names, force=force)
    )
    return json_response({"ticket": summary_view(TicketSummary.of(ticket), names)})


# --- canned answers: the FAQ ----------------------------------------------------------------


@routes.get("/api/console/faq")
async def search_faq(request: web.Request) -> web.StreamResponse:
    console, _ = await require(request, csrf=False)
    index = console.services.faq.index
    lang = normalise_lang(request.query.get("lang") or request_lang(request))
    query = request.query.get("q", "").strip()[:300]
    topic = request.query.get("topic") or None
    subtopic = request.query.get("subtopic") or None
    if query:
        faqs = [
            f
            for m in index.search_ranked(query, lang, topic, subtopic)[:FAQ_RESULTS]
            if (f := index.get(m.id)) is not None
        ]
    elif subtopic:
        faqs = [f for f in index.faqs if f.subtopic == subtopic and (not topic or f.topic == topic)]
    else:
        faqs = []
    return json_response(
        {
            "faqs": [
                {
                    "id": f.id,
                    "question": f.question_in(lang),
                    "answer": f.answer_in(lang),
                    "links": [{"label": link.label_in(lang), "url": link.url} for link in f.links],
                }
                for f in faqs
            ]
        }
    )


# --- the editors' report ---------------------------------------------------------------------


REPORT_DAYS = 30
REPORT_DAYS_MAX = 365


@routes.get("/api/console/faq-report")
async def faq_report(request: web.Request) -> web.StreamResponse:
    """What students asked that no FAQ answered, and which FAQs helped or did not, over the last
    `days` days: for the editors who write faq_data/ (web/faq_report.py counts)."""
    console, _ = await require(request, csrf=False, roles=("editor", "admin"))
    try:
        days = int(request.query.get("days", REPORT_DAYS))
        if not 1 <= days <= REPORT_DAYS_MAX:
            raise ValueError
    except ValueError:
        raise ApiError(422, "validation_failed", fields={"days": "console.field.days"}) from None
    journal = console.services.storage.faq_events
    # The log keeps its latest MEMORY events in memory; a fuller list would mean the report
    # starts later than asked, which the answer says (window.covered_from).
    events = journal.recent(journal.MEMORY)
    report = build_report(
        events,
        console.services.faq.index,
        request_lang(request),
        days,
        datetime.now(UTC),
        every_event=len(events) < journal.MEMORY,
    )
    return json_response(asdict(report))


# --- the team -------------------------------------------------------------------------------


def account_view(operator: Operator, online: set[str]) -> dict[str, Any]:
    return {
        **person(operator),
        "role": operator.role,
        "active": operator.active,
        "created_at": operator.created_at,
        "online": operator.username in online,
    }


@routes.get("/api/console/operators")
async def list_operators(request: web.Request) -> web.StreamResponse:
    """Everyone sees the active colleagues (to transfer a ticket); admins see every account."""
    console, caller = await require(request, csrf=False)
    online = {o["username"] for o in console.online()}
    admin = caller.operator.role == "admin"
    accounts = [
        account_view(o, online)
        for o in await console.services.storage.operators.list()
        if admin or o.active
    ]
    return json_response({"operators": accounts})


def account_error(error: AccountError) -> ApiError:
    return ApiError(422, "validation_failed", fields={error.field: error.key})


@routes.post("/api/console/operators")
async def add_operator(request: web.Request) -> web.StreamResponse:
    console, caller = await require(request, csrf=True, roles=("admin",))
    data = await json_object(request)
    values = {k: data.get(k) for k in ("username", "name", "role", "password")}
    missing = {
        k: "console.field.required"
        for k, v in values.items()
        if k != "role" and (not isinstance(v, str) or not v)
    }
    if values["role"] is not None and not isinstance(values["role"], str):
        missing["role"] = "console.account.bad_role"
    if missing:
        raise ApiError(422, "validation_failed", fields=missing)
    store = console.services.storage.operators
    username = normalise_username(str(values["username"]))
    if await store.get(username) is not None:
        raise ApiError(409, "username_taken")
    try:
        operator = await asyncio.to_thread(
            build_operator,
            username,
            str(values["name"]),
            str(values["role"] or "operator"),
            str(values["password"]),
        )
    except AccountError as error:
        raise account_error(error) from None
    await store.put(operator)
    await audit(
        request, caller.operator.username, "operator.added", operator.username, role=operator.role
    )
    return json_response({"operator": account_view(operator, set())}, status=201)


@routes.post("/api/console/operators/{username}")
async def update_operator(request: web.Request) -> web.StreamResponse:
    """Change an account's name, role, password or active flag; deactivating ends its
    sessions and closes its sockets at once."""
    console, caller = await require(request, csrf=True, roles=("admin",))
    store = console.services.storage.operators
    operator = await store.get(normalise_username(request.match_info["username"]))
    if operator is None:
        raise ApiError(404, "not_found")
    data = await json_object(request)
    updated = replace(operator)
    try:
        if "name" in data:
            updated.name = check_name(str(data["name"] or ""))
        if "role" in data:
            updated.role = check_role(str(data["role"] or ""))
        if "active" in data:
            updated.active = flag(data, "active")
        if data.get("password"):
            password = check_password(str(data["password"]), operator.username)
            updated.password_hash = await asyncio.to_thread(hash_password, password)
    except AccountError as error:
        raise account_error(error) from None
    if operator.username == caller.operator.username and (
        not updated.active or updated.role != "admin"
    ):
        # An admin cannot lock themselves out; another admin (or the command line) can.
        raise ApiError(409, "own_account")
    await store.put(updated)
    if not updated.active or updated.password_hash != operator.password_hash:
        await console.end_sessions_of(updated.username, "revoked")
    changes = sorted(
        k for k in ("name", "role", "active") if getattr(updated, k) != getattr(operator, k)
    )
    if updated.password_hash != operator.password_hash:
        changes.append("password")
    await audit(
        request, caller.operator.username, "operator.updated", updated.username, changes=changes
    )
    online = {o["username"] for o in console.online()}
    return json_response({"operator": account_view(updated, online)})


@routes.get("/api/console/mail/parked")
async def parked_mail(request: web.Request) -> web.StreamResponse:
    """Notifications that could not be delivered after every retry: the admin calls or writes
    to these students by other means, or tries again once the cause is fixed. `reason` is a
    code the page words in the admin's language; `last_error` the server's own text."""
    console, _ = await require(request, csrf=False, roles=("admin",))
    worker = console.services.mail
    return json_response(
        {
            "mail": [
                {
                    "number": number,
                    "id": mail.id,
                    "to": mail.to,
                    "subject": mail.subject,
                    "kind": mail.kind,
                    "attempts": mail.attempts,
                    "reason": mail.reason,
                    "last_error": mail.last_error,
                    "created_at": mail.created_at,
                }
                for number, mail in console.services.storage.tickets.parked_mail()
            ],
            # An outage in progress (the whole queue waits): retrying now would not help.
            "server_problem": worker.server_problem if worker else None,
        }
    )


@routes.post("/api/console/mail/parked/{number}/{mail_id}/retry")
async def retry_parked_mail(request: web.Request) -> web.StreamResponse:
    """Queue a parked mail again with a fresh set of tries."""
    console, caller = await require(request, csrf=True, roles=("admin",))
    worker = console.services.mail
    number = _number(request.match_info["number"])
    mail_id = request.match_info["mail_id"]
    if worker is None or number is None or not await worker.requeue(number, mail_id):
        raise ApiError(404, "not_found")
    await audit(request, caller.operator.username, "mail.retried", number, mail_id=mail_id)
    return json_response({"number": number, "id": mail_id, "state": "queued"})
