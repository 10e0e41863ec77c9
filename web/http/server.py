"""aiohttp's HTTP server, answering what it cannot parse in CONTRACT.md's error shape.

A request line or header too long, too many headers, a method that is not one: aiohttp answers
these itself, before any middleware runs, in plain text that names its own version, and logs a
traceback for each. A public page is probed with them every day, so the answer here is the
JSON every other refusal has, the log line a warning without a traceback, and no `Server`
header. aiohttp builds its protocol objects with no option to choose their class, hence the two
small subclasses below (aiohttp is pinned; tests/web/http/test_hostile.py catches a change).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from web.desk.errors import ApiError
from web.http.errors import error_response, request_lang
from web.http.logs import new_request_id

log = logging.getLogger("helpdesk.http")
SERVER_HEADER = "Server"


class _Anonymous(web.Response):
    """A response that does not say which server sent it: aiohttp adds `Server` while
    preparing, after the application's hooks for an unparsed request could have removed it."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        self.headers.popall(SERVER_HEADER, None)


class _Protocol(RequestHandler):
    def data_received(self, data: bytes) -> None:
        # From the stop on, aiohttp drops every byte a connection receives, the rest of a body
        # being sent included: its handler then waits for it until HELPDESK_SHUTDOWN_SECONDS
        # have passed, and the student's upload is cut off anyway. The body of a request in
        # progress is let in, so the request finishes as the stop promises; whatever follows
        # it is dropped as before.
        request = self._current_request
        if (self._close or self._force_close) and request is not None and (
            not request.content.is_eof()
        ):
            closing = self._close, self._force_close
            self._close = self._force_close = False
            try:
                super().data_received(data)
            finally:
                self._close, self._force_close = closing
            return
        super().data_received(data)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            reference = new_request_id()
            log.error("unexpected error, reference %s", reference, exc_info=exc)
            error = ApiError(status, "internal_reference", params={"reference": reference})
        else:
            reference = None
            # Port scanners open with garbage: common, harmless, not worth a warning.
            first_garbage = isinstance(exc, BadHttpMethod) and self._request_count == 1
            log.log(
                logging.DEBUG if first_garbage else logging.WARNING,
                "refused a malformed request from %s: %s",
                request.remote,
                _short(exc),
            )
            error = ApiError(status, "bad_request")
        if request.writer.output_size > 0:
            # Part of an answer already left: the connection is broken, as aiohttp says.
            raise ConnectionError("response already started")
        plain = error_response(error, request_lang(request), reference=reference)
        response = _Anonymous(
            status=plain.status, body=plain.body, content_type="application/json"
        )
        response.force_close()
        return response


def _short(exc: BaseException | None) -> str:
    # The parser's message quotes what it refused: enough for the log, never all of it.
    return repr(str(exc))[:200] if exc is not None else "unknown"


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Protocol(self, loop=self._loop, **self._kwargs)


class AccessLog(AbstractAccessLogger):
    """aiohttp's access line without query strings. The console's search sends a student's
    email or name as ?q=, the ticket page its number, and a log line outlives an erasure and
    the retention; the path, status and timing are what the access log is for."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        referer = request.headers.get("Referer", "-").split("?", 1)[0]
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.3f "%s" "%s"',
            # the path as sent: decoded, a %0A would start a forged line of its own
            request.remote, request.method, request.rel_url.raw_path, *request.version,
            response.status, response.body_length, time, referer,
            request.headers.get("User-Agent", "-"),
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class Runner(web.AppRunner):
    """web.AppRunner whose connections answer malformed requests in our shape.

    keepalive_timeout bounds how long a connection may take to send a request's headers (a
    client that opens a connection and trickles a header line a minute holds it no longer),
    and how long an idle keep-alive connection stays open."""

    def __init__(self, app: web.Application, *, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=read_timeout, access_log_class=AccessLog, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # Same fields, one method more: the class that makes our protocol objects.
        server.__class__ = _Server
        return server


async def hide_server(_request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: no `Server` header naming software and version (it only helps
    whoever looks for a known hole)."""
    response.headers.popall(SERVER_HEADER, None)
