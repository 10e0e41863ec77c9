"""GET /metrics in Prometheus' text format, for the university's IT.

Counted as they happen: HTTP requests by route, method and status, their latency, and the FAQ
search's decisions (answered, middle, abstained). Read at each scrape, from what the process
holds anyway: live sockets by namespace, the queue (open tickets), the mail outbox (waiting and
parked). Each application has a registry of its own, so that two servers in one process (the
tests) do not count into each other.

Reachable only from HELPDESK_METRICS_ALLOW (loopback by default): through a reverse proxy the
request carries forwarding headers, and every address they name must be allowed too, so a
proxy on the same machine does not open the figures to the world. Anyone else gets a 404.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from storage.queue import QueueQuery
from web.desk.errors import ApiError
from web.desk.live import OPERATORS, STUDENTS
from web.desk.meter import DECISIONS
from web.http.keys import SERVICES

log = logging.getLogger("helpdesk.ops")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FORWARDING = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
# A request held open (a WebSocket, a long poll) is not latency.
HELD_OPEN = "/socket.io/"


class Metrics:
    """The registry of one application, and the desk's Meter (web/desk/meter.py)."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.allow = allow
        self.requests = Counter(
            "helpdesk_http_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "helpdesk_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.faq = Counter(
            "helpdesk_faq_decisions",
            "How the chat's FAQ search decided on a student's question",
            ["decision"],
            registry=self.registry,
        )
        for decision in DECISIONS:
            self.faq.labels(decision)  # every band shows, at 0, from the start
        self.sockets = Gauge(
            "helpdesk_sockets", "Live Socket.IO connections, by namespace", ["namespace"],
            registry=self.registry,
        )
        self.queue = Gauge(
            "helpdesk_queue_length", "Tickets open, waiting for the office", registry=self.registry
        )
        self.outbox = Gauge(
            "helpdesk_mail_outbox", "Notifications not yet sent, by state", ["state"],
            registry=self.registry,
        )

    async def _read_state(self, app: web.Application) -> None:
        """What is true now: read at each scrape (the storage answers asynchronously, the
        registry's collectors could not wait for it)."""
        services = app.get(SERVICES)
        if services is None:  # not started yet, or stopped
            return
        manager = getattr(services.live, "manager", None)
        for namespace in (STUDENTS, OPERATORS):
            count = sum(1 for _ in manager.get_participants(namespace, None)) if manager else 0
            self.sockets.labels(namespace).set(count)
        # The console's own count of its open tab: on the database a count in SQL, not every
        # ticket read at each scrape; and an erased ticket, which nobody can answer, is not
        # waiting for the office.
        queue = await services.storage.tickets.queue(QueueQuery(limit=0))
        self.queue.set(queue.counts["open"])
        self.outbox.labels("waiting").set(await services.storage.outbox.queued())
        self.outbox.labels("parked").set(len(await services.storage.outbox.parked()))

    def faq_decision(self, decision: str) -> None:
        if decision in DECISIONS:
            self.faq.labels(decision).inc()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = _route(request)
            self.requests.labels(route, request.method, str(status)).inc()
            if route != HELD_OPEN:
                self.latency.labels(route, request.method).observe(time.perf_counter() - started)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.allowed(request):
            log.info("refused /metrics to %s", request.remote)
            raise ApiError(404, "not_found")
        await self._read_state(request.app)
        return web.Response(
            body=generate_latest(self.registry),
            headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4, "Cache-Control": "no-store"},
        )

    def allowed(self, request: web.Request) -> bool:
        addresses = [request.remote or ""]
        for header in FORWARDING:
            for value in request.headers.getall(header, []):
                addresses += _forwarded_addresses(header, value)
        return bool(addresses) and all(_within(a, self.allow) for a in addresses)


def _route(request: web.Request) -> str:
    """The route's pattern (/api/tickets/{number}), never the path itself: a label per
    ticket number, or per path a scanner tries, would grow without end."""
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def _forwarded_addresses(header: str, value: str) -> list[str]:
    if header != "Forwarded":
        return [part.strip() for part in value.split(",")]
    # Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"
    found = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, raw = pair.strip().partition("=")
            if name.lower() == "for":
                host = raw.strip('"')
                if host.startswith("["):
                    host = host[1:].split("]")[0]
                elif host.count(":") == 1:
                    host = host.split(":")[0]
                found.append(host)
    return found


@lru_cache(maxsize=16)
def _networks(allow: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(a, strict=False) for a in allow)


def _within(address: str, allow: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # "unknown", a name, garbage: not an address we allowed
    return any(ip in network for network in _networks(allow))
