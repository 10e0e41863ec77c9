"""The guided chat as students meet it: on a department's page and on our own, on a desktop and a
phone, with the mouse and with the keyboard only; every answer comes from the real server."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import FilePayload, Page, Request, expect

from tests.browser.conftest import DESKTOP, PHONE, HostSite, NewPage
from tests.browser.test_ticket_page import EMAIL, QUESTION, open_ticket
from tests.browser.widget import PNG, REFUSE, UNSURE, Chat, press
from tests.conftest import Server
from web.console.namespace import CONSOLE
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

TYPO_EMAIL = "gmail.con o gmail.it invece di gmail.com"
WRONG_TYPE = "Puoi allegare solo file PDF, PNG o JPEG."
TOO_BIG = "Il file è troppo grande: il massimo è 2 MB."
EMPTY = "Il file è vuoto (0 byte)"


def uploads_of(page: Page) -> list[str]:
    seen: list[str] = []

    def record(request: Request) -> None:
        if "/attachments" in request.url:
            seen.append(request.url)

    page.on("request", record)
    return seen


async def attach(page: Page, name: str, mime: str, content: bytes) -> None:
    """The student presses "Scegli un file" and picks a file in the browser's own dialog."""
    async with page.expect_file_chooser() as chooser:
        await press(page, page.locator(".uh-filebtn"))
    picked = FilePayload(name=name, mimeType=mime, buffer=content)
    await (await chooser.value).set_files(files=[picked])


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_a_student_clicks_through_to_a_ticket_number(
    server: Server, host_site: HostSite, new_page: NewPage, width: int
) -> None:
    phone = width == PHONE
    page = await new_page(width, permissions=["clipboard-read", "clipboard-write"])
    uploads = uploads_of(page)
    await page.goto(host_site.page())
    chat = Chat(page)
    await chat.open()
    await chat.to_contact_data()

    # a mistyped domain is refused with what is wrong, and the text comes back to be fixed
    await chat.say("mario.rossi@gmail.con", field="email")
    await chat.expect_said(TYPO_EMAIL)
    await expect(chat.field).to_have_attribute("type", "email")
    await expect(chat.field).to_have_value("mario.rossi@gmail.con")
    await chat.say("mario.rossi@gmail.com", field="email")
    await chat.say("Rossi Mario", field="text")
    await chat.say("333 1234567", field="tel")

    await expect(chat.option("Continua senza allegato")).to_be_visible()
    if phone:
        await chat.choose("Continua senza allegato")
    else:
        # refused in the browser, before anything is uploaded, and the step goes on working
        await attach(page, "tesi.docx", "application/msword", b"PK\x03\x04" + b"\x00" * 200)
        await expect(chat.alert).to_have_text(WRONG_TYPE)
        await attach(page, "scansione.pdf", "application/pdf", b"%PDF" + b"0" * (2 * 1024 * 1024))
        await expect(chat.alert).to_have_text(TOO_BIG)
        await attach(page, "bonifico.pdf", "application/pdf", b"")
        await expect(chat.alert).to_contain_text(EMPTY)
        assert uploads == []
        await attach(page, "ricevuta.png", "image/png", PNG)
        await chat.settled()
        assert len(uploads) == 1
        await expect(page.locator(".uh-log .uh-k-attachment")).to_contain_text("ricevuta.png")
        await expect(chat.alert).to_have_text("")

    summary = page.locator(".uh-summary").last
    await expect(summary).to_contain_text("mario.rossi@gmail.com")
    await expect(summary).to_contain_text("Rossi Mario")
    await chat.choose("Invia la richiesta")

    card = page.locator(".uh-tk-entry").last
    number = page.locator(".uh-tk-entry .uh-tk-num").last
    await expect(number).to_have_text(re.compile(r"^\d{6}$"))
    shown = await number.inner_text()
    ticket = await server.app[SERVICES].storage.tickets.get(shown)
    assert ticket is not None
    assert (ticket.email, ticket.name, ticket.phone) == (
        "mario.rossi@gmail.com",
        "Rossi Mario",
        "+393331234567",
    )
    assert len(ticket.messages[0].attachments) == (0 if phone else 1)

    # shown large, at least twice the size of the text around it, and copied with one button
    sizes = await card.evaluate(
        """(card) => [card.querySelector(".uh-tk-num"), card.querySelector(".uh-tk-text")]
            .map((el) => parseFloat(getComputedStyle(el).fontSize))"""
    )
    assert sizes[0] >= 2 * sizes[1], sizes
    copy = card.get_by_role("button", name="Copia il numero del ticket")
    await press(page, copy)
    await expect(copy).to_have_text("Copiato!")
    assert await page.evaluate("navigator.clipboard.readText()") == shown


