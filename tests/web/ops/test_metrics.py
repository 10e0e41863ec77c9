"""GET /metrics, read with prometheus_client's own text parser: what the university's
Prometheus gets, and who may get it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from storage import Operator
from tests.conftest import Server, make_config, start_server
from tests.web.conftest import open_ticket
from tests.web.student.test_chat import Student
from web.desk.erasure import erase
from web.http.keys import SERVICES

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: Server, **headers: str) -> Samples:
    """Every sample: (name, sorted labels) -> value."""
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}/metrics", headers=headers
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_the_figures_the_office_runs_on(server: Server) -> None:
    opened = [await open_ticket(server) for _ in range(3)]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/tickets/{opened[0].number}") as response:
            assert response.status == 401
        async with http.get(f"{server.url}/healthz") as response:
            assert response.status == 200
    student = Student(server)
    await student.connect()
    await student.hello()
    await student.say("Come pago la prima rata delle tasse universitarie?")
    await student.say("Qual è il colore preferito del rettore nel 1850?")
    samples = await scrape(server)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("helpdesk_http_requests_total", route="/api/tickets", method="POST",
                 status="201") == 3
    # by route pattern, never by ticket number
    assert value("helpdesk_http_requests_total", route="/api/tickets/{number}", method="GET",
                 status="401") == 1
    assert value("helpdesk_http_request_duration_seconds_count", route="/api/tickets",
                 method="POST") == 3
    assert value("helpdesk_sockets", namespace="/chat") == 1
    assert value("helpdesk_sockets", namespace="/console") == 0
    assert value("helpdesk_queue_length") == 3
    outbox = value("helpdesk_mail_outbox", state="waiting")
    assert outbox >= 0 and value("helpdesk_mail_outbox", state="parked") == 0
    # the decisions counted are the ones the chat recorded
    events = await server.app[SERVICES].storage.faq_events.recent()
    assert value("helpdesk_faq_decisions_total", decision="answered") == sum(
        e.kind == "suggested" for e in events
    ) > 0
    assert value("helpdesk_faq_decisions_total", decision="abstained") == sum(
        e.kind == "no_match" for e in events
    ) > 0
    assert ("helpdesk_faq_decisions_total", (("decision", "middle"),)) in samples
    await student.close()


@pytest.fixture
async def only_one_address(data_dir: Path) -> AsyncIterator[Server]:
    config = make_config(data_dir)
    running = await start_server(replace(config, metrics_allow=("127.0.0.1",)))
    try:
        yield running
    finally:
        await running.stop()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "203.0.113.9"},
        {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"},
        {"X-Real-IP": "203.0.113.9"},
        {"Forwarded": 'for="[2001:db8::1]:4711"'},
        {"Forwarded": "for=unknown"},
    ],
)
async def test_metrics_through_a_proxy_are_refused(
    only_one_address: Server, headers: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as http, http.get(
        f"{only_one_address.url}/metrics", headers=headers
    ) as response:
        assert response.status == 404
        assert "helpdesk_" not in await response.text()


async def test_metrics_from_an_address_not_allowed_are_refused(only_one_address: Server) -> None:
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as http, http.get(
        f"{only_one_address.url}/metrics"
    ) as response:
        assert response.status == 404
    assert await scrape(only_one_address, **{"X-Forwarded-For": "127.0.0.1"})


async def test_an_erased_ticket_is_not_in_the_queue_length(server: Server) -> None:
    """Nobody can answer an erased ticket, and the console's open tab leaves it out: a queue
    alert must not stay raised for it for ever."""
    kept, erased = await open_ticket(server), await open_ticket(server)
    admin = Operator(username="admin", name="Admin", role="admin", password_hash="x")
    await erase(server.app[SERVICES], erased.email, admin)
    samples = await scrape(server)
    assert samples[("helpdesk_queue_length", ())] == 1
    assert await server.app[SERVICES].storage.tickets.summary(kept.number) is not None
