"""A student on a phone and a poor mobile connection: a tab the phone reloads on return, a
reply whose answer the network lost. What was written is neither lost nor sent twice."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import FilePayload, Page, Route, expect

from tests.browser.conftest import NewPage
from tests.browser.test_ticket_page import EMAIL, open_on_a_phone
from tests.browser.widget import PNG, Chat, press
from tests.conftest import Server
from web.console.namespace import CONSOLE
from web.desk.tokens import TokenSigner
from web.http.keys import SERVICES

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
    ticket, page, tp = await open_on_a_phone(server, new_page)
    await press(page, tp.reply)
    await page.keyboard.insert_text(DRAFT)

    await page.reload()
    await expect(tp.badge).to_have_text("Aperto")
    await expect(tp.reply).to_have_value(DRAFT)

    # the page's pass to the ticket ran out meanwhile (it lasts a day): sending leads back to
    # the look-up, and the reply is there again once the ticket is found
    services = server.app[SERVICES]
    services.signer = TokenSigner(b"another secret", services.signer.ttl)
    await press(page, page.get_by_role("button", name="Invia la risposta", exact=True))
    await expect(tp.lookup_alert).to_have_text(
        "Non è stato possibile aprire il ticket: cercalo di nuovo con email e numero. "
        "Il messaggio che stavi scrivendo non è stato inviato ma non è perso: "
        "lo ritroverai pronto da inviare."
    )
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")
    await expect(tp.reply).to_have_value(DRAFT)


REPLY = "Il codice IUV è RF12345678901234567890."
SENT = "Messaggio inviato."
# the ticket view's own alert (the look-up form, hidden, has one too)
ALERT = ".uh-view:has(.uh-thread) > .uh-alert"


async def lose_first_answer(page: Page, *, reached: bool) -> list[str]:
    """The network fails the student's first reply: after the server has it (the answer is
    lost on the way back), or before. Returns the replies the browser posted."""
    posted: list[str] = []

    async def flaky(route: Route) -> None:
        posted.append(route.request.url)
        if len(posted) > 1:
            await route.continue_()
            return
        if reached:
            await route.fetch()
        await route.abort("connectionreset")

    await page.route("**/api/tickets/*/messages", flaky)
    return posted


async def bodies(server: Server, number: str) -> list[str]:
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    return [m.body for m in ticket.messages[1:]]


async def test_a_reply_whose_answer_was_lost_is_shown_sent_not_left_to_send_twice(
    server: Server, new_page: NewPage
) -> None:
    ticket, page, tp = await open_on_a_phone(server, new_page)
    await lose_first_answer(page, reached=True)

    await tp.send_reply(REPLY)
    # the live update shows it in the thread: it was sent, whatever the lost answer said
    await expect(tp.thread.locator(".uh-msg-student").last).to_contain_text(REPLY)
    await expect(tp.status).to_have_text(SENT)
    await expect(tp.reply).to_have_value("")
    await expect(page.locator(ALERT)).to_have_text("")
    assert await bodies(server, ticket.number) == [REPLY]


@pytest.mark.parametrize("reached", [True, False], ids=["answer-lost", "request-lost"])
async def test_a_reply_sent_again_after_a_network_error_is_stored_once(
    server: Server, new_page: NewPage, reached: bool
) -> None:
    """With no live update to tell (the connection is down too), the student presses "Invia"
    again: the page looks at the ticket before posting, and posts only what did not arrive."""
    ticket, page, tp = await open_on_a_phone(server, new_page)
    # the live connection gone for good: no `ticket` event will say the reply arrived
    await page.route("**/socket.io/**", lambda route: route.abort())
    await page.evaluate("() => { WebSocket.prototype.send = function () {}; }")
    await page.context.set_offline(True)
    await page.context.set_offline(False)
    await expect(page.locator(".uh-offline")).to_be_visible()
    posted = await lose_first_answer(page, reached=reached)

    await tp.send_reply(REPLY)
    await expect(page.locator(ALERT)).to_contain_text("Impossibile contattare il servizio")
    await expect(tp.reply).to_have_value(REPLY)  # kept to send again
    await press(page, page.get_by_role("button", name="Invia la risposta", exact=True))
    await expect(tp.status).to_have_text(SENT)
    await expect(tp.reply).to_have_value("")
    await expect(page.locator(".uh-offline")).to_be_visible()  # still no live connection
    assert await bodies(server, ticket.number) == [REPLY]
    assert len(posted) == (1 if reached else 2)


async def test_a_file_picked_while_the_connection_dropped_is_sent_once_it_is_back(
    server: Server, new_page: NewPage
) -> None:
    """On a phone the gallery takes the tab to the background, and the connection can go
    meanwhile: the photo the student comes back with is not dropped without a word."""
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.to_attachment_step()
    async with page.expect_file_chooser() as chooser:
        await press(page, page.locator(".uh-filebtn"))
    await page.context.set_offline(True)
    await expect(page.locator(".uh-offline")).to_be_visible()
    await (await chooser.value).set_files(
        files=[FilePayload(name="ricevuta.png", mimeType="image/png", buffer=PNG)]
    )
    # shown as taken, waiting for the connection
    await expect(page.locator(".uh-log .uh-pending")).to_contain_text("ricevuta.png")

    await page.context.set_offline(False)
    await the_photo_joins_the_ticket(page, chat, server)


async def the_photo_joins_the_ticket(page: Page, chat: Chat, server: Server) -> None:
    """Back online, the photo held for the connection is sent, and the ticket has it."""
    await expect(page.locator(".uh-log .uh-k-attachment")).to_contain_text(
        "ricevuta.png", timeout=15_000
    )
    await chat.choose("Invia la richiesta")
    number = await page.locator(".uh-tk-entry .uh-tk-num").last.inner_text()
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    assert [a.filename for a in ticket.messages[0].attachments] == ["ricevuta.png"]


async def test_back_online_the_chat_reconnects_at_once(server: Server, new_page: NewPage) -> None:
    """Not at the end of a back-off of up to 10 s, with "Connessione persa" over a phone that
    has its network back."""
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.settled()
    failed = asyncio.Event()
    page.on("requestfailed", lambda request: "/socket.io/" in request.url and failed.set())
    await page.context.set_offline(True)
    await expect(page.locator(".uh-offline")).to_be_visible()
    # the back-off grows (1, 2, 4, 8 s, ...): after 16 s the next try is at least 4 s away
    # from the last failed one
    await asyncio.sleep(16)
    failed.clear()
    await failed.wait()

    await page.context.set_offline(False)
    await expect(page.locator(".uh-offline")).to_be_hidden(timeout=2500)
    await chat.say("quanto costa la prima rata?")
    await expect(chat.bot().last).not_to_be_empty()


async def test_a_file_uploaded_as_the_connection_dropped_joins_the_request_once_it_is_back(
    server: Server, new_page: NewPage
) -> None:
    """The upload went through, but the live connection that says "attach it" dropped while
    it did: the file is not thrown away, nor does the student have to pick it again."""
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.to_attachment_step()

    answered = asyncio.Event()

    async def answered_offline(route: Route) -> None:
        response = await route.fetch()
        await page.context.set_offline(True)
        await expect(page.locator(".uh-offline")).to_be_visible()
        await route.fulfill(response=response)
        answered.set()

    await page.route("**/api/chat/*/attachments", answered_offline)
    async with page.expect_file_chooser() as chooser:
        await press(page, page.locator(".uh-filebtn"))
    await (await chooser.value).set_files(
        files=[FilePayload(name="ricevuta.png", mimeType="image/png", buffer=PNG)]
    )
    await answered.wait()
    await expect(page.locator(".uh-log .uh-pending")).to_contain_text("ricevuta.png")
    await expect(chat.alert).to_have_text("")

    await page.context.set_offline(False)
    await the_photo_joins_the_ticket(page, chat, server)


async def test_an_answer_lost_with_the_connection_is_given_back_not_called_wrong(
    server: Server, new_page: NewPage
) -> None:
    """The email went into a connection that had just died: once reconnected the box has it
    back to send again, and a screen reader does not hear it called invalid."""
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.to_contact_data()
    # the next message the widget sends is lost on the way, as into a dead connection
    await page.evaluate(
        """() => {
            const send = WebSocket.prototype.send;
            WebSocket.prototype.send = function (data) {
                if (String(data).includes('"say"')) WebSocket.prototype.send = send;
                else send.call(this, data);
            };
        }"""
    )
    await press(page, chat.field)
    await chat.field.press_sequentially("mario.rossi@gmail.com")
    await press(page, chat.send)
    await expect(chat.field).to_have_value("")
    await server.app[CONSOLE].server.eio.hang_up_all()  # the server notices, and hangs up

    await expect(chat.field).to_have_value("mario.rossi@gmail.com", timeout=10_000)
    await chat.settled()
    assert await chat.field.get_attribute("aria-invalid") is None
    await press(page, chat.send)
    await chat.settled()
    await expect(chat.field).to_have_attribute("autocomplete", "name")
