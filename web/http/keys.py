"""The typed keys under which create_app hangs what the handlers share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from storage import Operator
from web.desk.services import Services

SERVICES = web.AppKey("services", Services)
# The operator signed in on a request, if any: the console answers it (web/console/access.py),
# and the student side asks it where an operator may also read (attachment downloads).
OperatorOf = Callable[[web.Request], Awaitable[Operator | None]]
OPERATOR_OF: web.AppKey[OperatorOf] = web.AppKey("operator_of")
