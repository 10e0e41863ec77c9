"""An admin's season with the team, in the console: colleagues away with tickets in hand."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from storage import AuditEntry
from tests.browser.conftest import NewPage
from tests.browser.test_console import answered, page_of, sign_in
from tests.conftest import Server
from tests.web.conftest import ANNA, LAURA, MARCO, Console, Opened, create_account, open_ticket
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser


async def marco_holds(server: Server, count: int) -> list[Opened]:
    """Anna (admin) and Marco, who takes `count` new tickets."""
    await create_account(server, ANNA)
    await create_account(server, MARCO)
    marco = Console(server)
    try:
        assert (await marco.login(MARCO))[0] == 200
        held = [await open_ticket(server) for _ in range(count)]
        for ticket in held:
            take = f"/api/console/tickets/{ticket.number}/assign"
            assert (await marco.post(take, {"username": ""}))[0] == 200
    finally:
        await marco.close()
    return held


async def team_page(browser: Browser, server: Server) -> tuple[Page, Locator]:
    """Anna's console on the team page, and Marco's row in it."""
    anna = await page_of(browser)
    await sign_in(anna, server, ANNA)
    await anna.get_by_role("button", name="Operatori", exact=True).click()
    return anna, anna.get_by_role("row", name=re.compile(MARCO.username))


async def test_an_admin_sees_a_colleague_s_open_tickets_and_puts_them_back_in_the_queue(
    server: Server, browser: Browser
) -> None:
    held = await marco_holds(server, 2)
    anna, row = await team_page(browser, server)
    await expect(row).to_contain_text("2 ticket aperti in carico")
    release = anna.get_by_role("button", name=f"Rimetti in coda i suoi ticket · {MARCO.username}")
    asked = await answered(anna, release, accept=True)
    assert "2 ticket aperti di Marco Verdi" in asked.message
    done = anna.get_by_role("status").filter(has_text="2 ticket di mverdi rimessi")
    await expect(done).to_be_focused()
    await expect(row).not_to_contain_text("in carico")
    await expect(release).to_have_count(0)
    for ticket in held:
        stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
        assert stored is not None and stored.operator is None
    assert anna.errors == []  # type: ignore[attr-defined]


async def test_one_ticket_put_back_is_told_in_the_singular(
    server: Server, browser: Browser
) -> None:
    await marco_holds(server, 1)
    anna, row = await team_page(browser, server)
    await expect(row).to_contain_text("1 ticket aperto in carico")
    release = anna.get_by_role("button", name=f"Rimetti in coda i suoi ticket · {MARCO.username}")
    asked = await answered(anna, release, accept=True)
    assert "il ticket aperto di Marco Verdi?" in asked.message
    done = anna.get_by_role("status").filter(has_text="1 ticket di mverdi rimesso tra")
    await expect(done).to_be_focused()
    await anna.get_by_role("button", name=f"Cronologia · {MARCO.username}").click()
    await expect(row.get_by_role("listitem")).to_contain_text(
        [re.compile(r"· aneri · 1 ticket rimesso in coda$"), re.compile(r"· accesso$")]
    )
    assert anna.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("lang", "hint"),
    [("it", "Password dimenticata? Chiedi a un amministratore"), ("en", "Forgot your password?")],
)
async def test_the_sign_in_page_says_whom_to_ask_for_a_forgotten_password(
    server: Server, browser: Browser, lang: str, hint: str
) -> None:
    page = await page_of(browser)
    await page.goto(f"{server.url}/console?lang={lang}")
    await expect(page.get_by_text(hint)).to_be_visible()


async def test_the_history_of_an_account_says_who_promoted_it(
    server: Server, browser: Browser
) -> None:
    await create_account(server, ANNA)
    await create_account(server, MARCO)
    anna = await page_of(browser)
    await sign_in(anna, server, ANNA)
    await anna.get_by_role("button", name="Operatori", exact=True).click()
    row = anna.get_by_role("row", name=re.compile(MARCO.username))
    await row.get_by_role("combobox").select_option("admin")
    await anna.get_by_role("button", name=f"Salva · {MARCO.username}").click()
    await expect(anna.get_by_role("status").filter(has_text="aggiornato")).to_be_focused()
    await anna.get_by_role("button", name=f"Cronologia · {MARCO.username}").click()
    title = anna.get_by_role("heading", name=f"Cronologia di {MARCO.username}")
    await expect(title).to_be_focused()
    await expect(row.get_by_role("listitem")).to_contain_text(
        [re.compile(r"· aneri · ruolo: Operatore → Amministratore$")]
    )
    assert anna.errors == []  # type: ignore[attr-defined]


async def test_an_operator_chooses_their_own_password(server: Server, new_page: NewPage) -> None:
    await create_account(server, MARCO)
    page = await new_page()
    await sign_in(page, server, MARCO)
    await page.get_by_role("button", name="La tua password").click()
    await expect(page.get_by_role("heading", name="La tua password")).to_be_visible()
    await page.get_by_label("Password attuale").fill(MARCO.password)
    await page.get_by_label("Nuova password", exact=True).fill("solo-mia-password")
    await page.get_by_label("Ripeti la nuova password").fill("solo-mia-passwort")
    await page.get_by_role("button", name="Cambia password").click()
    await expect(page.get_by_role("alert")).to_have_text("Le due nuove password non coincidono.")

    await page.get_by_label("Ripeti la nuova password").fill("solo-mia-password")
    await page.get_by_label("Password attuale").fill("non-e-questa")
    await page.get_by_role("button", name="Cambia password").click()
    await expect(page.get_by_role("alert")).to_contain_text("La password attuale non è corretta.")

    await page.get_by_label("Password attuale").fill(MARCO.password)
    await page.get_by_role("button", name="Cambia password").click()
    # signed out, told why; the new password opens the console
    await expect(page.get_by_text("Password cambiata: accedi con quella nuova.")).to_be_visible()
    await page.get_by_label("Nome utente").fill(MARCO.username)
    await page.get_by_label("Password").fill("solo-mia-password")
    await page.get_by_role("button", name="Accedi").click()
    await expect(page.get_by_role("button", name="Esci")).to_be_visible()


async def test_the_history_reads_the_changes_yesterday_s_release_wrote(
    server: Server, browser: Browser
) -> None:
    """Entries written before the values were kept (74dc0af and earlier) name the field alone:
    the head of the office reads what changed in words, not the field's code."""
    await create_account(server, ANNA)
    await create_account(server, MARCO)
    audit = server.app[SERVICES].storage.audit
    for field in ("role", "active", "name"):
        await audit.append(AuditEntry(actor="aneri", action="operator.updated",
                                      target=MARCO.username, detail={"changes": [field]}))
    anna = await page_of(browser)
    await sign_in(anna, server, ANNA)
    await anna.get_by_role("button", name="Operatori", exact=True).click()
    row = anna.get_by_role("row", name=re.compile(MARCO.username))
    await anna.get_by_role("button", name=f"Cronologia · {MARCO.username}").click()
    await expect(row.get_by_role("listitem")).to_contain_text([
        re.compile(r"· aneri · nome cambiato$"),
        re.compile(r"· aneri · disattivato o riattivato$"),
        re.compile(r"· aneri · ruolo cambiato$"),
    ])
    assert anna.errors == []  # type: ignore[attr-defined]


