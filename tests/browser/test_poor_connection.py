"""A student on a phone and a poor mobile connection: a tab the phone reloads on return, a
reply whose answer the network lost. What was written is neither lost nor sent twice."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.test_ticket_page import EMAIL, TicketPage, open_ticket
from tests.browser.widget import Chat, press
from tests.conftest import Server

pytestmark = pytest.mark.browser

PHONE = 360
DRAFT = "Buonasera, ho caricato la foto ma il portale\ndice che il formato non è valido 😕"


async def test_a_reloaded_tab_gives_back_the_question_being_written(
    server: Server, new_page: NewPage
) -> None:
    """Android discards a background tab (the student went to look up a code in the mail app)
    and reloads it on return: the half-written question is still in the box."""
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.choose("Apri un nuovo ticket")
    await chat.choose("Immatricolazioni")
    await chat.choose("Procedura online e domanda")
    await press(page, chat.field)
    await page.keyboard.insert_text(DRAFT)

    await page.reload()
    await chat.settled()
    await expect(chat.field).to_have_value(DRAFT)

    # once sent, it is gone: the next step starts with an empty box, after a reload too
    await press(page, chat.send)
    await chat.settled()
    await expect(chat.field).to_have_value("")
    await page.reload()
    await chat.settled()
    await expect(chat.field).to_have_value("")


async def test_a_reloaded_ticket_gives_back_the_reply_being_written(
    server: Server, new_page: NewPage
) -> None:
    ticket = await open_ticket(server)
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")
    await press(page, tp.reply)
    await page.keyboard.insert_text(DRAFT)

    await page.reload()
    await expect(tp.badge).to_have_text("Aperto")
    await expect(tp.reply).to_have_value(DRAFT)
