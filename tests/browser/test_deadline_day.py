"""The console on a deadline day, with colleagues on the same queue: what a dropped connection,
a search for a colleague's ticket and a colleague's change under the operator's reply leave on
screen."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Dialog, Locator, Page, Route, WebSocketRoute, expect

from storage import Message, StatusChange, Ticket
from tests.browser.test_console import page_of, sign_in
from tests.conftest import Server
from tests.web.conftest import LAURA, MARCO, Opened, create_account, open_ticket
from web.console.namespace import CONSOLE
from web.desk.tickets import Desk
from web.desk.views import new_id
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def upgraded(links: list[WebSocketRoute]) -> WebSocketRoute:
    """The console's WebSocket, once Socket.IO has moved onto it from its first long-polling
    requests (closing it before would leave the connection on polling, up)."""
    for _ in range(100):
        if links:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    return links[-1]


class LiveLink:
    """The console's live connection, cut by the test and let back: while it is cut, neither
    its WebSocket nor Socket.IO's long-polling first leg gets through."""

    def __init__(self) -> None:
        self.reachable = True
        self.links: list[WebSocketRoute] = []

    async def attach(self, page: Page) -> None:
        def through(ws: WebSocketRoute) -> None:
            if self.reachable:
                ws.connect_to_server()
                self.links.append(ws)
            else:
                asyncio.ensure_future(ws.close())

        async def polling(route: Route) -> None:
            await (route.continue_() if self.reachable else route.abort())

        await page.route_web_socket(re.compile("/socket.io/"), through)
        await page.route(re.compile("/socket.io/"), polling)

    async def cut(self) -> None:
        link = await upgraded(self.links)
        self.reachable = False
        await link.close()


