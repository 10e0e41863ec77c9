"""The middlewares every request passes: its id and body deadline, CONTRACT.md's error shape,
CORS for the embedding university pages, and the security headers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from storage import DatabaseUnavailable, refused_by_disk
from web.config import Config
from web.desk.errors import ApiError, unavailable
from web.http.errors import error_response, request_lang
from web.http.logs import REQUEST_ID, new_request_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("helpdesk.http")
REQUEST_ID_HEADER = "X-Request-Id"


class BodyTimeout(TimeoutError):
    """The body did not arrive in time. A TimeoutError, so that aiohttp's read of what is
    left of the body after the answer stops on it quietly."""


# A body that announces its length gets this much more time per byte: a 2 MB attachment sent
# from a phone on a weak 3G link (64 kbit/s) still arrives, in about four minutes.
SLOW_LINK_BYTES_PER_SECOND = 8 * 1024


def request_context(
    read_timeout: float, max_body: int
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An id for the request's log lines, and a deadline for its body: a chunked body that
    never ends, or one trickled a byte a minute, is refused (408) instead of holding a
    connection and a handler forever. The deadline grows with the length the body announces
    (at most the largest body the server takes), so a slow phone can still send its file."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = new_request_id()
        REQUEST_ID.set(request_id)
        timer = None
        if request.body_exists:
            content = request.content

            def expire() -> None:
                if not content.is_eof():
                    content.set_exception(BodyTimeout())

            length = min(request.content_length or 0, max_body)
            deadline = read_timeout + length / SLOW_LINK_BYTES_PER_SECOND
            timer = asyncio.get_running_loop().call_later(deadline, expire)
        try:
            response = await handler(request)
        finally:
            if timer is not None:
                timer.cancel()
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return middleware


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors become CONTRACT.md's error shape, in the caller's language: a database out of
    reach a 503; an unexpected error a 500 whose reference is the request id its log line
    carries, and nothing more."""
    lang = request_lang(request)
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error, lang)
    except DatabaseUnavailable as exc:
        # Nothing was done, and the request may be sent again once the database is back.
        log.warning("%s %s: %s", request.method, request.rel_url.raw_path, exc)
        return error_response(unavailable(), lang)
    except web.HTTPRequestEntityTooLarge:
        return error_response(ApiError(413, "too_large"), lang)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = {404: "not_found", 405: "bad_request", 401: "unauthorized"}.get(
            exc.status, "bad_request"
        )
        return error_response(ApiError(exc.status, code), lang)
    except BodyTimeout:
        log.warning("refused a request whose body did not arrive in time")
        response = error_response(ApiError(408, "request_timeout"), lang)
        response.force_close()
        return response
    except ConnectionError:
        # The client left halfway through its body: nobody will read an answer.
        log.info("the client closed the connection before its request was complete")
        response = error_response(ApiError(400, "bad_request"), lang)
        response.force_close()
        return response
    except Exception as exc:
        if refused_by_disk(exc):
            log.error(
                "%s %s: the disk refused a write: %s", request.method, request.rel_url.raw_path, exc
            )
            return error_response(unavailable(), lang)
        reference = REQUEST_ID.get() or new_request_id()
        log.exception("unexpected error, reference %s", reference)
        unexpected = ApiError(500, "internal_reference", params={"reference": reference})
        return error_response(unexpected, lang, reference=reference)


def cors_and_headers(config: Config) -> Callable[..., Awaitable[web.StreamResponse]]:
    allowed = set(config.cors_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        # Only the university pages that embed the widget may call the student API from a
        # browser; the console is same-origin only.
        cross_ok = origin in allowed and not request.path.startswith(("/api/console", "/console"))
        if (
            request.method == "OPTIONS"
            and origin
            and request.path.startswith(("/api/", "/static/"))
        ):
            if not cross_ok:
                return web.Response(status=403)
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, Accept-Language"
            )
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response = await handler(request)
        if cross_ok and origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.content_type == "text/html":
            ancestors = (
                "'none'"
                if request.path.startswith("/console")
                else " ".join(["'self'", *config.allowed_origins])
            )
            headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                f"form-action 'self'; frame-ancestors {ancestors}",
            )
        if config.public_url.startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return middleware
