"""The student rates a closed ticket from the closing mail's link, with the keyboard alone, as a
screen-reader user would: the link opens the ticket page, the look-up leads to the stars, each
star says what it means, and the rating is sent once."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from storage import Operator
from tests.browser.conftest import DESKTOP, NewPage
from tests.conftest import Server
from web.desk.tickets import Desk
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

EMAIL = "anna.verdi@libero.it"
ANNA = Operator(username="abianchi", name="Anna Bianchi", role="operator", password_hash="x")


async def closed_with_its_link(server: Server) -> tuple[str, str]:
    """A ticket of EMAIL answered and closed, and the rating link of its closing mail."""
    services = server.app[SERVICES]
    await services.storage.operators.put(ANNA)
    desk = Desk(services)
    ticket = await desk.open(
        {"email": EMAIL, "name": "Verdi Anna", "phone": "+393471234567",
         "topic": "immatricolazioni", "subtopic": "tasse-pagamenti",
         "message": "Quando scade la seconda rata?"},
        None,
    )
    await desk.operator_reply(ticket.number, ANNA, "Il 31 marzo.", internal=False)
    closed = await desk.set_status(ticket.number, "closed", ANNA)
    [mail] = [m for m in closed.outbox if m.kind == "closed"]
    found = re.search(r"^(http\S+#rating)$", mail.text, re.M)
    assert found is not None, mail.text
    return ticket.number, found.group(1)


async def test_a_student_rates_a_closed_ticket_by_keyboard_from_the_mail(
    server: Server, new_page: NewPage
) -> None:
    services = server.app[SERVICES]
    number, link = await closed_with_its_link(server)

    page = await new_page(DESKTOP)
    await page.goto(link)
    email = page.locator("#uh-lk-email")
    await expect(page.locator("#uh-lk-number")).to_have_value(number)
    await email.focus()
    await page.keyboard.type(EMAIL)
    await page.keyboard.press("Enter")

    # the page goes straight to the rating, whose heading takes the focus
    title = page.get_by_role("heading", name="Com'è andata?")
    await expect(title).to_be_focused()
    group = page.get_by_role("group", name="Il tuo voto, da 1 a 5 stelle")
    names = [await b.get_attribute("aria-label") for b in await group.get_by_role("button").all()]
    assert names == ["1 su 5: pessima", "2 su 5: scarsa", "3 su 5: nella media",
                     "4 su 5: buona", "5 su 5: ottima"]

    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Commento (facoltativo)")).to_be_focused()
    await page.keyboard.type("Risposta chiara, grazie.")
    for _ in range(4):
        await page.keyboard.press("Tab")
    await expect(group.get_by_role("button", name="4 su 5: buona")).to_be_focused()
    await page.keyboard.press("Enter")

    done = page.locator(".uh-rate-done")
    await expect(done).to_contain_text("La tua valutazione: 4 su 5. Grazie!")
    await expect(done).to_contain_text("Risposta chiara, grazie.")
    await expect(done).to_be_focused()
    await expect(group).to_be_hidden()
    stored = await services.storage.tickets.get(number)
    assert stored is not None and stored.rating is not None
    assert (stored.rating.score, stored.rating.comment) == (4, "Risposta chiara, grazie.")

    # a reload shows the rating given, and no stars to give another
    await page.reload()
    await expect(page.locator(".uh-rate-done")).to_contain_text("4 su 5")
    await expect(page.get_by_role("group", name="Il tuo voto, da 1 a 5 stelle")).to_be_hidden()


async def test_a_one_tap_rating_and_the_next_mail_link_in_the_same_tab(
    server: Server, new_page: NewPage
) -> None:
    first, first_link = await closed_with_its_link(server)
    page = await new_page(DESKTOP)
    await page.goto(first_link)
    await page.locator("#uh-lk-email").fill(EMAIL)
    await page.keyboard.press("Enter")
    group = page.get_by_role("group", name="Il tuo voto, da 1 a 5 stelle")
    await group.get_by_role("button", name="5 su 5: ottima").click()
    # no comment: nothing after the thanks (DOM append once wrote "null" there)
    await expect(page.locator(".uh-rate-done")).to_have_text(
        re.compile(r"La tua valutazione: 5 su 5\. Grazie!$")
    )
    # the link of another ticket's mail, in the same tab, opens that ticket, not this one
    second, second_link = await closed_with_its_link(server)
    await page.goto(second_link)
    number = page.locator("#uh-lk-number")
    await expect(number).to_be_visible()
    await expect(number).to_have_value(second)


async def test_at_200_percent_zoom_on_a_phone_every_star_and_digit_is_within_reach(
    server: Server, new_page: NewPage
) -> None:
    # A 390 px phone at 200% zoom lays the page out in 195 CSS pixels: five 48 px stars in one
    # row ran past the box, which hides what overflows, and only 1 to 3 stars could be given.
    number, link = await closed_with_its_link(server)
    page = await new_page(195, 422)
    await page.goto(link)
    await page.locator("#uh-lk-email").fill(EMAIL)
    await page.locator("#uh-lk-email").press("Enter")
    stars = page.get_by_role("group", name="Il tuo voto, da 1 a 5 stelle").get_by_role("button")
    await expect(stars).to_have_count(5)
    box = await page.locator(".uh-rate").bounding_box()
    digits = await page.locator(".uh-tk-heading .uh-tk-num").bounding_box()
    assert box is not None and digits is not None
    for i in range(5):
        star = await stars.nth(i).bounding_box()
        assert star is not None and star["x"] + star["width"] <= box["x"] + box["width"] + 0.5, i
    assert await page.locator(".uh-tk-heading .uh-tk-num").evaluate(
        "(n) => n.scrollWidth <= n.clientWidth"
    )
    await stars.nth(4).click()
    await expect(page.locator(".uh-rate-done")).to_contain_text("5 su 5")
