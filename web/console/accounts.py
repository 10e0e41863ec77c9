"""The team: colleagues to transfer a ticket to, and account management for admins."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aiohttp import web

from storage import Operator
from web.console.access import audit, flag, json_response, require
from web.console.namespace import ConsoleNamespace, person
from web.console.signin import LoginAttempt
from web.desk.accounts import (
    AccountError,
    build_operator,
    check_name,
    check_password,
    check_role,
    hash_password,
    normalise_username,
    verify_password,
)
from web.desk.errors import ApiError
from web.desk.tickets import Desk
from web.http.clients import request_sender
from web.http.errors import json_object

routes = web.RouteTableDef()


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
    """Everyone sees the active colleagues (to transfer a ticket); admins see every account,
    with how many open tickets each holds (a colleague away holds them where nobody looks)."""
    console, caller = await require(request, csrf=False)
    online = {o["username"] for o in await console.online()}
    admin = caller.operator.role == "admin"
    tickets = console.services.storage.tickets
    accounts = []
    for operator in await console.services.storage.operators.list():
        if admin:
            held = (await tickets.queue(Desk.held_by(operator.username, limit=1))).total
            accounts.append({**account_view(operator, online), "held": held})
        elif operator.active:
            accounts.append(account_view(operator, online))
    return json_response({"operators": accounts})


def is_admin(operator: Operator) -> bool:
    return operator.active and operator.role == "admin"


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
    # Asked first so that a taken name is told before a password rule, and without hashing.
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
    # Only `add` settles a race: two admins (or one double click) creating the same username
    # both pass the look-up above while argon2 hashes, and a put would let the second
    # silently replace the first person's name and password.
    if not await store.add(operator):
        raise ApiError(409, "username_taken")
    await audit(
        request, caller.operator.username, "operator.added", operator.username, role=operator.role
    )
    return json_response({"operator": account_view(operator, set())}, status=201)


@routes.post("/api/console/operators/{username}")
async def update_operator(request: web.Request) -> web.StreamResponse:
    """Change an account's name, role, password or active flag; deactivating, a new password
    or a new role ends its sessions and closes its sockets at once."""
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
    if updated == operator:
        # A Save on a row nobody changed: nothing to write, nor a line in the account's history
        # that says nothing.
        return await account_answer(console, updated)
    if operator.username == caller.operator.username and (
        not updated.active or updated.role != "admin"
    ):
        # An admin cannot lock themselves out; another admin (or the command line) can.
        raise ApiError(409, "own_account")
    if not await store.swap(operator, updated):
        raise ApiError(409, "conflict")
    if is_admin(operator) and not is_admin(updated) and not any(
        is_admin(o) for o in await store.list()
    ):
        # Two admins taking each other's role at once each pass the own-account rule: the
        # later of the two, who reads both writes, is undone, and the office keeps an admin.
        await store.swap(updated, operator)
        raise ApiError(409, "last_admin")
    if not updated.active or updated.password_hash != operator.password_hash:
        await console.end_sessions_of(updated.username, "revoked")
    elif updated.role != operator.role:
        # An open page keeps the buttons of the role it was drawn with: a demoted admin would
        # click into refusals, a promoted operator would not see what they may now do.
        await console.end_sessions_of(updated.username, "role_changed")
    if operator.active and not updated.active:
        await console.desk.release_held_by(updated.username, caller.operator)
    changes = sorted(
        k for k in ("name", "role", "active") if getattr(updated, k) != getattr(operator, k)
    )
    # What each became, from what: "role" alone could not tell a promotion from a demotion.
    values = {k: [getattr(operator, k), getattr(updated, k)] for k in changes}
    if updated.password_hash != operator.password_hash:
        changes.append("password")
    await audit(
        request, caller.operator.username, "operator.updated", updated.username,
        changes=changes, **values,
    )
    return await account_answer(console, updated)


async def account_answer(console: ConsoleNamespace, operator: Operator) -> web.StreamResponse:
    online = {o["username"] for o in await console.online()}
    return json_response({"operator": account_view(operator, online)})


@routes.post("/api/console/operators/{username}/release")
async def release_tickets(request: web.Request) -> web.StreamResponse:
    """The open tickets an account holds go back to the unassigned queue, the account staying
    as it is: for a colleague on leave, whose students would otherwise wait on nobody."""
    console, caller = await require(request, csrf=True, roles=("admin",))
    operator = await console.services.storage.operators.get(
        normalise_username(request.match_info["username"])
    )
    if operator is None:
        raise ApiError(404, "not_found")
    released = await console.desk.release_held_by(operator.username, caller.operator)
    await audit(
        request, caller.operator.username, "operator.tickets_released", operator.username,
        released=released,
    )
    return json_response({"released": released})


# What the history of an account shows: what was done to it, and its sign-ins and outs.
HISTORY_LIMIT = 50


@routes.get("/api/console/operators/{username}/history")
async def account_history(request: web.Request) -> web.StreamResponse:
    """Who created, changed, deactivated an account and freed its tickets, and when it signed
    in: for the head of the office, from the audit's latest entries."""
    console, _ = await require(request, csrf=False, roles=("admin",))
    username = normalise_username(request.match_info["username"])
    if await console.services.storage.operators.get(username) is None:
        raise ApiError(404, "not_found")
    entries = await console.services.storage.audit.recent(HISTORY_LIMIT, target=username)
    return json_response(
        {
            "entries": [
                {"at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail}
                for e in entries
                if e.action.startswith("operator.")
            ]
        }
    )


@routes.post("/api/console/me/password")
async def change_own_password(request: web.Request) -> web.StreamResponse:
    """An operator's own new password, given the current one: the one an admin chose and told
    them becomes theirs alone. Every session of the account ends, this one too, so that one
    opened with the old password (a laptop left signed in) does not outlive the change. Wrong
    current passwords count as failed sign-ins, with their limits."""
    console, caller = await require(request, csrf=True)
    data = await json_object(request)
    current, new = (data.get(k) for k in ("current", "password"))
    missing = {
        k: "console.field.required"
        for k, v in (("current", current), ("password", new))
        if not isinstance(v, str) or not v
    }
    if missing:
        raise ApiError(422, "validation_failed", fields=missing)
    operator = caller.operator
    attempt = await LoginAttempt.take(
        console.services.limits, operator.username, request_sender(request), operator.password_hash
    )
    if not await asyncio.to_thread(verify_password, operator.password_hash, str(current)):
        raise ApiError(
            422, "validation_failed", fields={"current": "console.field.current_password"}
        )
    await attempt.succeeded()
    try:
        password = check_password(str(new), operator.username)
    except AccountError as error:
        raise account_error(error) from None
    hashed = await asyncio.to_thread(hash_password, password)
    # The account as it was before argon2's two slow turns: an admin who deactivated it or
    # changed its role meanwhile is not undone by the password's write.
    if not await console.services.storage.operators.swap(
        operator, replace(operator, password_hash=hashed)
    ):
        raise ApiError(409, "conflict")
    await audit(
        request, operator.username, "operator.updated", operator.username, changes=["password"]
    )
    await console.end_sessions_of(operator.username, "password_changed")
    return json_response({})
