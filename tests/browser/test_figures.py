"""The office's figures in the console: an editor opens "Report", reads the tiles, sees both
charts drawn with their tables beside them, changes the window and downloads the CSV and the
workbook."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Locator, Page, expect

from storage import FaqEvent, Message, Operator, Rating, StatusChange, Ticket
from tests.browser.conftest import NewPage
from tests.browser.test_console import sign_in
from tests.conftest import Server
from tests.spreadsheet import read_sheet
from tests.web.conftest import ELENA, LAURA, create_account, open_ticket
from web.desk.erasure import erase
from web.desk.office_hours import OfficeHours
from web.desk.tickets import Desk
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

ANNA = Operator(username="abianchi", name="Anna Bianchi", role="operator", password_hash="x")


async def drawn(page: Page, image: Locator) -> None:
    """Waits until the image has loaded and decoded: an SVG the browser could not read has no
    natural width."""
    handle = await image.element_handle()
    await page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=handle)


async def test_an_editor_reads_the_figures_charts_and_tables(
    server: Server, new_page: NewPage
) -> None:
    for account in (ELENA, LAURA):
        await create_account(server, account)
    services = server.app[SERVICES]
    await services.storage.operators.put(ANNA)
    desk = Desk(services)
    tickets = [await open_ticket(server) for _ in range(3)]
    await open_ticket(server, subtopic="scadenze")
    await desk.operator_reply(tickets[0].number, ANNA, "Eccomi.", internal=False)
    await desk.set_status(tickets[0].number, "closed", ANNA)

    # an operator has no report
    laura = await new_page()
    await sign_in(laura, server, LAURA)
    await expect(laura.get_by_role("button", name="Report", exact=True)).to_have_count(0)

    page = await new_page()
    await sign_in(page, server, ELENA)
    await page.get_by_role("button", name="Report", exact=True).click()
    await expect(page.get_by_role("heading", name="Report dell'ufficio")).to_be_visible()
    month = page.get_by_role("button", name="30 giorni")
    await expect(month).to_have_attribute("aria-pressed", "true")
    tiles = page.locator(".c-totals")
    await expect(tiles.locator(".c-total", has_text="Ticket arrivati")).to_contain_text("4")
    await expect(tiles.locator(".c-total", has_text="Ticket chiusi")).to_contain_text("1")
    await expect(tiles.locator(".c-total", has_text="Aperti adesso")).to_contain_text("3")
    # the queue now: three still without an answer, the first since a moment ago
    await expect(tiles.locator(".c-total", has_text="Aperti adesso")).to_contain_text(
        "3 senza ancora una risposta; attesa più lunga: ora"
    )
    await expect(tiles.locator(".c-total", has_text="Prima risposta")).to_contain_text("min")
    await expect(tiles.locator(".c-total", has_text="Valutazione media")).to_contain_text("n.d.")

    # each chart is drawn, named, and has its numbers in a table beside it
    days_chart = page.get_by_role("img", name="Grafico a barre dei ticket arrivati e chiusi")
    topics_chart = page.get_by_role("img", name="Grafico a barre dei ticket arrivati per argomento")
    for chart in (days_chart, topics_chart):
        await expect(chart).to_be_visible()
        await drawn(page, chart)
    data = "Dati del grafico: "
    days_table = page.get_by_role("region", name=data + "Ticket arrivati e chiusi per giorno")
    await expect(days_table.locator("tbody tr")).to_have_count(30)
    await expect(days_table.locator("tbody tr").last.locator("td")).to_have_text(["4", "1"])
    topics_table = page.get_by_role("region", name=data + "Ticket arrivati per argomento")
    for subtopic, n in (("Tasse, ISEE, pagoPA ed esoneri", "3"),
                        ("Scadenze e iscrizione in ritardo", "1")):
        await expect(topics_table.get_by_role("row", name=subtopic)).to_contain_text(n)

    # the tables are reached by the keyboard
    await days_table.focus()
    await expect(days_table).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(topics_table).to_be_focused()

    # a week: seven days, and the charts follow
    await page.get_by_role("button", name="7 giorni").click()
    await expect(days_table.locator("tbody tr")).to_have_count(7)
    src = "/api/console/reports/by_day.svg?days=7&lang=it"
    await expect(days_chart).to_have_attribute("src", src)
    await drawn(page, days_chart)

    # the CSV of the window's tickets
    async with page.expect_download() as download:
        csv_link = "Scarica i ticket arrivati in questi 7 giorni (CSV)"
        await page.get_by_role("link", name=csv_link).click()
    saved = await download.value
    name = saved.suggested_filename
    assert name.startswith("tickets-") and name.endswith("-7d.csv")
    text = (await saved.path()).read_text(encoding="utf-8")
    assert text.count("\n") == 5 and all(t.number in text for t in tickets)

    # the same rows as a workbook, beside it
    async with page.expect_download() as download:
        xlsx_link = "Scarica i ticket arrivati in questi 7 giorni (Excel)"
        await page.get_by_role("link", name=xlsx_link).click()
    saved = await download.value
    name = saved.suggested_filename
    assert name.startswith("tickets-") and name.endswith("-7d.xlsx")
    header, *rows = read_sheet((await saved.path()).read_bytes()).rows
    # in the console's language
    assert header[0] and header[0].value == "Numero" and len(rows) == 4
    assert {t.number for t in tickets} < {r[0].value for r in rows if r[0]}


ITALIAN_MONTHS = (
    "gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"
)


async def test_the_period_is_the_office_s_days_in_any_browser_zone(
    server: Server, new_page: NewPage
) -> None:
    """A head of office travelling (or a browser set to another zone) reads the same period:
    in New York the office's midnight is the evening before."""
    await create_account(server, ELENA)
    page = await new_page(timezone_id="America/New_York")
    await sign_in(page, server, ELENA)
    await page.get_by_role("button", name="Report", exact=True).click()
    today = datetime.now(ZoneInfo("Europe/Rome")).date()
    first = today - timedelta(days=29)
    since = f"{first.day} {ITALIAN_MONTHS[first.month - 1]} {first.year}"
    await expect(page.locator(".c-figures")).to_contain_text(f"Dal {since} al ")