async def test_after_a_dropped_connection_the_ticket_shows_what_was_written_meanwhile(
    server: Server, browser: Browser
) -> None:
    """A Wi-Fi blip, or a process of the cluster restarting: the console reconnects by itself,
    and the ticket on screen must not stay as it was before the drop."""
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Caruso Ivo")
    laura = await page_of(browser)
    links: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        links.append(ws)

    await laura.route_web_socket(re.compile("/socket.io/"), through)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Gentile Ivo, ")
    await expect(laura.locator(".c-live-on")).to_be_visible()
    await (await upgraded(links)).close()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    # while the console is not connected, the student writes
    await Desk(server.app[SERVICES]).student_reply(ticket.number, "Ho trovato la ricevuta.", None)
    await expect(laura.locator(".c-live-on")).to_be_visible(timeout=10_000)
    await expect(laura.locator(".c-thread")).to_contain_text("Ho trovato la ricevuta.")
    await expect(box).to_have_value("Gentile Ivo, ")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_search_for_a_colleague_s_ticket_says_it_is_outside_the_filters(
    server: Server, browser: Browser
) -> None:
    """The student calls with their ticket's number: the operator's default queue (open, theirs
    or nobody's) does not hold a ticket a colleague has taken, and "no ticket" must not
    sound like a wrong number."""
    await create_account(server, LAURA)
    marco = await create_account(server, MARCO)
    ticket = await open_ticket(server, name="Ferrara Rita")
    await Desk(server.app[SERVICES]).assign(ticket.number, marco.username, marco)
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    search = laura.locator("#c-search")
    await search.fill(ticket.number)
    await search.press("Enter")
    queue = laura.locator(".c-list")
    await expect(queue).to_contain_text("Nessun ticket con questi filtri.")
    await expect(queue).to_contain_text("Fuori da questi filtri la ricerca trova 1 ticket")
    await laura.get_by_role("button", name="Cerca in tutti i ticket").click()
    item = laura.locator(".c-item", has_text=ticket.number)
    await expect(item).to_contain_text("Marco Verdi")
    await expect(item).to_be_focused()
    await expect(laura.get_by_label("Assegnazione")).to_have_value("all")
    await expect(laura.get_by_role("button", name=re.compile("^Tutti"))).to_have_attribute(
        "aria-pressed", "true")
    # the call over, the search box emptied: the operator's own queue is back
    await search.fill("")
    await search.press("Enter")
    await expect(laura.get_by_label("Assegnazione")).to_have_value("me,none")
    await expect(laura.get_by_role("button", name=re.compile("^Aperti"))).to_have_attribute(
        "aria-pressed", "true")
    await expect(search).to_be_focused()
    await expect(queue).to_have_text("Nessun ticket con questi filtri.")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_colleague_closing_the_ticket_being_answered_is_named(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    marco = await create_account(server, MARCO)
    ticket = await open_ticket(server, name="Galli Bea")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Gentile Bea, la domanda")
    await Desk(server.app[SERVICES]).set_status(ticket.number, "closed", marco)
    await expect(laura.locator(".c-toasts")).to_contain_text(
        f"Marco Verdi ha cambiato lo stato del ticket {ticket.number} in «Chiuso»")
    await expect(laura.get_by_role("button", name="Invia risposta")).to_be_disabled()
    await expect(box).to_have_value("Gentile Bea, la domanda")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_ctrl_enter_on_a_closed_ticket_says_why_without_asking_the_server(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Longo Ida")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    await laura.get_by_role("button", name="Chiudi ticket").click()
    await expect(laura.get_by_role("button", name="Invia risposta")).to_be_disabled()
    sent: list[str] = []
    laura.on("request", lambda r: sent.append(r.url) if r.url.endswith("/messages") else None)
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Gentile Ida, ")
    await box.press("Control+Enter")
    await expect(laura.locator(".c-composer .c-error").first).to_contain_text(
        "Il ticket è chiuso: lo studente non potrebbe risponderti")
    await asyncio.sleep(0.5)
    assert sent == []
    await expect(laura.locator(".c-toasts")).not_to_contain_text("Il ticket è stato aggiornato")
    await expect(box).to_have_value("Gentile Ida, ")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_closing_a_colleague_s_ticket_asks_once_and_names_them_as_its_holder(
    server: Server, browser: Browser
) -> None:
    """Marco closes the ticket Laura holds while she writes in it: one question, which says
    that the ticket is hers and that she is writing; not a question, a refusal, then a second
    question saying that "meanwhile" she took it."""
    await create_account(server, LAURA)
    await create_account(server, MARCO)
    ticket = await open_ticket(server, name="Vitale Ezio")
    laura, marco = await page_of(browser), await page_of(browser)
    for page, account in ((laura, LAURA), (marco, MARCO)):
        await sign_in(page, server, account)
        await page.locator(".c-item", has_text=ticket.number).click()
    await laura.get_by_role("button", name="Prendi in carico").click()
    await expect(marco.locator(".c-warnings")).to_contain_text("in carico a Laura Bianchi")
    await laura.get_by_label("Risposta allo studente").fill("Gentile Ezio, ")
    await expect(marco.locator(".c-warnings")).to_contain_text("Laura Bianchi sta scrivendo")
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    marco.on("dialog", lambda d: asyncio.ensure_future(accept(d)))
    await marco.get_by_role("button", name="Chiudi ticket").click()
    await expect(marco.locator(".c-t-titlebar .c-status")).to_have_text("Chiuso")
    assert asked == [
        "Il ticket è in carico a Laura Bianchi, che sta scrivendo una risposta.\n\n"
        "Vuoi cambiarne comunque lo stato in «Chiuso»? Resterà in carico a Laura Bianchi."
    ]
    assert marco.errors == [], marco.errors  # type: ignore[attr-defined]


async def test_the_keyboard_reaches_the_reply_of_the_next_ticket_with_one_key(
    server: Server, browser: Browser
) -> None:
    """j opens the next ticket with the focus on its title; the reply box was eight Tab stops
    further, past "Chiudi ticket": r goes there."""
    await create_account(server, LAURA)
    first = await open_ticket(server, name="Primo Studente")
    await open_ticket(server, name="Secondo Studente")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await expect(laura.locator(".c-item")).to_have_count(2)
    await laura.keyboard.press("j")
    await expect(laura.get_by_role("heading", name=f"Ticket {first.number}")).to_be_focused()
    await laura.keyboard.press("r")
    box = laura.get_by_label("Risposta allo studente")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("")  # the key moved the focus and typed nothing
    await laura.keyboard.type("Gentile studente, ")
    await expect(box).to_have_value("Gentile studente, ")  # in the box, r is a letter
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_the_queue_line_says_how_long_the_student_has_waited_for_the_answer(
    server: Server, browser: Browser
) -> None:
    """Opened three hours ago, answered, written to again five minutes ago: the line's age is
    the ticket's, and "Da rispondere" says the wait the "Fermi da più tempo" order sorts by."""
    await create_account(server, LAURA)
    now = datetime.now(UTC)

    def ago(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    def build(number: str) -> Ticket:
        ticket = Ticket(number=number, email="serra.olga@example.org", name="Serra Olga",
                        phone="+393331234567", topic="immatricolazioni",
                        subtopic="tasse-pagamenti", created_at=ago(180), updated_at=ago(5))
        ticket.messages += [
            Message(id=new_id(), author="student", name="Serra Olga", at=ago(180),
                    body="Non riesco a pagare la prima rata."),
            Message(id=new_id(), author="operator", name="Marco Verdi", username="mverdi",
                    at=ago(120), body="Provi con l'avviso pagoPA."),
            Message(id=new_id(), author="student", name="Serra Olga", at=ago(5),
                    body="L'avviso risulta scaduto."),
        ]
        ticket.history.append(StatusChange(status="open", by="student", at=ago(180)))
        return ticket

    ticket = await server.app[SERVICES].storage.tickets.create(build)
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    line = laura.locator(".c-item", has_text=ticket.number)
    await expect(line.locator(".c-age")).to_have_text("3 h")
    await expect(line.locator(".c-needs")).to_have_text("Da rispondere · 5 min")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_message_read_on_return_from_another_tab_is_no_longer_counted(
    server: Server, browser: Browser
) -> None:
    """The operator checks the student's records in another tab; the student writes in the
    ticket on screen: counted, as it should be. Back in the console, the message is in front
    of them, and the count and the dot go."""
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Coppola Tito")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {ticket.number}")).to_be_visible()
    visible = """(hidden) => {
        Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    await laura.evaluate(visible, True)
    await Desk(server.app[SERVICES]).student_reply(ticket.number, "Ecco la ricevuta.", None)
    await expect(laura).to_have_title(re.compile(r"^\(1\) Console operatori"))
    await laura.evaluate(visible, False)
    await expect(laura).to_have_title(re.compile(r"^Console operatori"))
    line = laura.locator(".c-item", has_text=ticket.number)
    await expect(line.locator(".c-dot")).to_have_count(0)
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_reply_refused_for_an_ended_session_waits_for_the_sign_in_without_an_error(
    server: Server, browser: Browser
) -> None:
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Marchetti Leo")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Gentile Leo, il modulo è allegato.")
    # the session ended on the server a moment before Send, unheard by the socket
    await laura.route("**/messages", lambda route: route.fulfill(
        status=401, content_type="application/json",
        body='{"error": {"code": "unauthorized", "message": "Sessione scaduta."}}'))
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-login")).to_contain_text("le risposte non inviate sono")
    await laura.unroute("**/messages")
    await laura.get_by_label("Nome utente").fill(LAURA.username)
    await laura.get_by_label("Password").fill(LAURA.password)
    await laura.get_by_role("button", name="Accedi").click()
    await expect(box).to_have_value("Gentile Leo, il modulo è allegato.")

    # the reply goes through, and the session ends before its answer is back: on signing in
    # again it is no draft to send a second time
    async def sent_then_signed_out(route: Route) -> None:
        response = await route.fetch()
        await server.app[CONSOLE].end_sessions_of(LAURA.username, "expired")
        await expect(laura.locator(".c-login")).to_be_visible()
        await route.fulfill(response=response)

    await laura.route("**/messages", sent_then_signed_out)
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-login")).to_be_visible()
    await laura.get_by_label("Nome utente").fill(LAURA.username)
    await laura.get_by_label("Password").fill(LAURA.password)
    await laura.get_by_role("button", name="Accedi").click()
    await expect(laura.locator(".c-thread")).to_contain_text("il modulo è allegato")
    await expect(box).to_have_value("")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_the_status_chosen_for_after_the_reply_stays_with_its_draft(
    server: Server, browser: Browser
) -> None:
    """A reply written to close the ticket, left for a moment for another ticket: back to it,
    Send must still close it, as the operator chose, and once sent the choice is gone."""
    await create_account(server, LAURA)
    first = await open_ticket(server, name="Fabbri Ottavio")
    second = await open_ticket(server, name="Ferri Giada")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=first.number).click()
    await laura.get_by_label("Risposta allo studente").fill("Risolto: la rata risulta pagata.")
    then = laura.get_by_label("Dopo l'invio")
    await then.select_option(label="chiudi il ticket")
    await laura.locator(".c-item", has_text=second.number).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {second.number}")).to_be_visible()
    await expect(then).to_have_value("")  # another ticket, another choice
    await laura.locator(".c-item", has_text=first.number).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {first.number}")).to_be_visible()
    await expect(then).to_have_value("closed")
    await laura.get_by_role("button", name="Invia risposta").click()
    await expect(laura.locator(".c-toasts")).to_contain_text("ticket chiuso")
    await expect(then).to_have_value("")
    await laura.locator(".c-item", has_text=second.number).click()
    await laura.get_by_label("Assegnazione").select_option("all")
    await laura.get_by_role("button", name=re.compile("^Tutti")).click()
    await laura.locator(".c-item", has_text=first.number).click()
    await expect(laura.get_by_role("heading", name=f"Ticket {first.number}")).to_be_visible()
    await expect(then).to_have_value("")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_after_a_reply_that_closes_the_ticket_the_keyboard_goes_on_to_the_next(
    server: Server, browser: Browser
) -> None:
    """Answer and close, Escape, j: the closed ticket has left the "Aperti" queue, and Escape
    stayed in the reply box, where j typed a "j"."""
    await create_account(server, LAURA)
    numbers = [(await open_ticket(server, name=name)).number
               for name in ("Primo Studente", "Secondo Studente", "Terzo Studente")]
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    lines = laura.locator(".c-item")
    await expect(lines).to_have_count(3)
    order = [await lines.nth(i).get_attribute("data-number") for i in range(3)]
    assert sorted(order) == sorted(numbers)
    await lines.nth(1).click()
    box = laura.get_by_label("Risposta allo studente")
    await box.fill("Risolto: la rata risulta pagata.")
    await laura.get_by_label("Dopo l'invio").select_option(label="chiudi il ticket")
    await box.press("Control+Enter")
    await expect(laura.locator(".c-toasts")).to_contain_text("ticket chiuso")
    await expect(lines).to_have_count(2)
    await box.press("Escape")
    await expect(laura.locator(".c-item", has_text=order[2])).to_be_focused()
    await laura.keyboard.press("j")
    await expect(laura.get_by_role("heading", name=f"Ticket {order[2]}")).to_be_visible()
    await laura.locator(".c-item", has_text=order[2]).focus()
    await laura.keyboard.press("k")
    await expect(laura.get_by_role("heading", name=f"Ticket {order[0]}")).to_be_visible()
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_connection_down_for_longer_than_a_blip_is_said_in_words(
    server: Server, browser: Browser
) -> None:
    """The header's dot alone turned red: the operator went on working from a queue that no
    longer moved."""
    await create_account(server, LAURA)
    laura = await page_of(browser)
    live = LiveLink()
    await live.attach(laura)
    await sign_in(laura, server, LAURA)
    banner = laura.get_by_role("status").filter(has_text="Aggiornamenti in tempo reale interrotti")
    await expect(laura.locator(".c-live-on")).to_be_visible()
    await expect(banner).to_be_hidden()
    await live.cut()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    await expect(banner).to_be_hidden()  # not for a blip
    await expect(banner).to_be_visible(timeout=10_000)
    await expect(banner).to_contain_text("la coda e il ticket aperto potrebbero non essere")
    live.reachable = True
    await expect(banner).to_be_hidden(timeout=20_000)
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_closing_pressed_before_the_student_s_new_message_showed_is_refused(
    server: Server, browser: Browser
) -> None:
    """The student writes "aspetti, e per l'ISEE?" the moment the operator presses "Chiudi
    ticket", before the message reaches the console (here: it never does live). The closing is
    refused, and the message is then on screen."""
    await create_account(server, LAURA)
    ticket = await open_ticket(server, name="Rinaldi Leo")
    laura = await page_of(browser)

    def without_live_messages(ws: WebSocketRoute) -> None:
        server_side = ws.connect_to_server()
        server_side.on_message(
            lambda m: None if isinstance(m, str) and '"ticket_message"' in m else ws.send(m)
        )

    await laura.route_web_socket(re.compile("/socket.io/"), without_live_messages)
    await sign_in(laura, server, LAURA)
    await laura.locator(".c-item", has_text=ticket.number).click()
    await expect(laura.get_by_role("button", name="Chiudi ticket")).to_be_visible()
    await Desk(server.app[SERVICES]).student_reply(ticket.number, "Aspetti, e per l'ISEE?", None)
    await laura.get_by_role("button", name="Chiudi ticket").click()
    await expect(laura.locator(".c-toasts")).to_contain_text("Lo studente ha appena scritto")
    await expect(laura.locator(".c-thread")).to_contain_text("Aspetti, e per l'ISEE?")
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "open"


async def test_what_arrived_while_the_connection_was_down_is_marked_in_the_queue(
    server: Server, browser: Browser
) -> None:
    """A new ticket and a student's message during the drop were pushed to nobody: back
    online, the queue lists them again but the operator must also see that they are news."""
    laura, live, (waiting, seen) = await laura_with_two_tickets(server, browser)
    await live.cut()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    opened = await news_meanwhile(server, waiting.number)
    live.reachable = True

    await expect(laura.locator(".c-live-on")).to_be_visible(timeout=20_000)
    await expect_marked(laura, opened.number, waiting.number, seen.number)
    announced = laura.locator("[role=status][aria-live=polite].c-sr")
    await expect(announced).to_contain_text("2 ticket con novità")
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_one_ticket_missed_while_the_connection_was_down_is_said_in_the_singular(
    server: Server, browser: Browser
) -> None:
    laura, live, _ = await laura_with_two_tickets(server, browser)
    await live.cut()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    await open_ticket(server, name="Riva Ugo")
    live.reachable = True
    await expect(laura.locator(".c-live-on")).to_be_visible(timeout=20_000)
    announced = laura.locator("[role=status][aria-live=polite].c-sr")
    await expect(announced).to_have_text(
        "Mentre la connessione era interrotta: 1 ticket con novità, segnato in coda."
    )


async def test_a_queue_read_before_the_drop_and_answered_after_it_does_not_hide_the_news(
    server: Server, browser: Browser
) -> None:
    """On a slow server the queue asked for just before the drop comes back after the
    reconnection, without what happened meanwhile: the list read after it says what is new."""
    laura, live, (waiting, seen) = await laura_with_two_tickets(server, browser)
    asked = asyncio.Event()
    release = asyncio.Event()

    async def slow(route: Route) -> None:
        response = await route.fetch()  # the list as it was when asked for
        asked.set()
        await release.wait()
        await route.fulfill(response=response)

    await laura.route("**/api/console/tickets?*", slow)
    await open_ticket(server, name="Conti Lia")  # a change: the queue is read again
    await asked.wait()
    await laura.unroute("**/api/console/tickets?*", slow)
    await live.cut()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    opened = await news_meanwhile(server, waiting.number)
    live.reachable = True
    await expect(laura.locator(".c-live-on")).to_be_visible(timeout=20_000)
    release.set()

    await expect_marked(laura, opened.number, waiting.number, seen.number)
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("looking_at", ["a search", "the closed tickets"])
async def test_news_outside_the_list_on_screen_is_marked_too(
    server: Server, browser: Browser, looking_at: str
) -> None:
    """The operator looks a student up by name, or reads the closed tickets, when the connection
    drops: what happened meanwhile is not in that list, and is news all the same, as an event
    would have made it."""
    laura, live, (waiting, seen) = await laura_with_two_tickets(server, browser)
    if looking_at == "a search":
        await laura.locator("#c-search").fill("Longo")
        await expect(laura.locator(".c-item")).to_have_count(1)
    else:
        await laura.locator('.c-tab[data-status="closed"]').click()
        await expect(laura.locator(".c-empty")).to_be_visible()
    await live.cut()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    opened = await news_meanwhile(server, waiting.number)
    live.reachable = True

    await expect(laura.locator(".c-live-on")).to_be_visible(timeout=20_000)
    await expect(laura).to_have_title(re.compile(r"^\(2\) Console operatori"))
    announced = laura.locator("[role=status][aria-live=polite].c-sr")
    await expect(announced).to_contain_text("2 ticket con novità")
    if looking_at == "a search":
        await laura.locator("#c-search").fill("")
    else:
        await laura.locator('.c-tab[data-status="open"]').click()
    await expect_marked(laura, opened.number, waiting.number, seen.number)
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def test_a_colleague_signing_in_on_the_same_page_is_told_of_no_missed_news(
    server: Server, browser: Browser
) -> None:
    """Laura's connection drops and she signs out; Marco signs in at the same computer. What
    changed since her drop was never his to catch up on: no "Nuovo" (nor "mentre la
    connessione era interrotta") for a connection he never had."""
    laura, live, _ = await laura_with_two_tickets(server, browser)
    await create_account(server, MARCO)
    await live.cut()
    await expect(laura.locator(".c-live-off")).to_be_visible()
    live.reachable = True
    await laura.get_by_role("button", name="Esci").click()
    await expect(laura.get_by_role("button", name="Accedi")).to_be_visible()
    before = await open_ticket(server, name="Riva Ugo")  # after her drop, before his sign-in

    await laura.get_by_label("Nome utente").fill(MARCO.username)
    await laura.get_by_label("Password").fill(MARCO.password)
    await laura.get_by_role("button", name="Accedi").click()
    await expect(laura.locator(".c-live-on")).to_be_visible()
    after = await open_ticket(server, name="Neri Eva")  # news to him: marked, by its event
    item = laura.locator(".c-item", has_text=after.number)
    await expect(item.locator(".c-badge-new")).to_have_text("Nuovo")
    # read with his first list, before the event above
    missed = laura.locator(".c-item", has_text=before.number).locator(".c-badge-new")
    await expect(missed).to_have_count(0)
    assert laura.errors == [], laura.errors  # type: ignore[attr-defined]


async def laura_with_two_tickets(
    server: Server, browser: Browser
) -> tuple[Page, LiveLink, tuple[Opened, Opened]]:
    await create_account(server, LAURA)
    waiting = await open_ticket(server, name="Greco Ada")
    tickets = waiting, await open_ticket(server, name="Longo Pia")
    laura = await page_of(browser)
    live = LiveLink()
    await live.attach(laura)
    await sign_in(laura, server, LAURA)
    await expect(laura.locator(".c-item", has_text=tickets[1].number)).to_be_visible()
    await expect(laura.locator(".c-live-on")).to_be_visible()
    return laura, live, tickets


async def news_meanwhile(server: Server, number: str) -> Opened:
    """The student of ticket `number` writes, and another student opens a ticket."""
    await Desk(server.app[SERVICES]).student_reply(number, "Ho pagato ieri, è arrivato?", None)
    return await open_ticket(server, name="Riva Ugo")


async def expect_marked(laura: Page, opened: str, waiting: str, seen: str) -> None:
    def item(number: str) -> Locator:
        return laura.locator(".c-item", has_text=number)

    await expect(item(opened).locator(".c-badge-new")).to_have_text("Nuovo")
    await expect(item(waiting).locator(".c-dot")).to_be_visible()
    await expect(item(seen).locator(".c-dot")).to_have_count(0)
    await expect(item(seen).locator(".c-badge-new")).to_have_count(0)
