"""The widget on someone else's page: one script tag on a department's site, another origin."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, HEIGHT, PHONE, HostSite, NewPage
from tests.browser.widget import HOST_ID, Chat, press
from tests.conftest import Server

pytestmark = pytest.mark.browser

# What the student sees of the widget, as numbers and colours: equal on a hostile page.
LOOKS = """() => {
  const root = document.getElementById("unipg-helpdesk-widget").shadowRoot;
  const look = (sel) => {
    const el = root.querySelector(sel);
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return [sel, s.color, s.fontSize, s.fontFamily, s.fontWeight, s.lineHeight, s.letterSpacing,
            s.textTransform, s.backgroundColor, s.display, Math.round(r.width),
            Math.round(r.height)];
  };
  return [".uh-launcher", ".uh-launcher-text", ".uh-panel", ".uh-title", ".uh-log .uh-bubble",
          ".uh-option", ".uh-field:not([hidden])", ".uh-send"].map(look);
}"""


async def open_embedded(page: Page, url: str) -> Chat:
    await page.goto(url)
    chat = Chat(page)
    await expect(chat.launcher).to_be_visible()
    await chat.open()
    return chat


async def test_the_script_tag_adds_one_launcher_that_opens_and_closes(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(host_site.page("twice"))
    chat = Chat(page)
    await expect(chat.launcher).to_be_visible()
    assert await page.locator(f"#{HOST_ID}").count() == 1
    assert await chat.launcher.count() == 1
    await expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    await expect(chat.panel).to_be_hidden()

    await chat.open()
    await expect(chat.panel).to_be_visible()
    await expect(chat.panel).to_have_attribute("role", "dialog")
    await chat.expect_said("Scrivimi la tua domanda")
    # a panel beside the page on a desktop, not over all of it
    box = await chat.panel.bounding_box()
    assert box is not None and box["width"] < DESKTOP / 2

    await page.keyboard.press("Escape")
    await expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    await expect(chat.panel).to_be_hidden()
    assert (await chat.focused()).startswith("button.uh-launcher")
    # the second copy stopped at once: it loaded no second Socket.IO client either
    assert await page.locator("script[src$='socket.io.min.js']").count() == 1


async def test_a_page_element_named_like_the_widget_does_not_stop_it(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page()
    chat = await open_embedded(page, host_site.page("named"))
    await chat.expect_said("Scrivimi la tua domanda")


async def test_the_host_pages_css_does_not_change_the_widget(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    looks: dict[str, list[Any]] = {}
    for name in ("plain", "hostile"):
        page = await new_page()
        await open_embedded(page, host_site.page(name))
        looks[name] = await page.evaluate(LOOKS)
        if name == "hostile":
            # the page's own rules did apply to the page itself
            heading = await page.locator("h1").evaluate("(h) => getComputedStyle(h).fontSize")
            assert heading == "40px"
    assert looks["hostile"] == looks["plain"]
    assert looks["plain"][0][1] != "rgb(255, 0, 0)"


async def test_under_480_px_the_panel_is_full_screen_and_modal(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page(PHONE)
    chat = await open_embedded(page, host_site.page())
    box = await chat.panel.bounding_box()
    assert box == {"x": 0, "y": 0, "width": PHONE, "height": HEIGHT[PHONE]}
    await expect(chat.panel).to_have_attribute("aria-modal", "true")
    # the launcher is not left floating over the conversation
    await expect(chat.launcher).to_be_hidden()
    # Tab stays inside the panel: round and round its controls, never out onto the page
    seen = set()
    for _ in range(15):
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == HOST_ID
        seen.add(await chat.focused())
    assert any("Chiudi" in f for f in seen) and any("Apri un nuovo ticket" in f for f in seen)
    await press(page, page.locator(".uh-header").get_by_role("button", name="Chiudi"))
    await expect(chat.launcher).to_be_visible()
    await expect(chat.launcher).to_have_attribute("aria-expanded", "false")


@pytest.mark.parametrize(("width", "height"), [(740, 360), (640, 400)])  # landscape; zoom 200%
async def test_on_a_short_screen_the_panel_is_full_screen_too(
    server: Server, host_site: HostSite, new_page: NewPage, width: int, height: int
) -> None:
    page = await new_page(width, height)
    chat = await open_embedded(page, host_site.page())
    box = await chat.panel.bounding_box()
    assert box == {"x": 0, "y": 0, "width": width, "height": height}
    await expect(chat.panel).to_have_attribute("aria-modal", "true")


async def test_the_page_can_move_the_launcher_out_of_its_corner(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    for width in (DESKTOP, PHONE):
        page = await new_page(width)
        await page.goto(host_site.page("cornered"))
        chat = Chat(page)
        await expect(chat.launcher).to_be_visible()
        box = await chat.launcher.bounding_box()
        assert box is not None
        assert box["x"] == 20 and box["y"] + box["height"] == HEIGHT[width] - 20 - 80 + (
            6 if width == PHONE else 0  # 14 px from the edge on a phone
        ), box
        if width == DESKTOP:
            await chat.open()
            panel = await chat.panel.bounding_box()
            assert panel is not None and panel["x"] == 20
            assert panel["y"] + panel["height"] == HEIGHT[width] - 88 - 80


async def test_escape_on_the_host_page_closes_the_panel_beside_it(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    """WCAG 2.4.11: the panel must not stay over what has the focus out on the page."""
    page = await new_page()
    chat = await open_embedded(page, host_site.page())
    await page.locator("#host-button").focus()
    await page.keyboard.press("Escape")
    await expect(chat.panel).to_be_hidden()
    await expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    await expect(page.locator("#host-button")).to_be_focused()  # the focus stays on the page


async def test_at_400_percent_zoom_the_conversation_keeps_room_to_be_read(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    """1280 x 1024 at 400%: 320 x 256 CSS pixels, the panel full screen."""
    page = await new_page(320, 256)
    chat = await open_embedded(page, host_site.page())
    await chat.settled()
    room = await page.locator(".uh-log").evaluate("(log) => log.clientHeight")
    assert room >= 60, room


async def test_the_open_panel_is_above_the_pages_consent_banner(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    """Consent banners sit just under the highest z-index: on a phone the full-screen panel
    must not leave its text box beneath one."""
    page = await new_page(PHONE)
    chat = await open_embedded(page, host_site.page("banner"))
    box = await chat.field.bounding_box()
    assert box is not None and box["y"] + box["height"] > HEIGHT[PHONE] - 120  # under the banner
    on_top = await page.evaluate(
        """([x, y]) => {
          const host = document.elementFromPoint(x, y);
          return host.shadowRoot ? host.shadowRoot.elementFromPoint(x, y).id : host.id;
        }""",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top == "uh-text"


async def test_scrolling_the_full_screen_panel_leaves_the_page_behind_it_still(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page(PHONE)
    await page.goto(host_site.page("long"))
    await page.evaluate("window.scrollTo(0, 1000)")
    chat = Chat(page)
    await chat.open()
    await chat.settled()
    for where in (page.locator(".uh-header"), chat.log):
        box = await where.bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        await page.mouse.wheel(0, 400)
        await page.mouse.wheel(0, -900)
    await page.wait_for_timeout(300)  # scrolling is asynchronous
    assert await page.evaluate("window.scrollY") == 1000


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
async def test_a_filter_on_the_pages_body_leaves_the_widget_on_the_screen(
    server: Server, host_site: HostSite, new_page: NewPage, width: int
) -> None:
    page = await new_page(width)
    await page.goto(host_site.page("greyed"))
    await page.evaluate("window.scrollTo(0, 1000)")
    chat = Chat(page)
    await expect(chat.launcher).to_be_in_viewport()
    await chat.open()
    box = await chat.panel.bounding_box()
    assert box is not None
    if width == PHONE:
        assert box == {"x": 0, "y": 0, "width": PHONE, "height": HEIGHT[PHONE]}
    else:
        assert box["y"] + box["height"] == HEIGHT[width] - 88


async def test_a_page_with_the_documented_content_security_policy_gets_the_whole_widget(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    """README.md says what a locked-down page adds to its policy: with exactly that, nothing of
    ours is blocked, and the chat runs over a WebSocket, not the slower long-polling."""
    page = await new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    chat = await open_embedded(page, host_site.page("strict"))
    await chat.expect_said("Scrivimi la tua domanda")
    # styled: the stylesheet came in (an unstyled launcher would be inline, not fixed)
    await expect(chat.launcher).to_have_css("position", "fixed")
    for _ in range(50):  # Socket.IO upgrades to a WebSocket once polling has connected
        if any("/socket.io/" in u for u in sockets):
            break
        await page.wait_for_timeout(100)
    assert [u for u in sockets if "/socket.io/" in u] and blocked == [], (sockets, blocked)


async def test_the_pages_keyboard_shortcuts_leave_the_students_typing_alone(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    page = await new_page()
    chat = await open_embedded(page, host_site.page("shortcut"))
    await press(page, chat.field)
    await page.keyboard.type("Scade il 15/09?")
    await expect(chat.field).to_have_value("Scade il 15/09?")
    await expect(page.locator("#site-search")).to_have_value("")
    # away from our boxes the page's shortcut still works
    await page.locator("#host-button").focus()
    await page.keyboard.press("/")
    await expect(page.locator("#site-search")).to_be_focused()


async def test_a_page_that_enforces_trusted_types_gets_the_chat(
    server: Server, host_site: HostSite, new_page: NewPage
) -> None:
    """There a script's address must come from a policy: the widget loads Socket.IO through
    its own, the one README.md tells the page to allow."""
    page = await new_page()
    chat = await open_embedded(page, host_site.page("trusted"))
    await chat.expect_said("Scrivimi la tua domanda")
