"""Who may call the console's HTTP API, and the small helpers every console handler uses.

- every console call needs a live session (cookie `helpdesk_console`, else 401); every POST
  after login also needs the session's CSRF token in `X-CSRF-Token` (else 403);
- a student's ticket token opens nothing here: it is never read by the console;
- operators, editors and admins all work tickets; only admins manage accounts and see mail
  that could not be delivered; editors and admins read the reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from storage import AuditEntry
from storage.models import ROLES, Role
from web.console.namespace import CONSOLE, Caller, ConsoleNamespace, parse_number
from web.desk.errors import ApiError
from web.http.keys import SERVICES

CSRF_HEADER = "X-CSRF-Token"


async def require(
    request: web.Request, *, csrf: bool, roles: Iterable[Role] = ROLES
) -> tuple[ConsoleNamespace, Caller]:
    """401 without a live session, 403 without the CSRF token (csrf: every POST) or the role."""
    console = request.app[CONSOLE]
    found = await console.caller(request)
    if found is None:
        raise ApiError(401, "unauthorized")
    if csrf and not found.session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "csrf")
    if found.operator.role not in set(roles):
        raise ApiError(403, "forbidden")
    return console, found


async def path_number(request: web.Request, *, erased: bool = False) -> str:
    """The ticket's number in the URL, if it exists. erased: an anonymised ticket's too, for a
    change that refuses it itself, saying why."""
    number = parse_number(request.match_info["number"])
    summary = await request.app[SERVICES].storage.tickets.summary(number) if number else None
    # An anonymised ticket is only a line in the figures: there is nothing to work on.
    if number is None or summary is None or (summary.anonymised and not erased):
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
