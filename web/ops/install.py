"""Hangs the operations' parts on an application: /metrics and its counting middleware,
/readyz and its checks, the stop that makes /readyz say so."""

from __future__ import annotations

from aiohttp import web

from web.config import Config
from web.http.keys import SERVICES
from web.ops.metrics import Metrics
from web.ops.readiness import Check, Readiness, writable

METRICS = web.AppKey("metrics", Metrics)
# Where a part that runs on a server of its own adds its readiness check (readiness.py).
READINESS = web.AppKey("readiness", Readiness)


def install(app: web.Application, config: Config) -> None:
    metrics = app[METRICS] = Metrics(config.metrics_allow)
    # Outermost, so that it sees every answer, the refusals of the other middlewares too.
    app.middlewares.insert(0, metrics.middleware)
    app.router.add_get("/metrics", metrics.handle)
    readiness = app[READINESS] = Readiness()
    if config.database_url is None:
        readiness.add("data_dir", writable(config.data_dir))
    else:
        # Nothing is kept in the data folder then: the database must answer instead.
        readiness.add("database", answers(app))
    app.router.add_get("/readyz", readiness.handle)
    app.on_shutdown.append(readiness.stop)


def answers(app: web.Application) -> Check:
    """The storage's server answers a question (the PostgreSQL mode of CONTRACT.md section 7)."""

    async def check() -> None:
        await app[SERVICES].storage.tickets.count()

    return check
