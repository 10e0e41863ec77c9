"""The console in headless Chromium: the operator on a ticket whose student's address the real
SMTP server (aiosmtpd on loopback) refuses reads that the mail did not arrive, and how else to
reach the student."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_console import page_of, sign_in
from tests.conftest import Server, make_config, start_server
from tests.web.conftest import LAURA, create_account, open_ticket
from tests.web.desk.test_mail import SmtpServer, free_port

pytestmark = pytest.mark.browser

MISTYPED = "mario.rosi@example.org"


@pytest.fixture
async def server(data_dir: Path) -> AsyncIterator[Server]:
    smtp = SmtpServer(free_port())
    smtp.inbox.refuse.add(MISTYPED)
    await smtp.start()
    config = make_config(
        data_dir, smtp_host="127.0.0.1", smtp_port=smtp.port, mail_max_attempts=1
    )
    running = await start_server(config)
    try:
        yield running
    finally:
        await running.stop()
        await smtp.stop()


async def test_the_operator_reads_that_the_student_s_mail_did_not_arrive(
    server: Server, browser: Browser
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
