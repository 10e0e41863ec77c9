"""An operator corrects a student's mistyped email from the ticket's side column, in headless
Chromium against the real server: a wrong value is refused beside its field, with what was
typed kept, and a colleague with the ticket open sees the correction without reloading."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_console import laura_at_a_new_ticket, page_of, sign_in
from tests.conftest import Server
from tests.web.conftest import MARCO, create_account
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def test_the_operator_corrects_the_email_after_a_refusal_beside_the_field(
    server: Server, browser: Browser
) -> None:
    laura, number = await laura_at_a_new_ticket(server, browser, "Conti Giulia")
    await create_account(server, MARCO)
    marco = await page_of(browser)
    await sign_in(marco, server, MARCO)
    await marco.locator(".c-item", has_text=number).click()
    await expect(marco.get_by_role("heading", name=f"Ticket {number}")).to_be_visible()

    await laura.get_by_role("button", name="Correggi contatti").click()
    form = laura.get_by_role("form", name="Correggi i contatti dello studente")
    email = form.get_by_label("Email")
    opened = await server.app[SERVICES].storage.tickets.get(number)
    assert opened is not None
    await expect(email).to_have_value(opened.email)  # prefilled with what is there now
    await expect(form.get_by_label("Cellulare")).to_have_value("+393331234567")
    await email.fill("giulia.conti@gmail.con")
    await form.get_by_label("Cognome e nome").fill("Conti Giulia Maria")
    await form.get_by_role("button", name="Salva contatti").click()

    await expect(form.locator("#c-contact-email-error")).to_contain_text("gmail.com")
    await expect(email).to_have_attribute("aria-invalid", "true")
    # what the operator typed stays, the other field's change too
    await expect(email).to_have_value("giulia.conti@gmail.con")
    await expect(form.get_by_label("Cognome e nome")).to_have_value("Conti Giulia Maria")

    await email.fill("giulia.conti@gmail.com")
    await form.get_by_role("button", name="Salva contatti").click()
    await expect(form).to_be_hidden()
    facts = laura.locator(".c-facts")
    await expect(facts).to_contain_text("giulia.conti@gmail.com")
    await expect(laura.locator(".c-thread")).to_contain_text(
        "Laura Bianchi ha corretto i dati di contatto del ticket: email, cognome e nome."
    )
    # Marco, on the same ticket, sees it without reloading
    await expect(marco.locator(".c-facts")).to_contain_text("giulia.conti@gmail.com")
    await expect(marco.get_by_role("heading", name=f"Ticket {number}")).to_contain_text(
        "Conti Giulia Maria"
    )
    await expect(marco.locator(".c-item", has_text=number)).to_contain_text("Conti Giulia Maria")
    assert not laura.errors and not marco.errors  # type: ignore[attr-defined]


async def test_the_keyboard_goes_back_to_the_button_once_the_form_closes(
    server: Server, browser: Browser
) -> None:
    """Cancel and Save take the form away with the button pressed: the keyboard was dropped at
    the top of the page, and Tab started again from the header."""
    laura, _ = await laura_at_a_new_ticket(server, browser, "Conti Giulia")
    edit = laura.get_by_role("button", name="Correggi contatti")
    form = laura.get_by_role("form", name="Correggi i contatti dello studente")

    await edit.click()
    await form.get_by_role("button", name="Annulla").focus()
    await laura.keyboard.press("Enter")
    await expect(form).to_be_hidden()
    await expect(edit).to_be_focused()

    await laura.keyboard.press("Enter")
    await form.get_by_label("Cognome e nome").fill("Conti Giulia Maria")
    await form.get_by_label("Cognome e nome").press("Enter")
    await expect(laura.locator(".c-thread")).to_contain_text("ha corretto i dati di contatto")
    await expect(edit).to_be_focused()
    assert not laura.errors  # type: ignore[attr-defined]
