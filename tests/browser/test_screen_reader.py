"""A blind student, by keyboard and screen reader, in the chat and on /ticket: what changes
out of their sight is said, nothing is read out that is not there, and the keyboard never
falls back to the top of the page."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import FileChooser, Page, expect

from tests.browser.conftest import NewPage
from tests.browser.test_accessibility import HEAR_LIVE_REGIONS
from tests.browser.test_ticket_page import ANNA, EMAIL, TicketPage, open_ticket
from tests.browser.widget import PNG, Chat
from tests.conftest import Server
from web.desk.tickets import Desk
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def ticket_found(server: Server, new_page: NewPage) -> tuple[str, Page, TicketPage]:
    ticket = await open_ticket(server)
    page = await new_page()
    await page.add_init_script(HEAR_LIVE_REGIONS)
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")
    return ticket.number, page, tp


async def test_a_file_chosen_for_the_reply_is_said(server: Server, new_page: NewPage) -> None:
    """The picker gives the focus back to "Allega un file": the chip that names the file is
    elsewhere, and only sighted students would know the file was taken."""
    _, page, _ = await ticket_found(server, new_page)
    attach = page.get_by_role("button", name="Allega un file")
    chosen: asyncio.Future[FileChooser] = asyncio.get_running_loop().create_future()
    # listening before the key: the chooser can come before expect_file_chooser listens
    page.once("filechooser", lambda chooser: chosen.set_result(chooser))
    await attach.focus()
    await page.keyboard.press("Enter")
    await (await chosen).set_files({"name": "ricevuta.png", "mimeType": "image/png", "buffer": PNG})
    await expect(page.get_by_role("button", name="Togli l'allegato ricevuta.png")).to_be_attached()
    await page.wait_for_function(
        "() => window.heardLive.includes('File allegato alla risposta: ricevuta.png.')"
    )


async def test_closed_while_writing_the_keyboard_goes_to_the_way_on(
    server: Server, new_page: NewPage
) -> None:
    """The operator closes the ticket while the student types a reply: the reply box goes, and
    the focus in it went to the top of the page, out of the ticket."""
    number, page, tp = await ticket_found(server, new_page)
    await tp.reply.focus()
    await page.keyboard.type("Un'altra domanda")
    services = server.app[SERVICES]
    await services.storage.operators.put(ANNA)
    await Desk(services).set_status(number, "closed", ANNA)
    await expect(tp.badge).to_have_text("Chiuso")
    await expect(tp.closed.get_by_role("button", name="Apri un nuovo ticket")).to_be_focused()
    # and it is said why the box went
    heard = await page.evaluate("window.heardLive")
    assert any("Questo ticket è chiuso" in said for said in heard), heard


async def test_the_file_step_reads_no_label_of_a_box_it_has_not(
    server: Server, new_page: NewPage
) -> None:
    """The chat's text box is hidden at the step that asks for a file, but its label stayed:
    a screen reader read "Scrivi un messaggio" right before "Scegli un file"."""
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.to_attachment_step()
    await expect(page.get_by_role("button", name="Scegli un file")).to_be_visible()
    read = await page.locator(".uh-inputrow").aria_snapshot()
    assert "Scegli un file" in read and "Scrivi un messaggio" not in read, read
    # the next step that asks for words labels its box again
    await chat.choose("Continua senza allegato")
    await chat.choose("Correggi un dato")
    await chat.choose("Email personale")
    await expect(chat.field).to_have_accessible_name("Scrivi un messaggio")


async def test_the_pages_links_to_the_chat_take_the_keyboard_into_it(
    server: Server, new_page: NewPage
) -> None:
    """The landing page's "Apri un nuovo ticket" and the FAQ page's "Apri un ticket" link to
    #chat: they scrolled, said nothing, and Tab went on from the top of the page."""
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.settled()
    await page.get_by_role("link", name="Apri un nuovo ticket").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#uh-text")).to_be_focused()

    # from another page, the chat takes the focus once its first question is there
    await page.goto(server.url + "/faq?q=il+mio+cane+ha+mangiato+la+smart+card")
    await page.get_by_role("link", name="Apri un ticket: un operatore ti risponderà.").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/#chat")
    await chat.settled()
    await expect(page.locator("#uh-text")).to_be_focused()
