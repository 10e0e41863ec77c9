"""The operators' console in headless Chromium, against the real server: sign in, see a
colleague on the same ticket, take the ticket, reply, and the student's page shows the reply
live with the operator's display name; an editor reads what students asked in the chat."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Locator, Page, Route, expect

from storage import Message, StatusChange, Ticket
from tests.browser.conftest import NewPage
from tests.browser.widget import UNSURE, Chat
from tests.conftest import Server, make_config, start_server
from tests.web.conftest import (
    ANNA,
    ELENA,
    LAURA,
    MARCO,
    Account,
    create_account,
    open_ticket,
    student_writes,
)
from web.console.namespace import CONSOLE
from web.desk.erasure import erase
from web.desk.tickets import Desk
from web.desk.views import new_id
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def page_of(browser: Browser, width: int = 1280, height: int = 860) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="it-IT")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def answered(page: Page, click: Locator, *, accept: bool) -> Dialog:
    """Click, and answer the dialog it opens (a confirm, or the browser's leave-page check);
    the dialog, to read what it asked."""
    seen: asyncio.Future[Dialog] = asyncio.get_running_loop().create_future()

    async def answer(dialog: Dialog) -> None:
        seen.set_result(dialog)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda d: asyncio.ensure_future(answer(d)))
    await click.click(no_wait_after=True)
    return await asyncio.wait_for(seen, 5)


async def sign_in(page: Page, server: Server, account: Account) -> None:
    await page.goto(f"{server.url}/console")
    await page.get_by_label("Nome utente").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Accedi").click()
    await expect(page.get_by_role("button", name="Esci")).to_be_visible()


async def test_an_operator_takes_a_ticket_and_replies_and_the_student_sees_it(
    server: Server, browser: Browser
) -> None:
    for account in (LAURA, MARCO):
        await create_account(server, account)
    ticket = await open_ticket(
        server,
        name="Esposito Chiara",
        message="Ho pagato la prima rata ma sul portale risulta ancora da pagare.",
    )

    # the student follows the ticket on the /ticket page
    student = await page_of(browser, 900, 900)
    await student.goto(f"{server.url}/ticket?number={ticket.number}")
    await student.locator("#uh-lk-email").fill(ticket.email)
    await student.get_by_role("button", name="Cerca il ticket").click()
    thread = student.locator(".uh-thread")
    await expect(thread).to_contain_text("Ho pagato la prima rata")

    # Laura signs in and finds it in the queue, among what needs her
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    item = laura.locator(".c-item", has_text=ticket.number)
    await expect(item).to_contain_text("Esposito Chiara")
    await expect(item).to_contain_text("Da assegnare")
    await item.click()
    await expect(laura.get_by_role("heading", name=f"Ticket {ticket.number}")).to_be_visible()
    await expect(laura.locator(".c-thread")).to_contain_text("Ho pagato la prima rata")
    await expect(laura.locator(".c-composer")).to_contain_text("Lo studente è collegato")

    # Marco opens the same ticket: Laura is warned
    marco = await page_of(browser)
    await sign_in(marco, server, MARCO)
    await marco.locator(".c-item", has_text=ticket.number).click()
    await expect(laura.locator(".c-warnings")).to_contain_text("Anche Marco Verdi sta guardando")
    await expect(marco.locator(".c-warnings")).to_contain_text("Anche Laura Bianchi sta guardando")

    # Laura takes it; Marco's console shows who holds it now
    await laura.get_by_role("button", name="Prendi in carico").click()
    await expect(laura.locator(".c-holder-line")).to_contain_text("te (Laura Bianchi)")
    await expect(marco.locator(".c-warnings")).to_contain_text("in carico a Laura Bianchi")

    # she writes; Marco sees her writing, then her reply; the student sees it at once
    reply = "Buongiorno, il pagamento risulta registrato: il portale si aggiorna entro 48 ore."
    await laura.get_by_label("Risposta allo studente").fill(reply)
    await expect(marco.locator(".c-warnings")).to_contain_text("Laura Bianchi sta scrivendo")
    await expect(student.get_by_text("L'operatore sta scrivendo")).to_be_visible()
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-thread")).to_contain_text(reply)
    await expect(laura.locator(".c-toasts")).to_contain_text("lo studente l'ha ricevuta in chat")
    await expect(thread).to_contain_text(reply)
    await expect(thread).to_contain_text("Laura Bianchi")
    await expect(thread).not_to_contain_text("lbianchi")
    await expect(marco.locator(".c-thread")).to_contain_text(reply)

    # an internal note stays among the operators
    await laura.get_by_role("button", name="Nota interna").click()
    await laura.get_by_label("Nota interna per i colleghi").fill("Verificato su Esse3.")
    await laura.get_by_role("button", name="Salva nota").click()
    await expect(marco.locator(".c-msg-note")).to_contain_text("Verificato su Esse3.")
    await asyncio.sleep(0.3)
    await expect(thread).not_to_contain_text("Verificato su Esse3.")

    # the student answers from the widget: it appears in Laura's open ticket at once
    await student.locator("#uh-reply").fill("Grazie, allora aspetto due giorni.")
    await student.get_by_role("button", name="Invia la risposta").click()
    await expect(laura.locator(".c-thread")).to_contain_text("Grazie, allora aspetto due giorni.")

    # a new ticket arrives while Laura works: badge and window title tell her
    fresh = await open_ticket(server, name="Russo Paolo")
    await expect(laura.locator(".c-item", has_text=fresh.number)).to_contain_text("Nuovo")
    await expect(laura).to_have_title(re.compile(r"^\(1\) Console operatori"))
    await laura.locator(".c-item", has_text=fresh.number).click()
    await expect(laura).to_have_title(re.compile(r"^Console operatori"))

    for page in (student, laura, marco):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


async def test_a_reply_closes_the_ticket_with_one_mail_when_asked_to(
    server: Server, browser: Browser
) -> None:
    # "Dopo l'invio: chiudi il ticket": the student gets one mail, the closing one with the
    # reply in it, instead of a reply mail and a closing mail a moment apart.
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Gallo Marta", message="Come pago la seconda rata?")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    then = laura.get_by_label("Dopo l'invio")
    await expect(then).to_have_value("")
    # a note tells the student nothing: no status to choose with it
    await laura.get_by_role("button", name="Nota interna").click()
    await expect(then).to_be_hidden()
    await laura.get_by_role("button", name="Risposta allo studente").click()
    answer = "Con l'avviso pagoPA che trova nel portale."
    await laura.get_by_label("Risposta allo studente").fill(answer)
    await then.select_option(label="chiudi il ticket")
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-toasts")).to_contain_text("ticket chiuso")
    await expect(laura.locator(".c-t-titlebar .c-status")).to_have_text("Chiuso")
    await expect(then).to_have_value("")  # the next reply closes nothing unless chosen again
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "closed"
    assert [m.kind for m in stored.outbox] == ["opened", "closed"]
    assert "Con l'avviso pagoPA" in stored.outbox[-1].text
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_the_keyboard_goes_from_the_reply_to_the_next_ticket(
    server: Server, browser: Browser
) -> None:
    # Forty tickets on a deadline day: send with Ctrl+Enter, Escape back to the queue, j / k.
    await create_account(server, LAURA)
    first = await open_ticket(server, name="Primo Studente")
    second = await open_ticket(server, name="Secondo Studente")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    lines = laura.locator(".c-item")
    await expect(lines).to_have_count(2)
    top = await lines.nth(0).get_attribute("data-number")
    below = second.number if top == first.number else first.number
    await lines.nth(0).click()
    reply = laura.get_by_label("Risposta allo studente")
    await reply.fill("j e k qui si scrivono")
    await reply.press("Escape")
    await expect(laura.locator(".c-item-current")).to_be_focused()
    await expect(reply).to_have_value("j e k qui si scrivono")  # typed, not obeyed
    await laura.keyboard.press("j")
    await expect(laura.get_by_role("heading", name=f"Ticket {below}")).to_be_visible()
    await laura.keyboard.press("k")
    await expect(laura.get_by_role("heading", name=f"Ticket {top}")).to_be_visible()
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_ticket_opened_twice_is_closed_as_a_duplicate_of_the_first(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    first = await open_ticket(server, email="anna.gialli@example.org", name="Gialli Anna")
    second = await open_ticket(server, email="anna.gialli@example.org", name="Gialli Anna")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=second.number).click()
    button = laura.get_by_role(
        "button", name=f"Chiudi il ticket {second.number} come duplicato del ticket {first.number}"
    )
    asked = await answered(laura, button, accept=True)
    assert f"seguire il ticket {first.number}" in asked.message
    await expect(laura.locator(".c-t-titlebar .c-status")).to_have_text("Chiuso")
    await expect(laura.locator(".c-facts")).to_contain_text("Chiuso come duplicato di")

    # the student looking the second ticket up is sent to the first, and asked for no rating
    student = await page_of(browser, 900, 900)
    await student.goto(f"{server.url}/ticket?number={second.number}")
    await student.locator("#uh-lk-email").fill(second.email)
    await student.get_by_role("button", name="Cerca il ticket").click()
    await expect(student.get_by_text(
        f"la stessa richiesta prosegue nel ticket {first.number}"
    )).to_be_visible()
    await expect(student.locator(".uh-rate")).to_be_hidden()
    # its way on is the other ticket, one tap away, not a third ticket
    await expect(student.get_by_role("button", name="Apri un nuovo ticket")).to_be_hidden()
    await student.get_by_role("button", name=f"Apri il ticket {first.number}").click()
    await expect(student.locator(".uh-tk-heading")).to_contain_text(first.number)
    for page in (laura, student):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


async def test_closing_while_a_colleague_writes_the_answer_asks_first(
    server: Server, browser: Browser
) -> None:
    for account in (LAURA, MARCO):
        await create_account(server, account)
    ticket = await open_ticket(server, name="Bruno Carla")
    laura, marco = await page_of(browser), await page_of(browser)
    for page, account in ((laura, LAURA), (marco, MARCO)):
        await sign_in(page, server, account)
        await page.locator(".c-item", has_text=ticket.number).click()
    await marco.get_by_label("Risposta allo studente").fill("Gentile Carla, la ricevuta")
    await expect(laura.locator(".c-warnings")).to_contain_text("Marco Verdi sta scrivendo")
    close = laura.get_by_role("button", name="Chiudi ticket")
    asked = await answered(laura, close, accept=False)
    assert asked.message == (
        "Marco Verdi sta scrivendo una risposta in questo ticket. Passare comunque a «Chiuso»?"
    )
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "open"


async def test_an_office_text_goes_into_the_reply_to_be_edited(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Serra Giulia")
    await laura.locator("#c-canned").fill("ricev")
    office = laura.locator(".c-canned-office")
    await expect(office).to_have_count(1)
    await expect(office).to_contain_text("Chiedere la ricevuta del pagamento")
    await office.get_by_role(
        "button", name="Inserisci nella risposta: Chiedere la ricevuta del pagamento"
    ).click()
    reply = laura.get_by_label("Risposta allo studente")
    await expect(reply).to_have_value(re.compile(r"^Per verificare il pagamento ci serve"))
    await reply.press("End")
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-toasts")).to_contain_text("Risposta inviata")
    # no FAQ answered it: the editors' report counts none
    events = await server.app[SERVICES].storage.faq_events.recent()
    assert [e for e in events if e.kind == "inserted"] == []


async def test_an_editor_reads_in_the_report_what_a_student_asked_in_the_chat(
    server: Server, new_page: NewPage
) -> None:
    for account in (ELENA, LAURA):
        await create_account(server, account)
    question = "Dove posso parcheggiare la bicicletta vicino alla biblioteca?"

    # a student asks something no FAQ answers, in the chat on the landing page
    student = await new_page()
    await student.goto(server.url + "/")
    chat = Chat(student)
    await chat.settled()
    await chat.say(question)
    await expect(chat.log).to_contain_text("Non ho trovato nelle FAQ una risposta adatta")

    # an operator has no report
    laura = await new_page()
    await sign_in(laura, server, LAURA)
    await expect(laura.get_by_role("button", name="Operatori")).to_have_count(0)
    await expect(laura.get_by_role("button", name="Report FAQ")).to_have_count(0)

    # the editor opens it and finds the question, as the student typed it
    elena = await new_page()
    await sign_in(elena, server, ELENA)
    await elena.get_by_role("button", name="Report FAQ").click()
    await expect(elena.get_by_role("heading", name="Report FAQ")).to_be_visible()
    await expect(elena.locator(".c-admin")).to_contain_text("faq_data/README.md")
    month = elena.get_by_role("button", name="30 giorni")
    await expect(month).to_have_attribute("aria-pressed", "true")
    totals = elena.locator(".c-totals")
    await expect(totals.locator(".c-total", has_text="Domande fatte")).to_contain_text("1")
    await expect(totals.locator(".c-total", has_text="Senza una FAQ adatta")).to_contain_text("1")
    unanswered = elena.get_by_role("table", name="Domande senza risposta")
    row = unanswered.get_by_role("row", name=question)
    await expect(row).to_be_visible()
    await expect(row.get_by_role("cell").first).to_have_text("1")
    await expect(row).to_contain_text("italiano")
    await expect(unanswered.get_by_role("columnheader")).to_have_text(
        ["Domanda (come l'ha scritta lo studente)", "Volte", "Ultima volta", "Lingua"]
    )
    await expect(elena.locator(".c-report")).to_contain_text(
        "Nessuna FAQ ha risolto una domanda in questo periodo."
    )

    # a shorter period still holds it; the choice shows as pressed
    week = elena.get_by_role("button", name="7 giorni")
    await week.click()
    await expect(week).to_have_attribute("aria-pressed", "true")
    await expect(month).to_have_attribute("aria-pressed", "false")
    await expect(unanswered.get_by_role("row", name=question)).to_be_visible()

    # and back to the queue
    await elena.get_by_role("button", name="Torna alla coda").click()
    await expect(elena.get_by_role("heading", name="Coda dei ticket")).to_be_visible()


async def test_the_report_shows_per_faq_the_hedged_offers_and_the_ready_answers_sent(
    server: Server, new_page: NewPage
) -> None:
    for account in (ELENA, LAURA):
        await create_account(server, account)
    services = server.app[SERVICES]
    hedged = [m.id for m in services.faq.index.decide(UNSURE).matches]

    # a student gets hedged answers in the chat
    student = await new_page()
    await student.goto(server.url + "/")
    chat = Chat(student)
    await chat.settled()
    await chat.say(UNSURE)
    await expect(chat.log.locator(".uh-faq-maybe")).to_have_count(len(hedged))

    # an operator answers a ticket with a ready answer ("Risposte pronte")
    ticket = await open_ticket(
        server, message="Ho pagato la prima rata ma sul portale risulta ancora da pagare."
    )
    laura = await new_page()
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    faqs = laura.locator(".c-canned-list .c-canned:not(.c-canned-office)")
    await faqs.get_by_role("button", name="Inserisci").first.click()
    await expect(laura.get_by_label("Risposta allo studente")).not_to_have_value("")
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-toasts")).to_contain_text("Risposta inviata")
    [inserted] = [e for e in await services.storage.faq_events.recent() if e.kind == "inserted"]
    [faq_id] = inserted.faq_ids
    faq = services.faq.index.get(faq_id)
    assert faq is not None

    elena = await new_page()
    await sign_in(elena, server, ELENA)
    await elena.get_by_role("button", name="Report FAQ").click()
    totals = elena.locator(".c-totals")
    await expect(totals.locator(".c-total", has_text="Proposte con riserva")).to_contain_text("1")
    await expect(totals.locator(".c-total", has_text="Risposte pronte")).to_contain_text("1")
    uses = elena.get_by_role("table", name="Come sono state usate le FAQ")
    await expect(uses.get_by_role("columnheader")).to_have_text(
        ["FAQ", "Come risposta", "Con riserva", "Inserita dagli operatori"]
    )
    row = uses.get_by_role("row", name=faq.question_in("it"))
    await expect(row.get_by_role("cell")).to_have_text(
        ["0", "1" if faq_id in hedged else "0", "1"]
    )
    await expect(uses.get_by_role("row")).to_have_count(1 + len(set(hedged) | {faq_id}))


async def test_an_admin_is_told_an_account_was_made_and_signing_out_says_so(
    server: Server, browser: Browser
) -> None:
    await create_account(server, ANNA)
    page = await page_of(browser)
    await sign_in(page, server, ANNA)
    await page.get_by_role("button", name="Operatori").click()
    form = page.locator("form.c-add")
    await form.get_by_label("Nome utente").fill("gbianchi")
    await form.get_by_label("Nome visibile agli studenti").fill("Giulia Bianchi")
    await form.get_by_label("Password").fill("una-password-lunga-abbastanza")
    await form.get_by_role("button", name="Crea account").click()
    # The list is drawn again with the new account: the confirmation must survive it.
    await expect(page.get_by_role("row", name=re.compile("gbianchi"))).to_be_visible()
    confirmation = page.get_by_role("status").filter(has_text="Account gbianchi creato.")
    await expect(confirmation).to_be_visible()

    await page.get_by_role("button", name="Esci").click()
    await expect(page.get_by_text("Hai chiuso la sessione della console.")).to_be_visible()
    await expect(page.get_by_text("La sessione è scaduta")).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_queue_keeps_up_while_tickets_keep_arriving(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)

    async def deadline_crowd() -> list[str]:
        arriving = []
        for _ in range(25):  # one every 80 ms, however long each takes: more often than the
            # queue's 300 ms wait
            arriving.append(asyncio.create_task(open_ticket(server, name="Ferri Giulia")))
            await asyncio.sleep(0.08)
        return [opened.number for opened in await asyncio.gather(*arriving)]

    crowd = asyncio.create_task(deadline_crowd())
    await expect(laura.locator(".c-item", has_text="Ferri Giulia").first).to_be_visible()
    # shown while they are still arriving, not only once they stop
    assert not crowd.done()
    opened = await crowd
    await expect(laura.locator(".c-item", has_text=opened[-1])).to_be_visible()
    assert laura.errors == []  # type: ignore[attr-defined]


async def test_on_a_slow_server_the_queue_reloads_one_at_a_time(
    server: Server, browser: Browser
) -> None:
    """Reloads that pile up on a slow server add to each other's wait; the changes heard
    during one are picked up by a single reload after it."""
    await create_account(server, LAURA)
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    in_flight, most = 0, 0

    async def slowly(route: Route) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(1.2)
        try:
            await route.continue_()
        finally:
            in_flight -= 1

    await laura.route(re.compile(r"/api/console/tickets\?"), slowly)
    opened = []
    for _ in range(12):  # a change every 200 ms, for longer than a reload takes
        opened.append((await open_ticket(server, name="Neri Paola")).number)
        await asyncio.sleep(0.2)
    await expect(laura.locator(".c-item", has_text=opened[-1])).to_be_visible(timeout=10_000)
    assert most == 1
    assert laura.errors == []  # type: ignore[attr-defined]


async def test_a_search_is_not_overwritten_by_a_slower_reload_of_the_queue(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    await open_ticket(server, name="Bruno Verdi")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)

    async def reloads_slowly(route: Route) -> None:
        if "q=" not in route.request.url:
            await asyncio.sleep(1.5)
        await route.continue_()

    await laura.route(re.compile(r"/api/console/tickets\?"), reloads_slowly)
    async with laura.expect_request(lambda r: "/api/console/tickets?" in r.url):
        await open_ticket(server, name="Neri Paola")  # heard: a reload, slow to answer
    await laura.locator("#c-search").fill("Bruno")
    await laura.locator("#c-search").press("Enter")
    await expect(laura.locator(".c-item", has_text="Bruno Verdi")).to_be_visible()
    await asyncio.sleep(2)  # the slow reload has answered by now
    await expect(laura.locator(".c-item", has_text="Neri Paola")).to_have_count(0)
    assert laura.errors == []  # type: ignore[attr-defined]


async def laura_at_a_new_ticket(server: Server, browser: Browser, name: str) -> tuple[Page, str]:
    """Laura signed in, with a student's new ticket open in her console."""
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name=name)
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    return laura, ticket.number


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_an_operator_attaches_a_form_and_the_student_downloads_it(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Ferri Giulia")
    student = await page_of(browser, 900, 900)
    await student.goto(f"{server.url}/ticket?number={ticket.number}")
    await student.locator("#uh-lk-email").fill(ticket.email)
    await student.get_by_role("button", name="Cerca il ticket").click()
    thread = student.locator(".uh-thread")
    await expect(thread).to_contain_text("Non riesco a pagare")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()

    reply = "Le allego il modulo di rimborso: lo compili e lo carichi sul portale."
    box = laura.get_by_label("Risposta allo studente")
    await box.fill(reply)
    error = laura.locator(".c-composer .c-error")
    file_input = laura.locator("#c-file")
    # too big: said at once, nothing sent, the text stays
    await file_input.set_input_files(
        {"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (2 * 1024 * 1024 + 1)}
    )
    await expect(error).to_contain_text("Il file «foto.jpg» supera i 2 MB")
    # named like an image, but a page: the server refuses it by its content
    await file_input.set_input_files(
        {"name": "istruzioni.png", "mimeType": "image/png", "buffer": b"<html><p>ciao</p></html>"}
    )
    await expect(laura.locator(".c-file-chip")).to_contain_text("istruzioni.png")
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(error).to_contain_text("Il file «istruzioni.png» è stato rifiutato")
    await expect(error).to_contain_text("puoi allegare solo file PDF, PNG o JPEG")
    await expect(box).to_have_value(reply)
    await expect(laura.locator(".c-file-chip")).to_be_empty()
    await expect(thread).not_to_contain_text(reply)

    await file_input.set_input_files(
        {"name": "modulo rimborso.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await expect(laura.locator(".c-file-chip")).to_contain_text("modulo rimborso.pdf")
    await laura.get_by_role("button", name="Invia risposta").click()
    sent = laura.locator(".c-thread .c-msg-operator")
    await expect(sent).to_contain_text(reply)
    await expect(sent.get_by_role("link", name=re.compile("modulo rimborso.pdf"))).to_be_visible()
    await expect(box).to_have_value("")
    await expect(laura.locator(".c-file-chip")).to_be_empty()
    await expect(error).to_be_empty()

    # the student's page shows it at once, and downloads it with the ticket's token
    await expect(thread).to_contain_text(reply)
    link = thread.get_by_role("button", name=re.compile("modulo rimborso.pdf"))
    async with student.expect_download() as started:
        await link.click()
    download = await started.value
    assert download.suggested_filename == "modulo rimborso.pdf"
    saved = tmp_path / "modulo.pdf"
    await download.save_as(saved)
    assert saved.read_bytes() == PDF
    for page in (student, laura):
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


async def test_a_closed_ticket_offers_a_note_and_a_reply_only_once_reopened(
    server: Server, browser: Browser
) -> None:
    laura, _ = await laura_at_a_new_ticket(server, browser, "Greco Sara")
    send = laura.get_by_role("button", name="Invia risposta")
    await expect(send).to_be_enabled()
    await laura.get_by_role("button", name="Chiudi ticket").click()
    composer = laura.locator(".c-composer")
    await expect(composer).to_contain_text("Il ticket è chiuso: lo studente non potrebbe")
    await expect(send).to_be_disabled()
    await laura.get_by_role("button", name="Nota interna").click()
    await expect(laura.get_by_role("button", name="Salva nota")).to_be_enabled()
    await laura.get_by_role("button", name="Risposta allo studente", exact=True).click()
    await laura.get_by_role("button", name="Riapri").click()
    await expect(send).to_be_enabled()
    await expect(composer).to_contain_text("Lo studente non è collegato")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_reply_cut_off_by_the_end_of_the_session_is_there_after_signing_in_again(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Fontana Luca")
    draft = "Gentile Luca, per la prima rata devi prima completare la domanda e poi"
    await laura.get_by_label("Risposta allo studente").fill(draft)
    # the idle timeout, a restart or a revocation: the server ends the session mid-reply
    await server.app[CONSOLE].end_sessions_of(LAURA.username, "expired")
    await expect(laura.locator(".c-login")).to_contain_text("La sessione è scaduta")
    await laura.get_by_label("Nome utente").fill(LAURA.username)
    await laura.get_by_label("Password").fill(LAURA.password)
    await laura.get_by_role("button", name="Accedi").click()
    await expect(laura.get_by_role("heading", name=f"Ticket {number}")).to_be_visible()
    await expect(laura.get_by_label("Risposta allo studente")).to_have_value(draft)
    await expect(laura.get_by_label("Risposta allo studente")).to_be_focused()
    # signing out on purpose (confirmed, the reply still unsent) leaves nothing behind for
    # whoever uses the page next
    laura.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await laura.get_by_role("button", name="Esci").click()
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=number).click()
    await expect(laura.get_by_label("Risposta allo studente")).to_have_value("")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def reply(page: Page, text: str) -> None:
    """The operator answers the ticket on screen with the button, and sees the answer in it."""
    await page.get_by_label("Risposta allo studente").fill(text)
    await page.get_by_role("button", name="Invia risposta").click()
    await expect(page.locator(".c-thread")).to_contain_text(text)


async def two_tickets(server: Server, browser: Browser) -> tuple[Page, str, str]:
    """Laura at the first of two new tickets."""
    laura, first = await laura_at_a_new_ticket(server, browser, "Marini Elisa")
    second = (await open_ticket(server, name="Conti Davide")).number
    await expect(laura.locator(".c-item", has_text=second)).to_be_visible()
    return laura, first, second


async def operator_replies(server: Server, number: str) -> list[str]:
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    return [m.body for m in ticket.messages if m.author == "operator"]


async def test_a_reply_settles_on_its_own_ticket_while_the_operator_moves_on(
    server: Server, browser: Browser
) -> None:
    """Ctrl+Enter, then at once the next ticket: the reply sent is no draft on coming back
    (it would go twice), and one that failed says so and stays."""
    laura, first, second = await two_tickets(server, browser)
    box = laura.get_by_label("Risposta allo studente")
    messages = "**/api/console/tickets/*/messages"

    async def send_and_move_on(text: str, *, arrives: bool) -> None:
        async def late(route: Route) -> None:
            await asyncio.sleep(0.6)
            await (route.continue_() if arrives else route.abort())

        await laura.unroute(messages)
        await laura.route(messages, late)
        await box.fill(text)
        await box.press("Control+Enter")
        await laura.locator(".c-item", has_text=second).click()

    await send_and_move_on("Gentile Elisa, la domanda risulta completa.", arrives=True)
    await expect(laura.locator(".c-toasts")).to_contain_text("Risposta inviata")
    await laura.locator(".c-item", has_text=first).click()
    await expect(laura.locator(".c-thread")).to_contain_text("la domanda risulta completa")
    await expect(box).to_have_value("")
    assert await operator_replies(server, first) == ["Gentile Elisa, la domanda risulta completa."]

    await send_and_move_on("Le scrivo anche per la seconda rata.", arrives=False)
    await expect(laura.locator(".c-toasts")).to_contain_text(
        f"La risposta sul ticket {first} non è stata inviata"
    )
    await laura.locator(".c-item", has_text=first).click()
    await expect(box).to_have_value("Le scrivo anche per la seconda rata.")


async def test_opening_the_ticket_on_screen_again_keeps_the_reply(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Ricci Marta")
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Gentile Marta, ")
    await laura.locator(".c-item", has_text=number).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {number}")).to_be_visible()
    await expect(box).to_have_value("Gentile Marta, ")


async def test_closing_with_a_reply_still_in_the_box_asks_first(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Galli Irene")
    await laura.get_by_label("Risposta allo studente").fill("Il certificato è pronto.")
    close = laura.get_by_role("button", name="Chiudi ticket")
    assert "non è stata inviata" in (await answered(laura, close, accept=False)).message
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None and ticket.status == "open"
    await answered(laura, close, accept=True)
    await expect(laura.locator(".c-composer")).to_contain_text("Il ticket è chiuso")


async def test_a_ticket_that_fails_to_load_leaves_the_one_on_screen_working(
    server: Server, browser: Browser
) -> None:
    laura, first, second = await two_tickets(server, browser)
    await laura.route(f"**/api/console/tickets/{second}", lambda route: route.abort())
    await laura.locator(".c-item", has_text=second).click()
    await expect(laura.locator(".c-toasts .c-toast-error")).to_be_visible()
    await expect(laura.get_by_role("heading", name=f"Ticket {first}")).to_be_visible()
    await reply(laura, "Ancora qui.")


async def test_a_colleague_s_reply_shows_who_holds_the_ticket_and_clears_its_count(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Bruno Sofia")
    marco = await create_account(server, MARCO)
    fresh = await open_ticket(server, name="Serra Nicola")
    await expect(laura).to_have_title(re.compile(r"^\(1\) Console operatori"))
    desk = Desk(server.app[SERVICES])
    await desk.operator_reply(number, marco, "Ci penso io.", internal=False)
    await expect(laura.locator(".c-warnings")).to_contain_text("in carico a Marco Verdi")
    # the new ticket is Marco's now: nothing of it waits for Laura
    await desk.assign(fresh.number, marco.username, marco)
    await expect(laura).to_have_title(re.compile(r"^Console operatori"))


async def test_the_queue_keeps_its_place_when_a_ticket_lower_down_opens(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    names = [f"{surname} {first}" for surname in ("Rossi", "Bianchi", "Verdi", "Neri", "Gallo")
             for first in ("Anna", "Luca", "Sara", "Marco", "Ugo", "Ivo")]
    numbers = [(await open_ticket(server, name=name)).number for name in names]
    laura = await page_of(browser, 1280, 720)
    await sign_in(laura, server, LAURA)
    queue = laura.locator(".c-list")
    await expect(laura.locator(".c-item")).to_have_count(30)
    await queue.evaluate("(list) => { list.scrollTop = list.scrollHeight; }")
    before = await queue.evaluate("(list) => list.scrollTop")
    assert before > 0
    # the queue lists the oldest first: the newest is at the bottom, in view
    await laura.locator(".c-item", has_text=numbers[-1]).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {numbers[-1]}")).to_be_visible()
    assert await queue.evaluate("(list) => list.scrollTop") == before


async def test_leaving_the_console_with_a_draft_asks_first(
    server: Server, browser: Browser
) -> None:
    """Drafts live in the page: the language link, a reload or closing the tab would lose
    them without a word."""
    laura, _ = await laura_at_a_new_ticket(server, browser, "Costa Giada")
    await expect(laura.locator(".c-aside")).not_to_contain_text("null")  # no rating yet
    await laura.get_by_label("Risposta allo studente").fill("Gentile Giada, ")
    english = laura.get_by_role("link", name="English")
    assert (await answered(laura, english, accept=False)).type == "beforeunload"
    await expect(laura.get_by_label("Risposta allo studente")).to_have_value("Gentile Giada, ")


async def test_a_colleague_added_after_sign_in_can_be_handed_a_ticket(
    server: Server, browser: Browser
) -> None:
    laura, _, second = await two_tickets(server, browser)
    await create_account(server, MARCO)
    await laura.locator(".c-item", has_text=second).click()
    await laura.get_by_label("Trasferisci a").select_option(label="Marco Verdi")
    await laura.get_by_role("button", name="Trasferisci", exact=True).click()
    await expect(laura.locator(".c-holder-line")).to_contain_text("Marco Verdi")


ARABIC = "مرحبا، لم أتمكن من دفع القسط الأول عبر بوابة الجامعة"


async def test_a_message_in_arabic_reads_right_to_left(server: Server, browser: Browser) -> None:
    await create_account(server, LAURA)
    ticket = await open_ticket(server, message=ARABIC)
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    body = laura.locator(".c-msg-body", has_text=ARABIC)
    assert await body.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("شكرا")
    assert await box.evaluate("(el) => getComputedStyle(el).direction") == "rtl"


async def test_a_reply_near_the_limit_shows_its_length(server: Server, browser: Browser) -> None:
    laura, _ = await laura_at_a_new_ticket(server, browser, "Leone Anna")
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("a" * 100)
    await expect(laura.locator(".c-length")).to_have_text("")
    await box.fill("a" * 4100)
    await expect(laura.locator(".c-length")).to_have_text("4100 caratteri su 4000")
    await expect(laura.locator(".c-length")).to_have_class(re.compile(r"\bc-error\b"))


async def test_a_keyboard_operator_keeps_their_place_and_hears_what_arrives(
    server: Server, browser: Browser
) -> None:
    """Closing from the keyboard leaves focus in the ticket, not at the page's top; a student's
    message in the ticket on screen is announced; a colleague's change keeps the ready
    answers' search being typed."""
    await create_account(server, LAURA)
    marco = await create_account(server, MARCO)
    ticket = await open_ticket(server, name="Sala Carla")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    close = laura.get_by_role("button", name="Chiudi ticket")
    await close.focus()
    await laura.keyboard.press("Enter")
    await expect(laura.locator(".c-composer")).to_contain_text("Il ticket è chiuso")
    await expect(laura.locator(".c-t-title")).to_be_focused()
    await laura.get_by_role("button", name="Riapri").click()
    announced = laura.locator("[role=status][aria-live=polite].c-sr")
    await expect(announced).to_contain_text("Aperto")  # the reopening, said before what follows

    await student_writes(server.url, ticket, "Ho trovato la ricevuta.")
    await expect(laura.locator(".c-thread")).to_contain_text("Ho trovato la ricevuta.")
    await expect(announced).to_contain_text("ha scritto in questo ticket")

    search = laura.locator("#c-canned")
    await search.fill("seconda rata")
    await Desk(server.app[SERVICES]).set_status(ticket.number, "awaiting_user", marco)
    await expect(laura.locator(".c-t-header .c-status-awaiting_user")).to_be_visible()
    await expect(search).to_have_value("seconda rata")
    await expect(search).to_be_focused()


async def test_an_erased_ticket_leaves_no_draft_behind(server: Server, browser: Browser) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Villa Rita")
    await laura.get_by_label("Risposta allo studente").fill("Gentile Rita, ")
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    admin = await create_account(server, ANNA)
    await erase(server.app[SERVICES], ticket.email, admin)
    await expect(laura.locator(".c-toasts")).to_contain_text(number)
    asked: list[str] = []
    laura.once("dialog", lambda d: (asked.append(d.type), asyncio.ensure_future(d.dismiss())))
    await laura.reload()
    await expect(laura.get_by_role("button", name="Esci")).to_be_visible()
    assert asked == []


async def test_an_admin_view_takes_the_focus_and_gives_it_back_to_the_queue(
    server: Server, browser: Browser
) -> None:
    await create_account(server, ANNA)
    anna = await page_of(browser)
    await sign_in(anna, server, ANNA)
    await anna.get_by_role("button", name="Operatori", exact=True).click()
    await expect(anna.get_by_role("heading", level=2, name="Operatori")).to_be_focused()
    await anna.get_by_role("button", name="← Torna alla coda").click()
    await expect(anna.locator(".c-queue")).to_be_focused()


async def test_the_team_page_names_each_row_s_buttons_and_keeps_the_keyboard_s_place(
    server: Server, browser: Browser
) -> None:
    await create_account(server, ANNA)
    await create_account(server, MARCO)
    anna = await page_of(browser)
    await sign_in(anna, server, ANNA)
    await anna.get_by_role("button", name="Operatori", exact=True).click()
    save = anna.get_by_role("button", name=f"Salva · {MARCO.username}")
    await save.focus()
    await anna.keyboard.press("Enter")
    status = anna.get_by_role("status").filter(has_text=f"Account {MARCO.username} aggiornato")
    await expect(status).to_be_visible()
    await expect(status).to_be_focused()
    # a password change with nothing typed says so, instead of doing nothing
    await anna.get_by_role("button", name=f"Cambia password · {MARCO.username}").click()
    missing = anna.get_by_role("alert").filter(has_text="Scrivi la nuova password")
    await expect(missing).to_be_visible()
    # deactivating asks first; dismissed, the account stays active
    anna.once("dialog", lambda d: asyncio.ensure_future(d.dismiss()))
    await anna.get_by_role("button", name=f"Disattiva · {MARCO.username}").click()
    operator = await server.app[SERVICES].storage.operators.get(MARCO.username)
    assert operator is not None and operator.active


async def test_a_sign_in_in_another_tab_says_why_this_one_ended(
    server: Server, browser: Browser
) -> None:
    """Every sign-in ends the session the browser held: the tab it ends says so, not that the
    session expired for inactivity."""
    laura, _ = await laura_at_a_new_ticket(server, browser, "Fabbri Ada")
    second = await laura.context.new_page()
    await second.goto(f"{server.url}/console")
    await expect(second.get_by_role("button", name="Esci")).to_be_visible()
    await server.app[CONSOLE].end_sessions_of(LAURA.username, "expired")
    for page in (laura, second):
        await expect(page.locator(".c-login")).to_be_visible()
    await second.get_by_label("Nome utente").fill(LAURA.username)
    await second.get_by_label("Password").fill(LAURA.password)
    await second.get_by_role("button", name="Accedi").click()
    await expect(second.get_by_role("button", name="Esci")).to_be_visible()
    await laura.get_by_label("Nome utente").fill(LAURA.username)
    await laura.get_by_label("Password").fill(LAURA.password)
    await laura.get_by_role("button", name="Accedi").click()
    await expect(second.locator(".c-login")).to_contain_text("da un'altra scheda o finestra")


async def test_a_colleague_s_change_leaves_the_reader_where_they_were(
    server: Server, browser: Browser
) -> None:
    """A colleague's note, take-over or status change redraws the ticket on screen: the
    thread stays where its reader is, unless they were at its end, where the new message is
    followed; a ready answer opened to read stays open."""
    laura, number = await laura_at_a_new_ticket(server, browser, "Longo Marta")
    marco = await create_account(server, MARCO)
    desk = Desk(server.app[SERVICES])
    for i in range(12):
        await desk.student_reply(
            number, f"Messaggio {i}: ho pagato la seconda rata ma il portale non la vede.\n"
            "Ho allegato la ricevuta.\nGrazie.", None)
    thread = laura.locator(".c-thread")
    await expect(thread).to_contain_text("Messaggio 11")
    answer = laura.locator(".c-canned details").first
    await answer.locator("summary").click()
    await expect(answer).to_have_attribute("open", "")
    await thread.evaluate("(t) => { t.scrollTop = 0; }")

    await desk.operator_reply(number, marco, "Nota di Marco: verificare su Esse3.", internal=True)
    await expect(thread).to_contain_text("Nota di Marco")
    await desk.assign(number, marco.username, marco)
    await expect(laura.locator(".c-holder-line")).to_contain_text("Marco Verdi")
    await asyncio.sleep(0.3)  # past the frame in which a scroll to the end would land
    assert await thread.evaluate("(t) => t.scrollTop") == 0
    await expect(answer).to_have_attribute("open", "")

    # at the end of the thread, the reader follows what arrives
    await thread.evaluate("(t) => { t.scrollTop = t.scrollHeight; }")
    await desk.operator_reply(number, marco, "Seconda nota di Marco.", internal=True)
    await expect(thread).to_contain_text("Seconda nota di Marco")
    for _ in range(50):
        below = await thread.evaluate("(t) => t.scrollHeight - t.scrollTop - t.clientHeight")
        if below < 5:
            break
        await asyncio.sleep(0.05)
    assert below < 5
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_colleague_who_cannot_send_is_no_reason_to_wait(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Villa Carla")
    await laura.get_by_role("button", name="Prendi in carico").click()
    await expect(laura.locator(".c-holder-line")).to_contain_text("te (Laura Bianchi)")
    await create_account(server, MARCO)
    marco = await page_of(browser)
    await sign_in(marco, server, MARCO)
    await marco.get_by_label("Assegnazione").select_option("all")
    await marco.locator(".c-item", has_text=number).click()
    await expect(marco.get_by_role("button", name="Invia risposta")).to_be_disabled()
    await marco.get_by_label("Risposta allo studente").fill("Buongiorno, le rispondo io")
    warnings = laura.locator(".c-warnings")
    await expect(warnings).to_contain_text(
        "Marco Verdi sta scrivendo una risposta, ma non ha il ticket"
    )
    await expect(warnings).not_to_contain_text("aspetta prima di rispondere")


async def test_signing_out_with_unsent_replies_asks_first(
    server: Server, browser: Browser
) -> None:
    laura, first, second = await two_tickets(server, browser)
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Gentile Elisa, ")
    await laura.locator(".c-item", has_text=second).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {second}")).to_be_visible()
    # on the second only a file: a form to send, not a word written yet
    form = {"name": "modulo.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
    await laura.locator("#c-file").set_input_files(files=[form])
    await expect(laura.locator(".c-file-chip")).to_contain_text("modulo.pdf")
    leave = laura.get_by_role("button", name="Esci")
    assert (await answered(laura, leave, accept=False)).message == (
        "In 2 ticket hai risposte o note non inviate: uscendo andranno perse. "
        "Vuoi uscire comunque?"
    )
    # staying keeps everything
    await expect(laura.locator(".c-file-chip")).to_contain_text("modulo.pdf")
    await laura.locator(".c-item", has_text=first).click()
    await expect(box).to_have_value("Gentile Elisa, ")

    await answered(laura, leave, accept=True)
    await expect(laura.locator(".c-login")).to_contain_text("Hai chiuso la sessione della console")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_restart_says_so_and_keeps_the_reply_being_written(
    data_dir: Path, browser: Browser
) -> None:
    """The data folder keeps its sessions in memory: a restart signs everyone out. The
    console is told why, not that the session expired, and the reply survives the login."""
    config = make_config(data_dir)
    server = await start_server(config)
    try:
        laura, number = await laura_at_a_new_ticket(server, browser, "Rinaldi Ada")
        draft = "Gentile Ada, la seconda rata"
        await laura.get_by_label("Risposta allo studente").fill(draft)
        await server.stop()
        await expect(laura.locator(".c-login")).to_contain_text("Il servizio è stato riavviato")
        server = await start_server(config)
        await laura.get_by_label("Nome utente").fill(LAURA.username)
        await laura.get_by_label("Password").fill(LAURA.password)
        await laura.get_by_role("button", name="Accedi").click()
        await expect(laura.get_by_role("heading", name=f"Ticket {number}")).to_be_visible()
        await expect(laura.get_by_label("Risposta allo studente")).to_have_value(draft)
        assert laura.errors == [], laura.errors  # type: ignore[attr-defined]
    finally:
        await server.stop()


async def test_the_queue_reaches_the_tickets_beyond_its_first_page(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    tickets = server.app[SERVICES].storage.tickets

    def student(i: int) -> Callable[[str], Ticket]:
        def build(number: str) -> Ticket:
            ticket = Ticket(number=number, email=f"coda{i}@example.org", name=f"Coda {i:03d}",
                            phone="+393331234567", topic="immatricolazioni",
                            subtopic="tasse-pagamenti")
            ticket.messages.append(Message(id=new_id(), author="student", name=ticket.name,
                                           body="Non riesco a pagare la prima rata."))
            ticket.history.append(StatusChange(status="open", by="student"))
            return ticket
        return build

    for i in range(205):  # straight into storage: quietly, and quickly
        await tickets.create(student(i))
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await expect(laura.locator(".c-item")).to_have_count(200)
    shown = laura.get_by_text("Mostrati 200 di 205: restringi i filtri o mostra altri")
    await expect(shown).to_be_visible()
    await expect(laura.locator(".c-item", has_text="Coda 204")).to_have_count(0)
    await laura.get_by_role("button", name="Mostra altri").click()
    await expect(laura.locator(".c-item")).to_have_count(205)
    newest = laura.locator(".c-item", has_text="Coda 204")
    await expect(newest).to_be_visible()
    await expect(laura.locator(".c-item").nth(200)).to_be_focused()
    await expect(laura.get_by_role("button", name="Mostra altri")).to_have_count(0)
    await expect(laura.get_by_text("Mostrati 200 di 205")).to_have_count(0)
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_colleague_who_took_the_ticket_first_is_named_in_the_question(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Moretti Elia")
    marco = await create_account(server, MARCO)
    desk = Desk(server.app[SERVICES])
    raced: list[bool] = []

    async def meanwhile(route: Route) -> None:
        if not raced:  # Marco takes it between Laura's look and her press
            raced.append(True)
            await desk.assign(number, marco.username, marco)
        await route.continue_()

    await laura.route(f"**/api/console/tickets/{number}/assign", meanwhile)
    asked = await answered(laura, laura.get_by_role("button", name="Prendi in carico"), accept=True)
    await expect(laura.locator(".c-holder-line")).to_contain_text("te (Laura Bianchi)")
    assert asked.message == (
        "Nel frattempo il ticket è stato preso in carico da Marco Verdi.\n\n"
        "Vuoi prenderlo in carico tu al posto di Marco Verdi? Marco Verdi vedrà il cambio."
    )


async def test_the_toast_after_a_reply_leaves_the_send_button_usable(
    server: Server, browser: Browser
) -> None:
    laura, _ = await laura_at_a_new_ticket(server, browser, "Pellegrini Noemi")
    await reply(laura, "Gentile Noemi, la domanda risulta completa.")
    await expect(laura.locator(".c-toast")).to_be_visible()
    send = laura.get_by_role("button", name="Invia risposta")
    box = await send.bounding_box()
    assert box is not None
    hit = await laura.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('button')?.textContent",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert hit == "Invia risposta"
    await expect(laura.locator(".c-toast")).to_have_count(0, timeout=4000)


async def test_a_slow_reload_of_the_ticket_left_does_not_come_back_over_the_one_opened(
    server: Server, browser: Browser
) -> None:
    laura, first, second = await two_tickets(server, browser)
    marco = await create_account(server, MARCO)

    async def slowly(route: Route) -> None:
        await asyncio.sleep(1.5)
        await route.continue_()

    await laura.route(f"**/api/console/tickets/{first}", slowly)
    # a colleague's change (as a reconnect does) reloads the ticket on screen, slowly
    async with laura.expect_request(f"**/api/console/tickets/{first}"):
        await Desk(server.app[SERVICES]).set_status(first, "awaiting_user", marco)
    await laura.locator(".c-item", has_text=second).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {second}")).to_be_visible()
    await asyncio.sleep(2)  # the reload of the ticket left has answered by now
    await expect(laura.get_by_role("heading", name=f"Ticket {second}")).to_be_visible()
    await expect(laura.get_by_role("heading", name=f"Ticket {first}")).to_have_count(0)
    assert laura.errors == []  # type: ignore[attr-defined]
