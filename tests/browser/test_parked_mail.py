"""Mail that could not be delivered, as an admin handles it in the console: once the cause is
mended, every parked mail goes again with one click, and the list says so."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.test_console import sign_in
from tests.conftest import Server
from tests.web.conftest import ANNA, create_account, open_ticket
from tests.web.console.test_api import park_the_opening_mail

pytestmark = pytest.mark.browser


async def test_an_admin_retries_every_parked_mail_at_once(
    server: Server, new_page: NewPage
) -> None:
    await create_account(server, ANNA)
    for _ in range(2):
        await park_the_opening_mail(server, (await open_ticket(server)).number)

    page = await new_page()
    await sign_in(page, server, ANNA)
    await page.get_by_role("button", name="Posta non recapitata").click()
    await expect(page.locator("tbody tr")).to_have_count(2)
    await page.get_by_role("button", name="Riprova tutte (2)").click()
    await expect(page.locator("p.c-ok[role=status]")).to_have_text(
        "2 email rimesse in coda: partiranno a breve."
    )
    await expect(page.get_by_text("Nessuna email in sospeso.")).to_be_visible()


async def test_one_parked_mail_retried_is_said_in_the_singular(
    server: Server, new_page: NewPage
) -> None:
    await create_account(server, ANNA)
    await park_the_opening_mail(server, (await open_ticket(server)).number)

    page = await new_page()
    await sign_in(page, server, ANNA)
    await page.get_by_role("button", name="Posta non recapitata").click()
    await page.get_by_role("button", name="Riprova tutte (1)").click()
    await expect(page.locator("p.c-ok[role=status]")).to_have_text(
        "1 email rimessa in coda: partirà a breve."
    )
