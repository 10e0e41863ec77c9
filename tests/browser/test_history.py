"""A ticket's "Cronologia" in the console: the status changes and the changes of hands, in the
order they happened."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.test_console import sign_in
from tests.conftest import Server
from tests.web.conftest import LAURA, MARCO, create_account, open_ticket
from web.desk.tickets import Desk
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def test_the_history_shows_who_took_the_ticket_and_whom_it_was_passed_to(
    server: Server, new_page: NewPage
) -> None:
    laura, marco = await create_account(server, LAURA), await create_account(server, MARCO)
    ticket = await open_ticket(server, name="Esposito Chiara")
    desk = Desk(server.app[SERVICES])
    await desk.assign(ticket.number, laura.username, laura)
    await desk.assign(ticket.number, marco.username, laura)
    await desk.set_status(ticket.number, "awaiting_user", marco)
    await desk.student_reply(ticket.number, "Ecco il documento.", None)

    page = await new_page()
    await sign_in(page, server, MARCO)
    await page.locator(".c-item", has_text=ticket.number).click()
    history = page.locator(".c-history li")
    await expect(history.locator("span")).to_have_text([
        "Aperto · studente",
        "Preso in carico da Laura Bianchi",
        "Assegnato a Marco Verdi da Laura Bianchi",
        "In attesa di risposta utente · Marco Verdi",
        "Aperto · studente",
    ])
