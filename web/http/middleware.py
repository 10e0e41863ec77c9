"""The middlewares every request passes: CONTRACT.md's error shape, CORS for the embedding
university pages, and the security headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from web.config import Config
from web.desk.errors import ApiError
from web.http.errors import error_response, request_lang

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors become CONTRACT.md's error shape, in the caller's language."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error, request_lang(request))
    except web.HTTPRequestEntityTooLarge:
        return error_response(ApiError(413, "too_large"), request_lang(request))
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = {404: "not_found", 405: "bad_request", 401: "unauthorized"}.get(
            exc.status, "bad_request"
        )
        return error_response(ApiError(exc.status, code), request_lang(request))


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
