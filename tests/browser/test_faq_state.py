"""An editor's broken FAQ edit, as the console's FAQ report shows it: headless Chromium against
a real server whose FAQ folder is a private copy, edited while it runs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import NewPage
from tests.browser.test_accessibility import Audit
from tests.browser.test_console import sign_in
from tests.conftest import Server
from tests.web.conftest import ELENA, create_account
from tests.web.console.test_faq_status import FEES
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

async def reloaded(server: Server, *, refused: bool) -> None:
    """Until the server has read the edited folder (it polls every 0.2 s in tests)."""
    live = server.app[SERVICES].faq
    for _ in range(100):
        if (live.refused is not None) == refused:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not reload the FAQ folder")


async def test_the_editor_sees_a_refused_edit_on_the_report_until_it_is_fixed(
    faq_server: Server, faq_dir: Path, new_page: NewPage
) -> None:
    await create_account(faq_server, ELENA)
    elena = await new_page()
    await sign_in(elena, faq_server, ELENA)
    await elena.get_by_role("button", name="Report FAQ").click()
    state = elena.locator(".c-faq-state")
    await expect(state).to_contain_text(re.compile(r"^FAQ in uso: \d+, caricate il "))
    banner = elena.get_by_role("alert")
    await expect(banner).to_have_count(0)

    # a comma goes missing in a save: the server refuses the file, the report says so
    good = (faq_dir / FEES).read_text()
    at = good.index('",', good.index('"id"'))
    (faq_dir / FEES).write_text(good[: at + 1] + good[at + 2 :])
    await reloaded(faq_server, refused=True)
    await elena.get_by_role("button", name="7 giorni").click()
    await expect(banner).to_contain_text(
        "L'ultima modifica alle FAQ non è stata pubblicata: il server l'ha scartata il"
    )
    line = banner.get_by_role("listitem")
    await expect(line).to_have_count(1)
    await expect(line).to_contain_text("faq/tasse-pagamenti.json: -: -: JSON non valido alla riga")
    await expect(line).to_contain_text("manca una virgola (spesso alla fine della riga prima)")
    await expect(banner).to_contain_text("La versione precedente resta online")
    await expect(state).to_have_count(1)
    audit = Audit(faq_server)
    await audit.check(elena, "FAQ report with a refused edit")
    assert audit.found == []

    # fixed: "Controlla di nuovo" finds it in use, and the banner is gone
    (faq_dir / FEES).write_text(good)
    await reloaded(faq_server, refused=False)
    await banner.get_by_role("button", name="Controlla di nuovo").click()
    await expect(state).to_contain_text(re.compile(r"^FAQ in uso: \d+, caricate il "))
    await expect(banner).to_have_count(0)
