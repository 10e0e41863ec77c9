"""Browser fixtures: Debian's Chromium, driven by Playwright, against the real server on loopback.

Every browser test also gets a foreign host page: a second aiohttp app on its own port, a stand-in
for a university department's site that embeds the widget with one script tag. The help desk
allows exactly that origin, as HELPDESK_ALLOWED_ORIGINS would in production.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import CHROMIUM_ARGS, Server, free_port, make_config, start_server

DESKTOP = 1280
PHONE = 375
HEIGHT = {DESKTOP: 800, PHONE: 740}
# Up to this width a page is a phone: a touch screen, no mouse (widget.css switches there too).
PHONE_MAX = 480

NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Pages:
    """Opens pages in fresh browser contexts (no shared localStorage) and remembers every
    uncaught script error, so that a test fails when the widget throws, even unnoticed."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def open(self, width: int = DESKTOP, height: int | None = None, **options: Any) -> Page:
        if width <= PHONE_MAX:
            options = {"has_touch": True, "is_mobile": True, **options}
        context = await self.browser.new_context(
            viewport={"width": width, "height": height or HEIGHT.get(width, 800)},
            locale="it-IT",
            **options,
        )
        context.set_default_timeout(5000)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page


@pytest.fixture
async def pages(browser: Browser) -> AsyncIterator[Pages]:
    opened = Pages(browser)
    yield opened
    for context in opened.contexts:
        await context.close()
    assert not opened.errors, opened.errors


@pytest.fixture
async def new_page(pages: Pages) -> NewPage:
    """new_page(width=1280, height=None, **context_options) -> a blank page; a phone-sized one
    is a touch screen."""
    return pages.open


# --- the foreign host page ------------------------------------------------------------------

HOST_PAGE = """<!doctype html>
<html lang="it"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dipartimento di Lettere</title>
<style>{css}</style></head>
<body><h1>Dipartimento di Lettere</h1>
<p>Orari della segreteria didattica e avvisi per le matricole.</p>
<button type="button" id="host-button">Un pulsante della pagina</button>
{scripts}
</body></html>
"""

# What a careless department stylesheet may do to everything on its page.
HOSTILE_CSS = """
* { color: red !important; font-size: 40px !important; }
html { font-size: 10px; } body { font-family: "Comic Sans MS", cursive; letter-spacing: 3px; }
button { background: lime !important; border: 5px dashed red; text-transform: uppercase; }
div, p { padding: 20px; border: 2px solid orange; }
.uh-panel, #uh-panel, .uh-launcher { display: none !important; }
"""


CONSENT_CSS = """
#consent { position: fixed; left: 0; right: 0; bottom: 0; height: 120px; z-index: 2147483631;
           background: #222; color: #fff; }
"""

SEARCH_SHORTCUT = """<input id="site-search" aria-label="Cerca nel sito"><script>
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && !["INPUT", "TEXTAREA"].includes(e.target.tagName)) {
    e.preventDefault();
    document.getElementById("site-search").focus();
  }
});
</script>"""

# README.md: the policy name such a page lists for us
TRUSTED_TYPES = "require-trusted-types-for 'script'; trusted-types unipg-helpdesk"


def documented_csp(server_url: str) -> str:
    """A locked-down page's policy with what README.md tells the university to add for us."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^script-src https://HOST;.*$", readme, re.MULTILINE)
    assert found, "README.md: the Content-Security-Policy an embedding page needs"
    ours = found.group(0).replace("wss://HOST", "ws://" + server_url.split("://")[1])
    return "default-src 'self'; " + ours.replace("https://HOST", server_url)


@dataclass
class HostSite:
    url: str

    def page(self, name: str = "plain") -> str:
        return f"{self.url}/{name}"


@pytest.fixture
def host_port() -> int:
    return free_port()


@pytest.fixture
async def server(data_dir: Path, host_port: int) -> AsyncIterator[Server]:
    """The real help desk, which also allows the foreign host page's origin."""
    config = make_config(data_dir, allowed_origins=(f"http://127.0.0.1:{host_port}",))
    running = await start_server(config)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def host_site(server: Server, host_port: int) -> AsyncIterator[HostSite]:
    tag = f'<script src="{server.url}/widget.js" defer></script>'
    pages = {
        "plain": HOST_PAGE.format(css="", scripts=tag),
        # a snippet pasted twice, as happens when a page template and an editor both add it
        "twice": HOST_PAGE.format(css="", scripts=tag + "\n" + tag),
        "hostile": HOST_PAGE.format(css=HOSTILE_CSS, scripts=tag),
        # a page whose bottom-right corner is taken: the launcher moved left and up
        "cornered": HOST_PAGE.format(
            css="", scripts=tag.replace("defer>", 'defer data-position="left" data-offset="80">')
        ),
        # an element whose id is the widget's global name: browsers make it a window property
        "named": HOST_PAGE.format(css="", scripts='<div id="unipgHelpdesk"></div>' + tag),
        # greyscale for a day of mourning: a filter on the body, on a page longer than the screen
        "greyed": HOST_PAGE.format(
            css="body { filter: grayscale(1); min-height: 4000px; }", scripts=tag
        ),
        # a page longer than the screen
        "long": HOST_PAGE.format(css="body { min-height: 4000px; }", scripts=tag),
        # a locked-down page: no inline style of its own, the policy of documented_csp
        "strict": HOST_PAGE.format(css="", scripts=tag).replace("<style></style>", ""),
        # a site search on "/", as search plugins do: it leaves alone keys typed in a text box
        "shortcut": HOST_PAGE.format(css="", scripts=SEARCH_SHORTCUT + tag),
        # a page that enforces Trusted Types and lists the policies it allows
        "trusted": HOST_PAGE.format(css="", scripts=tag),
        # a consent banner over the page's bottom edge, as high as Cookiebot puts its own; the
        # launcher moved above it as README.md says
        "banner": HOST_PAGE.format(
            css=CONSENT_CSS,
            scripts='<div id="consent">Cookie</div>'
            + tag.replace("defer>", 'defer data-offset="130">'),
        ),
    }

    policies = {"strict": lambda: documented_csp(server.url), "trusted": lambda: TRUSTED_TYPES}

    async def serve(request: web.Request) -> web.Response:
        html = pages.get(request.match_info["name"])
        if html is None:
            raise web.HTTPNotFound()
        policy = policies.get(request.match_info["name"])
        headers = {"Content-Security-Policy": policy()} if policy else {}
        return web.Response(text=html, content_type="text/html", headers=headers)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", host_port).start()
    try:
        yield HostSite(f"http://127.0.0.1:{host_port}")
    finally:
        await runner.cleanup()
