"""Signing in and out: the password check, its limits, the session cookie."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace

from aiohttp import web

from web.console.access import audit, json_response, no_store, require
from web.console.namespace import CONSOLE, own_origins, person
from web.desk.accounts import (
    USERNAME,
    hash_password,
    needs_rehash,
    normalise_username,
    verify_password,
)
from web.desk.errors import ApiError, rate_limited
from web.desk.limits import Counter, Limits, refund_all
from web.desk.sessions import COOKIE
from web.http.clients import request_ip, sender
from web.http.errors import json_object
from web.http.keys import SERVICES

log = logging.getLogger("helpdesk.console")

routes = web.RouteTableDef()


@dataclass
class LoginAttempt:
    """One try at a password, counted against three limits: per address, per username from
    that address (strict), per username from anywhere (a high ceiling). The strict one is
    keyed on the address too, so that whoever knows an operator's username cannot lock the
    operator out by guessing from elsewhere. Where the operator signed in during the last
    30 days only the strict one applies: a distributed guesser cannot lock them out with the
    ceiling, nor can someone behind the same address (a campus network, a proxy) with made-up
    usernames. The strict one counts against the account's current password: an operator who
    forgot it and tried until refused signs in with the one an admin then sets, at once."""

    taken: list[tuple[Counter, str]]
    limits: Limits
    user_address: str
    strict_key: str

    @classmethod
    async def take(
        cls, limits: Limits, username: str, ip: str, credential: str | None
    ) -> LoginAttempt:
        """Count the attempt, or raise 429 (counting nothing) if any limit is reached.
        credential: the account's password hash (None for an unknown username)."""
        user_address = f"{username}\n{ip}"  # no address holds a line break
        # A digest, not the hash itself: the key may sit in Redis.
        tag = hashlib.sha256(credential.encode()).hexdigest()[:16] if credential else ""
        strict_key = f"{user_address}\n{tag}"
        counters = [(limits.login_failures_per_user_address, strict_key)]
        if not await limits.trusted_logins.has(user_address):
            counters += [
                (limits.login_failures_per_ip, ip),
                (limits.login_failures_per_user, username),
            ]
        taken: list[tuple[Counter, str]] = []
        wait = 0.0
        for limiter, key in counters:
            refused = await limiter.take(key)
            if refused:
                wait = max(wait, refused)
            else:
                taken.append((limiter, key))
        if wait:
            await refund_all(taken)
            raise rate_limited(wait)
        return cls(taken, limits, user_address, strict_key)

    async def succeeded(self) -> None:
        """The right password: this try was no guess, and the typos this operator made from
        this address before are forgiven."""
        await refund_all(self.taken)
        await self.limits.login_failures_per_user_address.reset(self.strict_key)
        await self.limits.trusted_logins.add(self.user_address)


@routes.post("/api/console/login")
async def login(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    console = request.app[CONSOLE]
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
    ip = request_ip(request)
    limits = services.limits
    operator = (
        await services.storage.operators.get(username) if USERNAME.fullmatch(username) else None
    )
    # Counted before the password check and given back if it succeeds: a burst of concurrent
    # guesses must not all pass a check made before any of them was counted.
    attempt = await LoginAttempt.take(
        limits, username, sender(ip), operator.password_hash if operator else None
    )
    # argon2 is slow on purpose: off the event loop. Unknown users cost the same time.
    ok = await asyncio.to_thread(
        verify_password, operator.password_hash if operator else None, password
    )
    if not ok or operator is None:
        log.info("console login failed for %r from %s", username, ip)
        raise ApiError(401, "login_failed")
    await attempt.succeeded()
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
    session = await console.sessions.create(operator.username, operator.password_hash)
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
