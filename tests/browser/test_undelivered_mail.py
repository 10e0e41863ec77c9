"""The console in headless Chromium: the operator on a ticket whose student's address the real
SMTP server (aiosmtpd on loopback) refuses reads that the mail did not arrive, and how else to
reach the student."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_console import page_of, sign_in
from tests.conftest import Server
from tests.web.conftest import LAURA, create_account, open_ticket

# `server` and its `smtp`, which refuses the mistyped address, as the API's tests have them
from tests.web.console.test_undelivered_mail import MISTYPED, server, smtp  # noqa: F401

pytestmark = pytest.mark.browser


async def test_the_operator_reads_that_the_student_s_mail_did_not_arrive(
    server: Server, browser: Browser  # noqa: F811 - the fixture imported above
) -> None:
    await create_account(server, LAURA)
    ticket = await open_ticket(server, email=MISTYPED, phone="+393471234567")
    laura = await page_of(browser)
    await sign_in(laura, server, LAURA)
    warning = laura.locator(".c-warnings .c-warn-strong")
    for _ in range(3):  # the mail is refused within moments of the ticket's opening
        await laura.locator(".c-item", has_text=ticket.number).click()
        if await warning.count():
            break
        await laura.wait_for_timeout(1000)
    await expect(warning).to_contain_text(f"forse l'indirizzo {MISTYPED} è sbagliato")
    await expect(warning).to_contain_text("+393471234567")
    await expect(warning).to_contain_text("550 5.1.1 No such mailbox")
    hint = laura.locator(".c-hint")
    await expect(hint).to_contain_text("le email a questo indirizzo non arrivano")
    assert laura.errors == []  # type: ignore[attr-defined]
