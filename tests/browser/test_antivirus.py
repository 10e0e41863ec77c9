"""A student's file that the university's clamd flags, in the widget: the refusal says what to
do, and the step goes on to a ticket without the file (tests/web/test_antivirus.py has the
server's side)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, NewPage
from tests.browser.test_guided_chat import attach
from tests.browser.widget import Chat
from tests.conftest import Server, make_config, start_server
from tests.servers import ClamdServer
from tests.web.test_antivirus import INFECTED_PDF
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


@pytest.fixture
async def server(data_dir: Path, clamd: ClamdServer) -> AsyncIterator[Server]:
    running = await start_server(make_config(data_dir, clamd=str(clamd.socket)))
    yield running
    await running.stop()


async def test_a_flagged_file_is_refused_and_the_student_sends_the_request_without_it(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page(PHONE)
    await page.goto(f"{server.url}/")
    chat = Chat(page)
    await chat.to_attachment_step()

    await attach(page, "ricevuta.pdf", "application/pdf", INFECTED_PDF)
    await expect(chat.alert).to_contain_text("Il controllo antivirus ha trovato un problema")
    await expect(page.locator(".uh-log .uh-k-attachment")).to_have_count(0)
    await chat.choose("Continua senza allegato")
    await chat.choose("Invia la richiesta")
    number = page.locator(".uh-tk-entry .uh-tk-num").last
    await expect(number).to_have_text(re.compile(r"^\d{6}$"))
    ticket = await server.app[SERVICES].storage.tickets.get(await number.inner_text())
    assert ticket is not None and ticket.messages[0].attachments == []
