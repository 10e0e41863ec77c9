"""An operator with low vision works the console by keyboard: wherever the focus is, its ring
stands out from what surrounds it (WCAG 1.4.11: 3:1), on the light panes as on the dark top
bar."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.test_accessibility import FOCUS_CONTRAST, sign_in
from tests.conftest import Server
from tests.web.conftest import LAURA, create_account, open_ticket

pytestmark = pytest.mark.browser


async def test_the_console_s_focus_ring_stands_out_from_what_surrounds_it(
    server: Server, new_page: NewPage
) -> None:
    await create_account(server, LAURA)
    ticket = await open_ticket(server)
    page = await new_page()
    await sign_in(page, server, LAURA)
    await page.locator(".c-item", has_text=ticket.number).click()
    await expect(page.locator(".c-thread")).to_contain_text("pagoPA")
    weak = {}
    for target in (
        page.get_by_role("button", name="Esci"),  # the top bar
        page.locator(".c-item", has_text=ticket.number),  # the queue
        page.get_by_role("button", name="Chiudi ticket"),  # the ticket's header
        page.get_by_role("button", name="Allega un file"),  # the reply box
        page.get_by_role("button", name="Correggi contatti"),  # the student's column
    ):
        await target.focus()
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")  # focused by keyboard: :focus-visible
        ratio = await page.evaluate(FOCUS_CONTRAST)
        if ratio < 3:
            weak[await target.evaluate("(e) => e.textContent.trim().slice(0, 40)")] = ratio
    assert weak == {}