async def test_saving_a_name_does_not_undo_the_role_another_admin_gave_meanwhile(
    server: Server, browser: Browser
) -> None:
    await create_account(server, ANNA)
    await create_account(server, MARCO)
    laura = replace(LAURA, role="admin")
    await create_account(server, laura)
    anna, row = await team_page(browser, server)
    other_admin = Console(server)
    try:
        # Laura, in her own console, promotes Marco while Anna's page still shows him as an
        # operator; Anna then corrects his name.
        assert (await other_admin.login(laura))[0] == 200
        promote = f"/api/console/operators/{MARCO.username}"
        assert (await other_admin.post(promote, {"role": "editor"}))[0] == 200
    finally:
        await other_admin.close()
    name = row.get_by_role("textbox", name=f"Nome visibile agli studenti · {MARCO.username}")
    await name.fill("Marco D'Angelo Verdi")
    await anna.get_by_role("button", name=f"Salva · {MARCO.username}").click()
    await expect(anna.get_by_role("status").filter(has_text="aggiornato")).to_be_focused()
    stored = await server.app[SERVICES].storage.operators.get(MARCO.username)
    assert stored is not None
    assert (stored.name, stored.role) == ("Marco D'Angelo Verdi", "editor")
    assert anna.errors == []  # type: ignore[attr-defined]