async def test_a_resolution_of_minutes_reads_in_minutes(server: Server, new_page: NewPage) -> None:
    """Tickets answered in a minute and a half and closed 2 minutes after they were opened: the
    tiles say so, not "meno di 1 min" (hours to a tenth could only say multiples of 6 min)."""
    await create_account(server, ELENA)
    storage = server.app[SERVICES].storage
    start = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(2):
        await storage.tickets.create(resolved(start, answered=90, closed=120))
    page = await new_page()
    await sign_in(page, server, ELENA)
    await page.get_by_role("button", name="Report", exact=True).click()
    tiles = page.locator(".c-totals")
    await expect(tiles.locator(".c-total", has_text="Risoluzione")).to_have_text(
        "Risoluzione (mediana)2 min9 su 10 entro 2 min"
    )
    await expect(tiles.locator(".c-total", has_text="Prima risposta")).to_have_text(
        "Prima risposta (mediana)1,5 min9 su 10 entro 1,5 min"
    )


def resolved(start: datetime, *, answered: float, closed: float) -> Callable[[str], Ticket]:
    """A ticket opened at start, answered and closed that many seconds later."""

    def at(seconds: float) -> str:
        return (start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

    def build(number: str) -> Ticket:
        return Ticket(
            number=number, email=f"s{number}@example.org", name="Rossi Mario",
            phone="+393331234567", topic="immatricolazioni", subtopic="scadenze",
            status="closed", created_at=at(0),
            messages=[Message(id="r", author="operator", name="Anna", body="ok",
                              username="abianchi", at=at(answered))],
            history=[StatusChange("open", "student", at(0)),
                     StatusChange("closed", "abianchi", at(closed))],
        )

    return build


async def test_with_the_office_s_hours_the_first_response_tile_says_its_working_time(
    server: Server, new_page: NewPage
) -> None:
    await create_account(server, ELENA)
    services = server.app[SERVICES]
    office = OfficeHours.parse("mon-sun 08:00-20:00")
    services.config = replace(services.config, office_hours=office)
    await services.storage.operators.put(ANNA)
    ticket = await open_ticket(server)
    await Desk(services).operator_reply(ticket.number, ANNA, "Eccomi.", internal=False)

    page = await new_page()
    await sign_in(page, server, ELENA)
    await page.get_by_role("button", name="Report", exact=True).click()
    tile = page.locator(".c-totals .c-total", has_text="Prima risposta")
    await expect(tile).to_contain_text(re.compile(r"in orario d'ufficio: .+, 9 su 10 entro "))


async def test_one_rating_and_one_chat_read_in_the_singular(
    server: Server, new_page: NewPage
) -> None:
    """"1 valutazioni" and "1 chat su 1 arrivate" are what a head of office would copy into a
    report: one of each reads in the singular."""
    await create_account(server, ELENA)
    storage = server.app[SERVICES].storage
    start = datetime.now(UTC) - timedelta(hours=1)
    build = resolved(start, answered=60, closed=120)

    def rated(number: str) -> Ticket:
        ticket = build(number)
        ticket.rating = Rating(score=4, at=(start + timedelta(minutes=5)).isoformat())
        return ticket

    await storage.tickets.create(rated)
    for kind in ("suggested", "solved"):
        await storage.faq_events.append(
            FaqEvent(kind=kind, query="tasse", lang="it", conversation_id="chat-1")
        )
    page = await new_page()
    await sign_in(page, server, ELENA)
    await page.get_by_role("button", name="Report", exact=True).click()
    tiles = page.locator(".c-totals")
    await expect(tiles.locator(".c-total", has_text="Valutazione media")).to_contain_text(
        "1 valutazione"
    )
    await expect(tiles.locator(".c-total", has_text="Valutazione media")).not_to_contain_text(
        "valutazioni"
    )
    await expect(tiles.locator(".c-total", has_text="Chat risolte dalle FAQ")).to_contain_text(
        "1 chat su 1 arrivata alle FAQ"
    )


async def test_the_open_tile_tells_the_erased_tickets_apart(
    server: Server, new_page: NewPage
) -> None:
    await create_account(server, ELENA)
    services = server.app[SERVICES]
    await services.storage.operators.put(ANNA)
    erased = await open_ticket(server)
    await open_ticket(server)
    await erase(services, erased.email, ANNA)
    page = await new_page()
    await sign_in(page, server, ELENA)
    await page.get_by_role("button", name="Report", exact=True).click()
    tile = page.locator(".c-totals .c-total", has_text="Aperti adesso")
    await expect(tile).to_contain_text("2")
    await expect(tile).to_contain_text(
        "Di cui 1 cancellato su richiesta dello studente: non è più in coda né nell'elenco"
    )