async def test_a_faq_answers_the_student_on_the_landing_page(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    # inline in the page: no launcher, the conversation is already there
    await expect(page.locator("#chat-mount #unipg-helpdesk-widget")).to_have_count(1)
    await expect(chat.launcher).to_have_count(0)
    await expect(chat.panel).to_have_attribute("role", "region")
    await chat.settled()
    await chat.expect_said("Scrivimi la tua domanda")

    await chat.say("Ho dimenticato la password del portale studenti")
    faq = page.locator(".uh-log .uh-faq").first
    await expect(faq.locator(".uh-faq-q")).to_contain_text(re.compile("password", re.I))
    await expect(faq.locator(".uh-faq-a")).not_to_be_empty()
    await chat.choose("Sì, ho risolto")
    await chat.expect_said("Se hai un'altra domanda")
    kinds = {e.kind for e in await server.app[SERVICES].storage.faq_events.recent()}
    assert {"suggested", "solved"} <= kinds


async def test_an_unsure_match_is_shown_as_a_guess_with_the_ticket_beside_it(
    server: Server, new_page: NewPage
) -> None:
    assert server.app[SERVICES].faq.index.decide(UNSURE).band == "middle"
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.settled()
    await chat.say(UNSURE)

    await chat.expect_said(re.compile("apri subito un ticket"))
    hedged = page.locator(".uh-log .uh-faq-maybe")
    await expect(hedged).to_have_count(3)
    await expect(page.locator(".uh-log .uh-faq:not(.uh-faq-maybe)")).to_have_count(0)
    await expect(page.locator(".uh-log .uh-bot").get_by_text("forse una di queste")).to_be_visible()
    # said in words on each card, for the eye and the screen reader alike, inside the log
    first = hedged.first
    await expect(first.locator(".uh-faq-tag")).to_have_text("Risposta possibile")
    await expect(page.get_by_role("log").get_by_role("article").first).to_contain_text(
        "Risposta possibile"
    )
    await expect(first.get_by_role("heading", level=3)).not_to_be_empty()
    # and seen as a guess: dashed, unlike the solid card of a sure answer
    assert await first.evaluate("(el) => getComputedStyle(el).borderTopStyle") == "dashed"

    # the ticket right there, first, with no "did it solve it?" to answer before it
    options = page.locator(".uh-options button")
    await expect(options).to_have_text(["Apri un ticket", "Sì, ho risolto"])
    await chat.choose("Apri un ticket")
    await chat.expect_said("Di quale argomento si tratta?")
    events = await server.app[SERVICES].storage.faq_events.recent()
    assert [(e.kind, e.band) for e in events] == [("not_solved", "middle"), ("suggested", "middle")]


async def tab_to(chat: Chat, name: str, *, back: bool = False, limit: int = 20) -> None:
    """Presses Tab (or Shift+Tab) until the focus is on the control named `name`."""
    key = "Shift+Tab" if back else "Tab"
    seen = []
    for _ in range(limit):
        await chat.page.keyboard.press(key)
        focused = await chat.focused()
        seen.append(focused)
        if focused.split("|", 1)[1] == name:
            return
    raise AssertionError(f"{name!r} never got the focus with {key}: {seen}")


async def press_key(chat: Chat, key: str) -> None:
    await chat.page.keyboard.press(key)
    await chat.settled()


async def type_in(chat: Chat, text: str) -> None:
    """Types where the focus already is, then Enter: the widget put the focus there."""
    assert (await chat.focused()).startswith(("textarea.uh-field", "input.uh-field"))
    await chat.page.keyboard.type(text)
    await press_key(chat, "Enter")


async def test_a_student_uses_only_the_keyboard(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page(permissions=["clipboard-read", "clipboard-write"])
    await page.goto(host_site.page())
    chat = Chat(page)
    await tab_to(chat, "Assistenza immatricolazioni")
    await press_key(chat, "Enter")
    await expect(chat.launcher).to_have_attribute("aria-expanded", "true")

    await tab_to(chat, "Apri un nuovo ticket", back=True)
    await press_key(chat, "Enter")
    await tab_to(chat, "Immatricolazioni", back=True)
    await press_key(chat, "Space")
    await tab_to(chat, "Procedura online e domanda", back=True)
    await press_key(chat, "Enter")
    await type_in(chat, "Il mio cane ha mangiato il foglio con il PIN della smart card")
    for refuse in REFUSE:
        if await chat.option(refuse).count():
            await tab_to(chat, refuse, back=True)
            await press_key(chat, "Enter")
    await type_in(chat, "anna.verdi@libero.it")
    await type_in(chat, "Verdi Anna")
    await type_in(chat, "3471234567")
    await tab_to(chat, "Continua senza allegato", back=True)
    await press_key(chat, "Enter")
    # the summary asks for a choice only: the focus is on its first button
    assert (await chat.focused()).endswith("|Invia la richiesta")
    await press_key(chat, "Enter")

    number = await page.locator(".uh-tk-entry .uh-tk-num").last.inner_text()
    assert await server.app[SERVICES].storage.tickets.get(number) is not None
    await tab_to(chat, "Copia il numero del ticket", back=True, limit=40)
    await press_key(chat, "Enter")
    assert await page.evaluate("navigator.clipboard.readText()") == number

    await press_key(chat, "Escape")
    await expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    assert (await chat.focused()).startswith("button.uh-launcher")


async def test_a_reload_mid_flow_resumes_at_the_same_step(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page(PHONE)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.to_contact_data()
    await chat.say("mario.rossi@gmail.com", field="email")
    await expect(chat.field).to_have_attribute("autocomplete", "name")
    before = await page.locator(".uh-log .uh-entry").all_inner_texts()

    await page.reload()
    await chat.settled()
    assert await page.locator(".uh-log .uh-entry").all_inner_texts() == before
    await expect(chat.field).to_have_attribute("autocomplete", "name")
    await chat.say("Rossi Mario")
    await expect(chat.field).to_have_attribute("type", "tel")


async def test_on_the_landing_page_a_ticket_leads_back_to_the_chat(
    server: Server, new_page: NewPage
) -> None:
    """On / the ticket view is part of the chat: its back link returns there, and a reload
    after it shows the chat (on /ticket there is no chat: the link looks up another ticket)."""
    ticket = await open_ticket(server)
    page = await new_page(PHONE)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.choose("Ho già un ticket")
    await chat.say(EMAIL, field="email")
    await chat.say(ticket.number)
    await expect(page.locator(".uh-thread")).to_contain_text(QUESTION)
    back = page.locator(".uh-back:visible")
    await expect(back).to_have_text("Torna alla chat")
    await press(page, back)
    await expect(chat.log).to_be_visible()
    await expect(chat.log).to_contain_text(ticket.number)
    await page.reload()
    await chat.settled()
    await expect(chat.log).to_be_visible()
    await expect(page.locator(".uh-thread")).not_to_be_visible()


async def test_after_a_long_request_the_answer_is_in_view_not_the_request(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page(PHONE)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.settled()
    request = (
        "Buonasera, sono una studentessa fuori sede e mi sto immatricolando per la prima volta. "
        "Ho compilato la domanda online, caricato i documenti e la foto, e adesso devo pagare la "
        "prima rata, ma non capisco quanto costa davvero e se posso pagarla con pagoPA dalla "
        "app della mia banca oppure devo andare in tabaccheria. Potete aiutarmi? Grazie mille."
    )
    await chat.say(request)
    answer = page.locator(".uh-log .uh-student").last.locator("xpath=following-sibling::*[1]")
    await expect(answer).to_have_class(re.compile(r"\buh-bot\b"))
    # the answer starts at the top of the log, the request above it scrolled away
    top, height = await answer.evaluate(
        """(entry) => {
            const log = entry.closest(".uh-log");
            return [entry.offsetTop - log.scrollTop, log.clientHeight];
        }"""
    )
    assert 0 <= top < height / 4, (top, height)


async def test_switching_the_site_to_english_before_typing_switches_the_chat(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.settled()
    await chat.expect_said("Scrivimi la tua domanda")
    await page.get_by_role("link", name="English").first.click()
    await chat.settled()
    await expect(chat.bot().first).to_contain_text("Hi")
    await expect(chat.option("Open a new ticket")).to_be_visible()


async def test_the_sites_english_link_switches_a_chat_already_under_way(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.say("quanto costa la prima rata?")
    await chat.settled()
    await page.get_by_role("link", name="English").first.click()
    await chat.settled()
    await expect(page.locator(".uh-root")).to_have_attribute("lang", "en")
    await expect(chat.bot().last).to_contain_text(re.compile("[A-Za-z]"))
    assert await page.evaluate("document.documentElement.lang") == "en"
    # and the widget's own switch goes into the address: a reload keeps it
    await press(page, page.locator(".uh-lang"))
    await chat.settled()
    assert "lang=it" in page.url
    # a reconnection (a network blip, a restart) does not take the chat back to the page's
    # first language
    await server.app[CONSOLE].server.eio.hang_up_all()
    await expect(page.locator(".uh-offline")).to_be_hidden()
    await chat.settled()
    await page.wait_for_timeout(500)
    await expect(page.locator(".uh-root")).to_have_attribute("lang", "it")
    await page.reload()
    await chat.settled()
    await expect(page.locator(".uh-root")).to_have_attribute("lang", "it")
    assert await page.evaluate("document.documentElement.lang") == "it"


async def test_switching_language_keeps_the_question_being_written(
    server: Server, new_page: NewPage
) -> None:
    """Half-way through a long question the student finds English easier: the bot asks again
    in English, and what was written is still in the box."""
    page = await new_page(PHONE)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.choose("Apri un nuovo ticket")
    await chat.choose("Immatricolazioni")
    await chat.choose("Procedura online e domanda")
    typed = "Good evening, I cannot upload my photo to the enrolment"
    await press(page, chat.field)
    await chat.field.press_sequentially(typed)
    await press(page, page.locator(".uh-lang"))
    await chat.settled()
    await expect(page.locator(".uh-root")).to_have_attribute("lang", "en")
    await expect(chat.field).to_have_value(typed)
    # and it is what goes, once finished
    await chat.field.press_sequentially(" form.")
    await press(page, chat.send)
    await chat.settled()
    await expect(page.locator(".uh-log .uh-student").last).to_contain_text(typed + " form.")


async def test_typing_english_switches_the_widget_too(server: Server, new_page: NewPage) -> None:
    """The bot's words and the widget's own labels (read aloud in the root's language) stay
    one language when the student types the switch instead of pressing it."""
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.say("English")
    await expect(chat.bot().last).to_contain_text("Type your question")
    await expect(page.locator(".uh-root")).to_have_attribute("lang", "en")
    await expect(page.locator(".uh-log .uh-student .uh-sr").last).to_have_text("You: ")


async def test_a_typed_switch_to_english_outlives_the_page(
    server: Server, new_page: NewPage
) -> None:
    """Typed or pressed, the switch is the student's choice: our page reloads in English, and
    its link to the ticket check leads to the English one."""
    page = await new_page(PHONE)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.say("in english please")
    await expect(chat.bot().last).to_contain_text("Type your question")
    await page.reload()
    await chat.settled()
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Online enrolment help desk")
    await expect(chat.bot().last).to_contain_text("Type your question")
    await press(page, page.get_by_role("link", name="Check the status of a ticket"))
    await expect(page.get_by_role("button", name="Find the ticket")).to_be_visible()


async def test_the_newest_line_stays_in_view_when_the_keyboard_opens(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page(360)
    await page.goto(host_site.page())
    chat = Chat(page)
    await chat.open()
    await chat.to_contact_data()
    # Touch keyboards have no Send key in the message box: Enter starts a new line there.
    await expect(page.locator("#uh-text")).to_have_attribute("enterkeyhint", "enter")
    # the field focused first: the browser's own scroll anchoring must not interfere; the
    # prompt settled, as it has when a student taps the field
    await chat.settled()
    await chat.field.focus()
    await page.set_viewport_size({"width": PHONE, "height": 400})
    await newest_line_in_view(page)


async def newest_line_in_view(page: Page) -> None:
    # the log follows on the next frame, after the resize
    await page.wait_for_function(
        """() => {
            const log = document.getElementById("unipg-helpdesk-widget").shadowRoot
                .querySelector(".uh-log");
            const entry = log.lastElementChild;
            const bottom = entry.offsetTop + entry.offsetHeight - log.scrollTop;
            return 0 < bottom && bottom <= log.clientHeight + 1;
        }""",
        # checked on a timer: the animation frames Playwright polls on by default can stop
        # coming to a page after a resize in headless Chromium, and the check never ran again
        polling=100,
        timeout=3000,
    )


async def test_a_paste_cut_at_the_maximum_says_so(server: Server, new_page: NewPage) -> None:
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.settled()
    await press(page, chat.field)
    await page.keyboard.insert_text("Buongiorno, " + "x" * 4100)
    await expect(chat.field).to_have_value(re.compile(r"^Buongiorno, x{3988}$"))
    await expect(chat.alert).to_contain_text("al massimo 4000 caratteri")


async def test_a_student_writing_arabic_reads_it_right_to_left(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.say("مرحبا، لم أتمكن من دفع القسط الأول")
    bubble = page.locator(".uh-log .uh-student .uh-bubble").last
    assert await bubble.evaluate("(el) => getComputedStyle(el).direction") == "rtl"


async def test_at_200_percent_zoom_on_a_phone_the_new_ticket_s_number_is_shown_whole(
    server: Server, new_page: NewPage
) -> None:
    """A 360 px phone at 200% lays the landing page out in 180 CSS pixels: the chat's card
    showed "7751" of the number the student needs to come back the next morning."""
    page = await new_page(180, 370)
    await page.goto(server.url + "/")
    # nor is the panel's title, "Assistenza immatricolazioni", cut at its longest word
    title = page.locator(".uh-title")
    await expect(title).to_have_text("Assistenza immatricolazioni")
    assert await title.evaluate("(t) => t.scrollWidth <= t.clientWidth")
    chat = Chat(page)
    await chat.to_attachment_step()
    await chat.choose("Continua senza allegato")
    await chat.choose("Invia la richiesta")
    number = page.locator(".uh-tk-entry .uh-tk-num").last
    await expect(number).to_have_text(re.compile(r"^\d{6}$"))
    assert await number.evaluate("(n) => n.scrollWidth <= n.clientWidth")
