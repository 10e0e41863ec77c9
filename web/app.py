"""create_app: the one place where the help desk is wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
import socketio
from aiohttp import web

from bot.i18n import t
from storage import Storage
from web import chat, console, pages, student
from web.assets import Assets
from web.config import MAX_ATTACHMENT_BYTES, Config
from web.errors import ApiError, error_response, request_lang
from web.faqs import LiveFaq
from web.mail import OutboxWorker
from web.secret import load_or_create_secret
from web.services import SERVICES, Limits, Services
from web.tokens import TokenSigner

log = logging.getLogger("helpdesk")
HERE = Path(__file__).resolve().parent
# 2 MiB of attachment plus the form's other fields and multipart framing; the upload code
# counts the attachment itself and stops at exactly 2 MiB.
CLIENT_MAX_SIZE = MAX_ATTACHMENT_BYTES + 256 * 1024

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


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(config: Config, *, storage: Storage | None = None) -> web.Application:
    """The whole service. Storage is opened at startup (or given, for tests that share one)."""
    app = web.Application(
        client_max_size=CLIENT_MAX_SIZE, middlewares=[cors_and_headers(config), api_errors]
    )
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        # Only our own pages and the embedding university pages may open a socket: a
        # cross-site page must not drive a student's chat or an operator's console.
        cors_allowed_origins=config.cors_origins,
        max_http_buffer_size=64 * 1024,
    )
    sio.attach(app)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["t"] = t

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        own_storage = storage is None
        store = storage or await Storage.open(config.data_dir)
        secret = load_or_create_secret(config.data_dir, config.secret_key)
        services = Services(
            config=config,
            storage=store,
            faq=LiveFaq(config.faq_dir, config.faq_reload_seconds),
            sio=sio,
            signer=TokenSigner(secret, config.ticket_token_hours * 3600),
            limits=Limits.from_config(config),
        )
        app[SERVICES] = services
        sio.register_namespace(chat.ChatNamespace(services))
        sio.register_namespace(console.ConsoleNamespace(services))
        console.install(services)
        services.mail = OutboxWorker(store, config)
        services.faq.start()
        await services.mail.start()
        try:
            yield
        finally:
            await console.console_of(services).close()
            await services.mail.stop()
            await services.faq.stop()
            if own_storage:
                await store.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    assets = Assets()
    app.router.add_get("/widget.js", assets.widget)
    app.router.add_get("/static/{path:.+}", assets.static)
    # Browsers ask for /favicon.ico whatever the page links; answer with our icon.
    app.router.add_get("/favicon.ico", assets.favicon)
    app.router.add_routes(pages.routes)
    app.router.add_routes(student.routes)
    app.router.add_routes(chat.routes)
    app.router.add_routes(console.routes)
    return app
