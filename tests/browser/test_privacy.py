"""Privacy as students and admins meet it in Chromium, against the real server: the notice linked
where the widget first asks for personal data, the student's "download your data", and an
admin's erasure, whose confirmation names the tickets it takes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import HostSite, NewPage
from tests.browser.test_console import page_of, sign_in
from tests.browser.widget import Chat
from tests.conftest import Server
from tests.web.conftest import ANNA, create_account, open_ticket
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def test_the_notice_is_linked_before_the_email_is_asked(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(host_site.page())
    chat = Chat(page)
    await chat.open()
    notice = page.locator(".uh-chat .uh-privacy")
    await expect(notice).to_be_hidden()  # no personal data asked yet: no notice in the way

    await chat.to_contact_data()  # the step that asks for the email, and nothing typed yet

    await expect(chat.field).to_have_attribute("type", "email")
    await expect(chat.field).to_have_value("")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text(
        "I dati che ti chiediamo servono solo a rispondere alla tua richiesta."
    )
    link = notice.get_by_role("link", name="Leggi l'informativa privacy")
    await expect(link).to_have_attribute("href", f"{server.url}/privacy")
    async with page.context.expect_page() as opened:
        await link.click()
    notice_page = await opened.value
    await expect(notice_page.get_by_role("heading", level=1)).to_have_text(
        "Informativa sul trattamento dei dati personali"
    )
    await expect(notice_page.locator("main")).to_contain_text("730 giorni")

    # In English the link leads to the English notice.
    await page.locator(".uh-lang").click()
    await chat.settled()
    await expect(notice.get_by_role("link", name="Read the privacy notice")).to_have_attribute(
        "href", f"{server.url}/privacy?lang=en"
    )
    # Once the contact data is given the notice stays until the last personal question.
    await chat.say("mario.rossi@gmail.com", field="email")
    await expect(notice).to_be_visible()


async def test_the_next_person_at_a_shared_computer_finds_no_ticket_nor_its_contact_data(
    server: Server, new_page: NewPage
) -> None:
    """A library's computer: a student opens a ticket in the chat and closes the tab. Whoever
    opens the help desk there next must not read the student's email and phone in the chat,
    nor open the ticket from its card (its access lasts a day)."""
    page = await new_page()
    await page.goto(f"{server.url}/")
    chat = Chat(page)
    await chat.to_attachment_step()
    await chat.choose("Continua senza allegato")
    await chat.choose("Invia la richiesta")
    await expect(page.locator(".uh-tk-entry .uh-tk-num")).to_have_text(re.compile(r"^\d{6}$"))
    # the student's own tab still resumes the chat, as after a reload
    await page.reload()
    await chat.settled()
    await expect(page.locator(".uh-tk-entry .uh-tk-num")).to_have_count(1)
    await page.close()

    later = await page.context.new_page()
    await later.goto(f"{server.url}/")
    await Chat(later).settled()
    await expect(later.locator(".uh-log")).to_contain_text("Ciao!")
    await expect(later.locator(".uh-log")).not_to_contain_text("mario.rossi@gmail.com")
    await expect(later.locator(".uh-log")).not_to_contain_text("1234567")
    await expect(later.locator(".uh-tk-entry")).to_have_count(0)


async def test_a_student_downloads_their_data_from_the_ticket_page(
    server: Server, new_page: NewPage, tmp_path: Path
) -> None:
    ticket = await open_ticket(server, message="Non trovo il bollettino della seconda rata.")
    page = await new_page(accept_downloads=True)
    await page.goto(f"{server.url}/ticket")
    lookup = page.locator(".uh-form")
    await expect(lookup.get_by_role("link", name="Leggi l'informativa privacy")).to_be_visible()
    await page.locator("#uh-lk-email").fill(ticket.email.upper())
    await page.locator("#uh-lk-number").fill(ticket.number)
    await page.get_by_role("button", name="Cerca il ticket").click()
    await expect(page.locator(".uh-thread")).to_contain_text("bollettino della seconda rata")

    async with page.expect_download() as started:
        await page.get_by_role("button", name="Scarica i tuoi dati").click()
    download = await started.value
    assert download.suggested_filename == f"dati-personali-{ticket.number}.json"
    saved = tmp_path / "export.json"
    await download.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["email"] == ticket.email
    assert [t["number"] for t in data["tickets"]] == [ticket.number]
    [message] = data["tickets"][0]["messages"]
    assert message["body"] == "Non trovo il bollettino della seconda rata."


async def test_an_admin_erases_a_student_after_reading_what_it_takes(
    server: Server, browser: Browser
) -> None:
    await create_account(server, ANNA)
    first = await open_ticket(server, name="Esposito Chiara", message="Prima richiesta di Chiara")
    second = await open_ticket(server, email=first.email.upper(), name="Esposito Chiara",
                               message="Seconda richiesta di Chiara")
    other = await open_ticket(server, name="Bruno Luca", message="La richiesta di Luca")
    admin = await page_of(browser)
    await sign_in(admin, server, ANNA)
    await admin.get_by_role("combobox", name="Assegnazione").select_option("all")
    await admin.locator(".c-item", has_text=first.number).click()
    await expect(admin.locator(".c-thread")).to_contain_text("Prima richiesta di Chiara")

    # From the ticket, straight to the erasure of its student, the address filled in.
    await admin.get_by_role("button", name="Cancella i dati dello studente").click()
    await expect(admin.get_by_label("Email dello studente")).to_have_value(first.email)
    await admin.get_by_role("button", name="Cerca i suoi ticket").click()
    warning = admin.locator("#c-erase-says")
    await expect(warning).to_contain_text(
        f"Verranno cancellati per sempre i dati di 2 ticket di {first.email}: "
    )
    for number in (first.number, second.number):
        await expect(warning).to_contain_text(number)
    await expect(warning).to_contain_text("L'operazione non si può annullare.")
    # Nothing has happened yet: the admin has only read what it would take.
    summary = await server.app[SERVICES].storage.tickets.summary(first.number)
    assert summary is not None and summary.email == first.email
    await admin.get_by_role("button", name="Cancella i dati di 2 ticket").click()
    await expect(admin.get_by_role("status").filter(has_text="Dati cancellati")).to_have_text(
        "Dati cancellati: 2 ticket."
    )

    await admin.get_by_role("button", name="← Torna alla coda").click()
    queue = admin.locator(".c-list")
    await expect(queue).to_contain_text(other.number)
    for number in (first.number, second.number):
        await expect(queue).not_to_contain_text(number)
    assert admin.errors == []  # type: ignore[attr-defined]
