"""A student with low vision: Windows high contrast (forced colours) and a zoomed page still
show where the widget is and what it says."""

from __future__ import annotations

import pytest

from tests.browser.conftest import HostSite, NewPage
from tests.browser.widget import Chat
from tests.conftest import Server

pytestmark = pytest.mark.browser


async def test_in_forced_colours_the_floating_panel_has_an_edge(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    """High contrast drops box shadows and paints every background alike: the panel beside a
    department's page, set apart by its shadow alone, ran into the page's own text."""
    page = await new_page(forced_colors="active")
    await page.goto(host_site.page())
    chat = Chat(page)
    await chat.open()
    edge = await chat.panel.evaluate(
        "(p) => { const s = getComputedStyle(p); return [s.borderTopStyle, s.borderLeftStyle]; }"
    )
    assert "none" not in edge, edge
