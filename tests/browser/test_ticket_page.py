"""Students come back: /ticket finds a ticket by email and number, shows its thread, follows it
live while an operator answers, and takes the student's reply."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from storage import Operator, Ticket
from tests.browser.conftest import DESKTOP, PHONE, NewPage
from tests.browser.widget import PNG, Chat, press
from tests.conftest import Server
from web.desk.live import STUDENT_ROOM
from web.desk.tickets import Desk
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

EMAIL = "anna.verdi@libero.it"
QUESTION = "Ho pagato la prima rata con pagoPA ma nel portale risulta ancora non pagata."
LOOKUP_FAILED = "L'email o il numero del ticket non corrispondono: controlla entrambi e riprova."
ANNA = Operator(username="abianchi", name="Anna Bianchi", role="operator", password_hash="x")


async def open_ticket(server: Server) -> Ticket:
    """A ticket opened the way the chat opens one, with a number that starts with zeros (one in
    ten does), so that the student can leave them out."""
    desk = Desk(server.app[SERVICES])
    fields = {
        "email": EMAIL,
        "name": "Verdi Anna",
        "phone": "+393471234567",
        "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti",
        "message": QUESTION,
    }
    for _ in range(300):
        ticket = await desk.open(fields, None)
        if ticket.number.startswith("0"):
            return ticket
    raise AssertionError("no ticket number with a leading zero in 300 draws")


async def unused_number(server: Server) -> str:
    used = {s.number for s in await server.app[SERVICES].storage.tickets.summaries()}
    return next(n for n in (f"{i:06d}" for i in range(999_999, 0, -1)) if n not in used)


class TicketPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.email = page.locator("#uh-lk-email")
        self.number = page.locator("#uh-lk-number")
        self.lookup_alert = page.locator(".uh-form .uh-alert")
        self.badge = page.locator(".uh-badge")
        self.thread = page.locator(".uh-thread")
        self.reply = page.locator("#uh-reply")
        self.status = page.locator(".uh-ok")
        self.closed = page.locator(".uh-closed")

    async def look_up(self, email: str, number: str) -> None:
        for box, text in ((self.email, email), (self.number, number)):
            await press(self.page, box)
            await box.press("ControlOrMeta+a")
            await box.press_sequentially(text)
        await press(self.page, self.page.get_by_role("button", name="Cerca il ticket", exact=True))

    async def send_reply(self, text: str) -> None:
        await press(self.page, self.reply)
        await self.reply.press_sequentially(text)
        await press(
            self.page, self.page.get_by_role("button", name="Invia la risposta", exact=True)
        )


async def open_on_a_phone(server: Server, new_page: NewPage) -> tuple[Ticket, Page, TicketPage]:
    """A ticket opened by the chat, then found again with email and number on a phone."""
    ticket = await open_ticket(server)
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")
    return ticket, page, tp


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_a_student_follows_the_ticket_live_and_replies(
    server: Server, new_page: NewPage, width: int
) -> None:
    ticket = await open_ticket(server)
    number = ticket.number
    services = server.app[SERVICES]
    page = await new_page(width)
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)

    # a wrong number and a wrong email get one and the same answer
    await tp.look_up(EMAIL, await unused_number(server))
    await expect(tp.lookup_alert).to_have_text(LOOKUP_FAILED)
    await tp.look_up("anna.verde@libero.it", number)
    await expect(tp.lookup_alert).to_have_text(LOOKUP_FAILED)

    # typed as students write it: with "#" and without the leading zeros
    await tp.look_up(EMAIL, "#" + number.lstrip("0"))
    await expect(tp.badge).to_have_text("Aperto")
    await expect(page.locator(".uh-tk-heading")).to_contain_text(number)
    await expect(tp.thread.locator(".uh-msg-student")).to_contain_text(QUESTION)
    await page.evaluate("window.stillTheSamePage = true")

    # the operator answers: it appears without a reload
    await services.storage.operators.put(ANNA)
    answer = "Buongiorno, può indicarci il codice IUV riportato sulla ricevuta?"
    await Desk(services).operator_reply(number, ANNA, answer, internal=False)
    await expect(tp.thread.locator(".uh-msg-operator")).to_contain_text(answer)
    await expect(page.locator(".uh-operator")).to_have_text("Ti sta aiutando: Anna Bianchi")
    await services.live.emit(
        "operator_typing",
        {"number": number, "typing": True, "name": ANNA.name},
        room=STUDENT_ROOM.format(number=number),
        namespace="/chat",
    )
    await expect(page.get_by_text("L'operatore sta scrivendo…")).to_be_visible()
    assert await page.evaluate("window.stillTheSamePage") is True

    # the student replies from the page, and the reply is stored
    reply = "Il codice IUV è RF12345678901234567890."
    await tp.send_reply(reply)
    await expect(tp.status).to_have_text("Messaggio inviato.")
    await expect(tp.thread.locator(".uh-msg-student").last).to_contain_text(reply)
    await expect(tp.reply).to_have_value("")
    stored = await services.storage.tickets.get(number)
    assert stored is not None
    assert (stored.messages[-1].author, stored.messages[-1].body) == ("student", reply)

    # closed by the operator while the student writes: the page says so at once, takes no
    # more replies, and says the half-written one was not sent
    await tp.reply.fill("Un'altra domanda")
    await Desk(services).set_status(number, "closed", ANNA)
    await expect(tp.badge).to_have_text("Chiuso")
    await expect(tp.closed).to_contain_text("Questo ticket è chiuso e non accetta nuovi messaggi.")
    await expect(tp.closed).to_contain_text(
        "Il messaggio che stavi scrivendo non è stato inviato: se apri un nuovo ticket, "
        "lo ritroverai già scritto."
    )
    await expect(page.locator(".uh-operator")).to_have_text("Ha seguito la richiesta: Anna Bianchi")
    await expect(tp.reply).to_be_hidden()
    await expect(tp.status).to_have_text("")  # the sent reply's note went with the reply box
    await press(page, tp.closed.get_by_role("button", name="Apri un nuovo ticket"))
    await expect(page.locator("#uh-text")).to_have_value("Un'altra domanda")


@pytest.mark.parametrize(("zone", "label"), [("Europe/Rome", ""), ("Asia/Shanghai", " GMT+8")])
async def test_a_student_abroad_reads_times_on_their_clock_with_its_zone_named(
    server: Server, new_page: NewPage, zone: str, label: str
) -> None:
    # The operator's console shows Perugia's clock: a time on another one says which it is.
    ticket = await open_ticket(server)
    page = await new_page(timezone_id=zone)
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    sent = datetime.fromisoformat(ticket.messages[0].at).astimezone(ZoneInfo(zone))
    meta = tp.thread.locator(".uh-msg-student .uh-meta")
    await expect(meta).to_have_text(re.compile(f", {sent:%H:%M}{re.escape(label)}$"))


async def test_a_number_typed_in_groups_and_an_email_in_capitals_find_the_ticket(
    server: Server, new_page: NewPage
) -> None:
    # A phone's keyboard, or a student reading the number out to a friend, groups the digits;
    # an autofilled address may come capitalised: neither is a wrong credential.
    ticket = await open_ticket(server)
    page = await new_page(PHONE)
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)
    number = ticket.number
    await tp.look_up(EMAIL.upper(), f" {number[:3]} {number[3:]} ")
    await expect(tp.badge).to_have_text("Aperto")
    await expect(page.locator(".uh-tk-heading")).to_contain_text(number)


async def test_a_reply_written_as_the_access_runs_out_waits_for_the_ticket_found_again(
    server: Server, new_page: NewPage
) -> None:
    """The look-up's access lasts a day: a reply begun in a tab left open overnight must not
    be lost with it, nor the number the student would have to find again."""
    ticket = await open_ticket(server)
    signer = server.app[SERVICES].signer
    signer.ttl = 3  # every access now lasts 3 s, as a day does
    page = await new_page(PHONE)
    await page.goto(f"{server.url}/ticket?number={ticket.number}")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")
    draft = "Ecco il codice IUV che mi avete chiesto: RF12345678901234567890."
    await tp.reply.fill(draft)
    async with page.expect_file_chooser() as chooser:
        await press(page, page.get_by_role("button", name="Allega un file", exact=True))
    await (await chooser.value).set_files(
        {"name": "ricevuta.png", "mimeType": "image/png", "buffer": PNG}
    )
    await asyncio.sleep(3.5)
    await press(page, page.get_by_role("button", name="Invia la risposta", exact=True))

    await expect(tp.lookup_alert).to_have_text(
        "Non è stato possibile aprire il ticket: cercalo di nuovo con email e numero. "
        "Il messaggio che stavi scrivendo non è stato inviato ma non è perso: "
        "lo ritroverai pronto da inviare."
    )
    await expect(tp.number).to_have_value(ticket.number)
    await expect(tp.email).to_have_value(EMAIL)
    signer.ttl = 3600
    await press(page, page.get_by_role("button", name="Cerca il ticket", exact=True))
    await expect(tp.badge).to_have_text("Aperto")
    await expect(tp.reply).to_have_value(draft)
    await expect(page.locator(".uh-replyform .uh-chip")).to_contain_text("ricevuta.png")
    await tp.send_reply("")
    await expect(tp.status).to_have_text("Messaggio inviato.")
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert stored.messages[-1].body == draft
    assert [a.filename for a in stored.messages[-1].attachments] == ["ricevuta.png"]


async def test_an_address_in_the_operator_s_answer_is_a_link_a_phone_can_tap(
    server: Server, new_page: NewPage
) -> None:
    ticket = await open_ticket(server)
    services = server.app[SERVICES]
    await services.storage.operators.put(ANNA)
    form = "https://www.unipg.it/files/pagine/modulistica/segreteria-studenti/rimborso_tasse.pdf"
    answer = f"Compili il modulo {form}. Poi lo alleghi qui (<b>non</b> via email)."
    await Desk(services).operator_reply(ticket.number, ANNA, answer, internal=False)
    page = await new_page(PHONE)
    await page.goto(f"{server.url}/ticket?number={ticket.number}")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    body = tp.thread.locator(".uh-msg-operator .uh-body")
    await expect(body).to_have_text(answer.replace(".pdf.", ".pdf (si apre in una nuova scheda)."))
    link = body.get_by_role("link")
    await expect(link).to_have_count(1)  # the sentence's stop and the markup stay text
    await expect(link).to_have_attribute("href", form)
    await expect(link).to_have_attribute("target", "_blank")


async def test_a_closed_ticket_refuses_a_reply_and_offers_a_new_ticket(
    server: Server, new_page: NewPage
) -> None:
    ticket = await open_ticket(server)
    services = server.app[SERVICES]
    page = await new_page(PHONE)
    await page.goto(f"{server.url}/ticket?number={ticket.number}")
    tp = TicketPage(page)
    await expect(tp.number).to_have_value(ticket.number)  # the link in the mail fills it in
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")

    # closed while the student was typing, with no live update to warn the page
    def close(t: Ticket) -> None:
        t.status = "closed"

    await services.storage.tickets.update(ticket.number, close)
    unsent = "Grazie, ma ho ancora un dubbio sulla seconda rata."
    await tp.send_reply(unsent)
    await expect(tp.closed).to_contain_text(
        "Questo ticket è chiuso e non accetta nuovi messaggi: se ti serve ancora aiuto, "
        "apri un nuovo ticket collegato a questo. Il messaggio che stavi scrivendo non è stato "
        "inviato: se apri un nuovo ticket, lo ritroverai già scritto."
    )
    new_ticket = tp.closed.get_by_role("button", name="Apri un nuovo ticket")
    await expect(new_ticket).to_be_focused()
    stored = await services.storage.tickets.get(ticket.number)
    assert stored is not None and len(stored.messages) == 1

    # the new ticket starts in the chat, referring to the closed one
    await press(page, new_ticket)
    chat = Chat(page)
    await chat.settled()
    await expect(chat.log).to_contain_text(f"Il ticket {ticket.number} è chiuso")
    await expect(chat.option("Immatricolazioni")).to_be_visible()
    # what the closing kept from being sent is the new ticket's question, already typed
    await expect(page.locator("#uh-text")).to_have_value(unsent)


async def test_a_ticket_left_in_a_background_tab_is_not_counted_as_read_live(
    server: Server, new_page: NewPage
) -> None:
    """The office mails a reply unless the student reads the ticket live: a page left open in a
    tab the student is not looking at does not count as reading."""
    ticket = await open_ticket(server)
    presence = server.app[SERVICES].presence
    page = await new_page()
    await page.goto(server.url + "/ticket")
    tp = TicketPage(page)
    await tp.look_up(EMAIL, ticket.number)
    await expect(tp.badge).to_have_text("Aperto")
    await wait_until(lambda: presence.watched(ticket.number), True)

    async def shown(visible: bool) -> None:
        # what the browser does when the student switches tabs (headless tabs never hide)
        await page.evaluate(
            """(visible) => {
                Object.defineProperty(document, "hidden", { value: !visible, configurable: true });
                document.dispatchEvent(new Event("visibilitychange"));
            }""",
            visible,
        )

    await shown(False)
    await wait_until(lambda: presence.watched(ticket.number), False)
    await shown(True)
    await wait_until(lambda: presence.watched(ticket.number), True)


async def wait_until(probe: Callable[[], Awaitable[bool]], wanted: bool) -> None:
    for _ in range(100):
        if await probe() == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not {wanted}")


async def test_a_reply_carried_into_the_new_ticket_is_no_longer_the_closed_one_s_draft(
    server: Server, new_page: NewPage
) -> None:
    ticket, page, tp = await open_on_a_phone(server, new_page)

    def close(t: Ticket) -> None:
        t.status = "closed"

    await server.app[SERVICES].storage.tickets.update(ticket.number, close)
    unsent = "Grazie, ma ho ancora un dubbio sulla seconda rata."
    await tp.send_reply(unsent)
    await press(page, tp.closed.get_by_role("button", name="Apri un nuovo ticket"))
    await expect(page.locator("#uh-text")).to_have_value(unsent)

    # the phone reloads the tab: the text is the new ticket's question now, not the closed
    # ticket's unsent reply (else that ticket says it was not sent, and offers it once more)
    await page.reload()
    await expect(tp.badge).to_have_text("Chiuso")
    await expect(tp.closed).to_contain_text("Questo ticket è chiuso")
    await expect(tp.closed).not_to_contain_text("non è stato inviato")
    await press(page, tp.closed.get_by_role("button", name="Apri un nuovo ticket"))
    chat = Chat(page)
    await chat.settled()
    await expect(chat.option("Immatricolazioni")).to_be_visible()
    await expect(page.locator("#uh-text")).to_have_value("")
