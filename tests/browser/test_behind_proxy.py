"""The widget through haproxy in front of two processes (tests/deployment.py): a student follows
a ticket while the operator answers from the other process, and keeps following it when their
own process is restarted."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest
from playwright.async_api import Request, expect

from tests.browser.conftest import NewPage
from tests.browser.test_ticket_page import TicketPage
from tests.deployment import Deployment, WebProcess
from tests.web.conftest import LAURA, Console

pytestmark = pytest.mark.browser
SID = re.compile(r"[?&]sid=([^&]+)")


def serving(deployment: Deployment) -> list[WebProcess]:
    """The processes holding a student's socket, by their own count (/metrics, open to
    loopback): the access log keeps no query string, so no Engine.IO session id."""
    held = []
    for process in (deployment.a, deployment.b):
        try:
            with urllib.request.urlopen(f"{process.url}/metrics", timeout=5) as response:
                metrics = response.read().decode()
        except OSError:  # stopped
            continue
        if re.search(r'^helpdesk_sockets\{namespace="/chat"\} [1-9]', metrics, re.MULTILINE):
            held.append(process)
    return held


async def test_the_widget_follows_a_ticket_through_the_proxy_across_a_restart(
    deployment: Deployment, new_page: NewPage
) -> None:
    ticket = deployment.ticket()
    page = await new_page()
    sids: list[str] = []

    def remember(request: Request) -> None:
        found = SID.search(request.url)
        if "/socket.io/" in request.url and found and found.group(1) not in sids:
            sids.append(found.group(1))

    page.on("request", remember)
    await page.goto(deployment.proxy.url + "/ticket")
    tp = TicketPage(page)
    await tp.look_up(ticket.email, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")

    # The widget's connection is held by one process.
    assert sids
    [held] = serving(deployment)
    other = deployment.b if held is deployment.a else deployment.a

    elsewhere = Console(other)  # type: ignore[arg-type] # a process has a url too
    try:
        status, _ = await elsewhere.login(LAURA)
        assert status == 200
        answer = "Buongiorno, la ricevuta arriva entro due giorni lavorativi."
        await elsewhere.post(f"/api/console/tickets/{ticket.number}/messages", {"body": answer})
        await expect(tp.thread.locator(".uh-msg-operator").last).to_contain_text(answer)

        await tp.send_reply("Grazie, attendo.")
        await expect(tp.status).to_have_text("Messaggio inviato.")

        # The process holding the widget is restarted: it closes the widget's connection as
        # it stops, and the widget reconnects through the proxy to the other process.
        stopped = time.monotonic()
        held.stop()
        assert time.monotonic() - stopped < 5
        await expect(page.locator(".uh-offline")).to_be_hidden(timeout=15000)
        later = "Le confermo che il pagamento risulta registrato."
        status, _ = await elsewhere.post(
            f"/api/console/tickets/{ticket.number}/messages", {"body": later}
        )
        assert status == 201
        await expect(tp.thread.locator(".uh-msg-operator").last).to_contain_text(later)
        assert len(sids) > 1 and serving(deployment) == [other]
    finally:
        await elsewhere.close()
        held.restart()
