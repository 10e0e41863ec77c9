"""The wait, as the student reads it: the chat that has just opened a ticket says its place in
the queue, and the place moves up while the student watches, as the office answers the tickets
ahead; the ticket view says the same."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Locator, expect

from storage import Operator
from tests.browser.conftest import DESKTOP, PHONE, HostSite, NewPage
from tests.browser.widget import Chat, press
from tests.conftest import Server, make_config, start_server
from tests.web.conftest import Opened, open_ticket
from tests.web.student.test_wait import answered_at, closed_today
from web.desk.office_hours import OFFICE_TZ, WEEKDAYS, OfficeHours
from web.desk.tickets import Desk
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

LAURA = Operator(username="lbianchi", name="Laura Bianchi", role="operator", password_hash="x")
NOTE = "non tiene conto degli orari d'ufficio"
LOOKUP = {"it": "Cerca il ticket", "en": "Find the ticket"}


async def test_the_widget_shows_the_place_in_the_queue_and_moves_it_live(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    services = server.app[SERVICES]
    await services.storage.operators.put(LAURA)
    desk = Desk(services)
    fields = {"email": "primo@example.org", "name": "Bianchi Luca", "phone": "+393331234567",
              "topic": "immatricolazioni", "subtopic": "scadenze", "message": "Scadenze?"}
    ahead = await desk.open(fields, None)

    page = await new_page(DESKTOP)
    await page.goto(host_site.page())
    chat = Chat(page)
    await chat.open()
    await chat.to_attachment_step()
    await chat.choose("Continua senza allegato")
    await chat.choose("Invia la richiesta")

    # nobody was answered in the last 7 days: the place alone, no invented figure
    wait = page.locator(".uh-tk-entry .uh-wait").last
    await expect(wait).to_have_text("Prima della tua c'è una richiesta in coda.")

    # the office answers the ticket ahead: the place moves up without a reload, with the usual
    # wait and what the estimate does not know
    await desk.operator_reply(ahead.number, LAURA, "Il 30 settembre.", internal=False)
    await expect(wait).to_contain_text(
        "La tua richiesta è la prossima in coda: al ritmo attuale dell'ufficio ti risponderemo "
        "tra circa un minuto."
    )
    await expect(wait).to_contain_text(NOTE)

    # the ticket view says the same
    card = page.locator(".uh-tk-entry").last
    await press(page, card.get_by_role("button", name="Apri il ticket"))
    view_wait = page.locator(".uh-tk-card .uh-wait")
    await expect(view_wait).to_contain_text("La tua richiesta è la prossima in coda")
    await expect(view_wait.locator("strong")).to_have_attribute("aria-live", "polite")

    # answered: the place is gone from both
    number = await page.locator(".uh-tk-entry .uh-tk-num").last.inner_text()
    await desk.operator_reply(number, LAURA, "Eccomi.", internal=False)
    await expect(view_wait).to_be_hidden()
    await expect(page.locator(".uh-thread .uh-msg-operator")).to_contain_text("Eccomi.")


async def test_a_long_wait_reads_in_hours_or_as_more_than_a_day(
    server: Server, new_page: NewPage
) -> None:
    """An office that answered three tickets in the last days, each 13 hours after it came and
    a day apart: the next student waits about 13 hours, the one behind more than a day."""
    storage = server.app[SERVICES].storage
    now = datetime.now(UTC)
    for days in (1, 2, 3):
        start = now - timedelta(days=days, hours=13)
        await storage.tickets.create(answered_at(start, timedelta(hours=13)))
    first, second = await open_ticket(server), await open_ticket(server)

    async def wait_of(ticket: Opened, lang: str) -> Locator:
        page = await new_page(DESKTOP)
        await page.goto(f"{server.url}/ticket?number={ticket.number}&lang={lang}")
        await page.locator("#uh-lk-email").fill(ticket.email)
        await page.get_by_role("button", name=LOOKUP[lang], exact=True).click()
        return page.locator(".uh-tk-card .uh-wait")

    wait = await wait_of(first, "it")
    await expect(wait).to_contain_text(
        "La tua richiesta è la prossima in coda: al ritmo attuale dell'ufficio ti risponderemo "
        "tra circa 13 ore."
    )
    await expect(wait).to_contain_text(NOTE)
    wait = await wait_of(second, "it")
    await expect(wait).to_contain_text(
        "Prima della tua c'è una richiesta in coda: al ritmo attuale dell'ufficio ci vorrà più "
        "di un giorno."
    )
    wait = await wait_of(second, "en")
    await expect(wait).to_contain_text(
        "There is one request before yours in the queue: at the office's current pace it will "
        "take more than a day."
    )
    await expect(wait).to_contain_text("does not account for office hours")


async def test_with_the_office_s_hours_the_widget_says_when_it_reopens(
    data_dir: Path, new_page: NewPage
) -> None:
    """An office open ten minutes each morning, except on today's weekday, that answered one
    ticket in five minutes: the next student hears when it reopens; the third, whose answer
    needs more than one morning, also hears on which day to expect it. The hours are Perugia's,
    said so to a phone set to another zone."""
    office, last_open = closed_today("09:00-09:10")
    server = await start_server(make_config(data_dir, office_hours=office))
    try:
        await server.app[SERVICES].storage.tickets.create(
            answered_at(last_open, timedelta(minutes=5))
        )
        first, _, third = [await open_ticket(server) for _ in range(3)]

        async def wait_of(ticket: Opened, lang: str, zone: str) -> Locator:
            page = await new_page(DESKTOP, timezone_id=zone)
            await page.goto(f"{server.url}/ticket?number={ticket.number}&lang={lang}")
            await page.locator("#uh-lk-email").fill(ticket.email)
            await page.get_by_role("button", name=LOOKUP[lang], exact=True).click()
            return page.locator(".uh-tk-card .uh-wait")

        day = r"(domani|\S+ \d+ \S+)"  # JavaScript's \w knows no "ì"
        wait = await wait_of(first, "it", "America/New_York")
        # the reopening alone is the office's hours: no note calls it an estimate
        await expect(wait).to_have_text(re.compile(
            rf"^La tua richiesta è la prossima in coda\. L'ufficio ora è chiuso e riapre {day} "
            r"alle 9:00 \(ora italiana\)\.\s*$"
        ))
        wait = await wait_of(third, "en", "Europe/Rome")
        await expect(wait).to_have_text(re.compile(
            r"^There are 2 requests before yours in the queue\. The office is closed now and "
            r"reopens (tomorrow|on \S+ \d+ \S+) at 9:00; at its current pace we will answer you "
            r"on \S+ \d+ \S+\. This is an estimate"
        ))
    finally:
        await server.stop()


async def test_a_change_that_moves_no_place_is_not_read_out_again(
    data_dir: Path, new_page: NewPage
) -> None:
    """The office open round the clock (but on public holidays): each ticket event carries an
    expected moment a little later than the last, in the same words, which the live region
    must not be given again."""
    office = OfficeHours.parse("mon-sun 00:00-24:00")
    server = await start_server(make_config(data_dir, office_hours=office))
    try:
        services = server.app[SERVICES]
        yesterday = datetime.now(UTC) - timedelta(days=1)
        await services.storage.tickets.create(answered_at(yesterday, timedelta(minutes=20)))
        ticket = await open_ticket(server)
        page = await new_page(DESKTOP, timezone_id="Europe/Rome")
        await page.goto(f"{server.url}/ticket?number={ticket.number}")
        await page.locator("#uh-lk-email").fill(ticket.email)
        await page.get_by_role("button", name=LOOKUP["it"], exact=True).click()
        live = page.locator(".uh-tk-card .uh-wait strong")
        await expect(live).to_contain_text("La tua richiesta è la prossima in coda")
        await live.evaluate(
            "el => { window.rewrites = 0; new MutationObserver(() => window.rewrites++)"
            ".observe(el, { childList: true, characterData: true, subtree: true }); }"
        )
        # an operator takes the ticket: the student sees who, and the place has not moved
        await services.storage.operators.put(LAURA)
        await Desk(services).assign(ticket.number, LAURA.username, LAURA)
        await expect(page.locator(".uh-operator")).to_contain_text("Laura Bianchi")
        assert await page.evaluate("window.rewrites") == 0
    finally:
        await server.stop()


async def test_a_phone_in_another_zone_reads_the_reopening_s_date_not_tomorrow(
    data_dir: Path, new_page: NewPage
) -> None:
    """At 1:00 on Tuesday in Kolkata, Perugia's "tomorrow at 9:00" is that same Tuesday: the
    international student writing at night reads the date; the phone in Perugia still reads
    "domani". The office opens later today (or tomorrow morning), so that without the date the
    text would say "oggi" or "domani"."""
    now = datetime.now(OFFICE_TZ)
    later = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    tomorrow = WEEKDAYS[(now.weekday() + 1) % 7]
    hours = f"{tomorrow} 09:00-09:10"
    if later.date() == now.date() and later.hour < 23:
        hours += f"; {WEEKDAYS[now.weekday()]} {later:%H:%M}-{later.hour + 1}:00"
    office = OfficeHours.parse(hours)
    opens = office.opens_at(now.astimezone(UTC))
    assert opens is not None
    opens_day = opens.astimezone(OFFICE_TZ).date()
    relative = {now.date(): "oggi", now.date() + timedelta(days=1): "domani"}.get(opens_day)
    server = await start_server(make_config(data_dir, office_hours=office))
    try:
        ticket = await open_ticket(server)

        async def wait_of(lang: str, zone: str) -> Locator:
            page = await new_page(PHONE, timezone_id=zone)
            await page.goto(f"{server.url}/ticket?number={ticket.number}&lang={lang}")
            await page.locator("#uh-lk-email").fill(ticket.email)
            await page.locator("#uh-lk-email").press("Enter")
            return page.locator(".uh-tk-card .uh-wait strong")

        clock = f"{opens.astimezone(OFFICE_TZ):%H:%M}".lstrip("0")
        wait = await wait_of("en", "Asia/Kolkata")
        await expect(wait).to_have_text(re.compile(
            rf"The office is closed now and reopens on \S+ {opens_day.day} \S+ at 0?{clock} "
            r"\(Italian time\)\.$"
        ))
        wait = await wait_of("it", "Europe/Rome")
        day = relative or rf"\S+ {opens_day.day} \S+"
        await expect(wait).to_have_text(
            re.compile(rf"L'ufficio ora è chiuso e riapre {day} alle {clock}\.$")
        )
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("zone", "said"), [("Europe/Rome", ""), ("America/New_York", r" \(ora italiana\)")]
)
async def test_an_awaiting_ticket_says_until_when_it_stays_open(
    data_dir: Path, new_page: NewPage, zone: str, said: str
) -> None:
    """The day is Perugia's, which ends six hours before New York's: a phone there says so."""
    server = await start_server(make_config(data_dir, awaiting_close_days=14))
    try:
        services = server.app[SERVICES]
        await services.storage.operators.put(LAURA)
        ticket = await open_ticket(server)
        await Desk(services).set_status(ticket.number, "awaiting_user", LAURA)
        page = await new_page(DESKTOP, timezone_id=zone)
        await page.goto(f"{server.url}/ticket?number={ticket.number}")
        await page.locator("#uh-lk-email").fill(ticket.email)
        await page.get_by_role("button", name=LOOKUP["it"], exact=True).click()
        day = (datetime.now(OFFICE_TZ) + timedelta(days=14)).day
        await expect(page.locator(".uh-tk-card")).to_contain_text(re.compile(
            rf"Se non rispondi entro \S+ {day} \S+{said}, chiuderemo il ticket: potrai comunque "
            r"aprirne uno nuovo collegato a questo\."
        ))
    finally:
        await server.stop()
