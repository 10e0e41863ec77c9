"""create_app: the one place where the help desk is wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.i18n import t
from storage import Backend, open_backend
from web import console, student
from web.cluster import STICKY_COOKIE, Cluster
from web.config import Config
from web.console.namespace import CONSOLE, ConsoleNamespace
from web.desk.anonymise import Anonymiser
from web.desk.faqs import LAST_GOOD, LiveFaq
from web.desk.limits import Limits
from web.desk.mail import OutboxWorker
from web.desk.presence import LocalPresence
from web.desk.retention import Retention
from web.desk.secret import fingerprint, load_or_create_secret
from web.desk.services import Services
from web.desk.tickets import Desk
from web.desk.tokens import TokenSigner
from web.desk.unanswered import UnansweredClosing
from web.http.assets import Assets
from web.http.guard import Guard
from web.http.keys import OPERATOR_OF, SERVICES
from web.http.middleware import api_errors, cors_and_headers, request_context
from web.http.server import hide_server
from web.http.sockets import GuardedServer
from web.http.uploads import MAX_FORM_BYTES
from web.ops.install import METRICS
from web.ops.install import install as install_ops
from web.rooms import LocalRooms
from web.student.chat import ChatNamespace

log = logging.getLogger("helpdesk")
HERE = Path(__file__).resolve().parent
# 2 MiB of attachment plus the form's other fields and multipart framing; the upload code
# counts both while streaming and stops at exactly 2 MiB of attachment.
CLIENT_MAX_SIZE = MAX_FORM_BYTES

async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(config: Config, *, storage: Backend | None = None) -> web.Application:
    """The whole service. Storage is opened at startup (or given, for tests that share one)."""
    app = web.Application(
        client_max_size=CLIENT_MAX_SIZE,
        middlewares=[
            request_context(config.read_timeout_seconds, CLIENT_MAX_SIZE),
            cors_and_headers(config),
            api_errors,
        ],
    )
    app.on_response_prepare.append(hide_server)
    install_ops(app, config)
    # Several processes share live events, limits and presence through Redis; one keeps them.
    cluster = Cluster(config.redis_url) if config.redis_url else None
    sio = GuardedServer(
        Guard(),
        async_mode="aiohttp",
        client_manager=cluster.live if cluster else LocalRooms(),
        # Several processes sit behind a balancer, which learns from this cookie in the
        # handshake's answer where a long-polling client's later requests belong (docs/deploy.md).
        cookie=STICKY_COOKIE if cluster else None,
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
        # The key first: a refusal for a missing one must not wait for the database.
        secret = load_or_create_secret(config.data_dir, config.secret_key, config.database_url)
        own_storage = storage is None
        if cluster is not None:
            await cluster.start(fingerprint(secret))
        store = storage or await open_backend(config.data_dir, config.database_url)
        services = Services(
            config=config,
            storage=store,
            faq=LiveFaq(config.faq_dir, config.faq_reload_seconds, config.data_dir / LAST_GOOD),
            live=sio,
            signer=TokenSigner(secret, config.ticket_token_hours * 3600),
            limits=Limits.from_config(config, cluster.counters(secret) if cluster else None),
            presence=cluster.presence if cluster else LocalPresence(),
        )
        services.meter = app[METRICS]
        app[SERVICES] = services
        sio.register_namespace(ChatNamespace(services))
        consoles = ConsoleNamespace(services)
        sio.register_namespace(consoles)
        app[CONSOLE] = consoles
        # The attachment download asks the console who is signed in.
        app[OPERATOR_OF] = consoles.operator_of
        services.mail = OutboxWorker(store, config)
        services.retention = Retention(
            Anonymiser(store, services.conversation_lock, services.mail_folder()),
            config.retention_days,
        )
        if services.antivirus is not None:
            # Not a reason to refuse the start: chats and tickets go on, only files wait.
            if await services.antivirus.answers():
                log.info("antivirus: attachments are scanned by clamd at %s", config.clamd)
            else:
                log.warning(
                    "antivirus: clamd at %s does not answer; attachments are refused until it "
                    "does", config.clamd,
                )
        services.faq.start()
        await services.mail.start()
        services.retention.start()
        if config.awaiting_close_days:
            services.unanswered = UnansweredClosing(Desk(services), config.awaiting_close_days)
            services.unanswered.start()
        if cluster is not None or config.office_hours is not None:
            # the other processes move the queue too, and the office opens and closes
            services.waits.start()
        try:
            yield
        finally:
            await services.waits.stop()
            await services.retention.stop()
            if services.unanswered is not None:
                await services.unanswered.stop()
            await consoles.close()
            await services.mail.stop()
            await services.faq.stop()
            if own_storage:
                await store.close()
            if cluster is not None:
                await cluster.stop()

    app.cleanup_ctx.append(lifecycle)

    async def hang_up_sockets(_app: web.Application) -> None:
        # At shutdown, before aiohttp waits for the requests in flight (an open socket is
        # one): the widgets and consoles reconnect, to another process or this one restarted.
        consoles = _app.get(CONSOLE)
        if consoles is not None:
            await consoles.closing()
        await sio.eio.hang_up_all()

    app.on_shutdown.append(hang_up_sockets)
    app.router.add_get("/healthz", healthz)
    assets = Assets()
    app.router.add_get("/widget.js", assets.widget)
    app.router.add_get("/static/{path:.+}", assets.static)
    # Browsers ask for /favicon.ico whatever the page links; answer with our icon.
    app.router.add_get("/favicon.ico", assets.favicon)
    for routes in (*student.ROUTES, *console.ROUTES):
        app.router.add_routes(routes)
    return app
