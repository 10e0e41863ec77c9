"""A student's hands on the widget: what they click, type and read, through real input events.

Playwright's CSS locators pierce the widget's open shadow root, so `.uh-…` selectors reach inside
it; nothing here calls the widget's own functions.
"""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

HOST_ID = "unipg-helpdesk-widget"

# The smallest PNG the server recognises by content.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64

# The widget waits for nothing: no pending bubble of ours, no "typing", controls enabled again.
SETTLED = """() => {
  const host = document.getElementById("unipg-helpdesk-widget");
  const root = host && host.shadowRoot;
  if (!root || !root.querySelector(".uh-log .uh-entry")) return false;
  const busy = [...root.querySelectorAll(".uh-option, .uh-send, .uh-filebtn")]
    .some((b) => b.getAttribute("aria-disabled") === "true");
  return !busy && !root.querySelector(".uh-pending")
    && root.querySelector(".uh-chat .uh-typing").hidden
    && root.querySelector(".uh-offline").hidden;
}"""

# Whatever has the focus, seen through the shadow root: "tag.class|text or aria-label".
FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return "";
  const name = el.getAttribute("aria-label") || el.textContent || el.placeholder || "";
  return el.tagName.toLowerCase() + "." + el.className + "|" + name.trim().slice(0, 60);
}"""


async def press(page: Page, target: Locator) -> None:
    """A tap on a phone (see tests/browser/conftest.py), a click elsewhere."""
    if await page.evaluate("matchMedia('(pointer: coarse)').matches"):
        await target.tap()
    else:
        await target.click()


# `python -m bot.faq search` puts it in faq_data's middle band: three FAQs on paying, none sure.
UNSURE = "non riesco a pagare"
# The button that goes on to the ticket after sure suggestions, and after hedged ones.
REFUSE = ("No, ho ancora bisogno di aiuto", "Apri un ticket")


class Chat:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator(".uh-launcher")
        self.panel = page.locator(".uh-panel")
        self.log = page.locator(".uh-log")
        self.options = page.locator(".uh-options")
        self.alert = page.locator(".uh-chat .uh-alert")
        self.field = page.locator(".uh-chat .uh-field:visible")
        self.send = page.locator(".uh-send")

    def option(self, label: str) -> Locator:
        return self.options.get_by_role("button", name=label, exact=True)

    def bot(self) -> Locator:
        return self.page.locator(".uh-log .uh-bot")

    async def settled(self) -> None:
        await self.page.wait_for_function(SETTLED)

    async def focused(self) -> str:
        return str(await self.page.evaluate(FOCUSED))

    async def open(self) -> None:
        await press(self.page, self.launcher)
        await expect(self.launcher).to_have_attribute("aria-expanded", "true")
        # measured mid-way, the panel's slide-in would be off by a pixel or two
        await self.panel.evaluate("(p) => Promise.all(p.getAnimations().map((a) => a.finished))")
        await self.settled()

    async def choose(self, label: str) -> None:
        await self.settled()
        await press(self.page, self.option(label))
        await self.settled()

    async def say(self, text: str, *, field: str | None = None) -> None:
        """Types into the box the step shows (field: its input type) and sends with the button."""
        await self.settled()
        box = self.field
        if field is not None:
            await expect(box).to_have_attribute("type", field)
        await press(self.page, box)
        await box.press("ControlOrMeta+a")  # a refused value comes back: type over it
        await box.press_sequentially(text)
        await press(self.page, self.send)
        await self.settled()

    async def expect_said(self, text: str | re.Pattern[str]) -> None:
        """The bot's latest entry says this."""
        await expect(self.bot().last).to_contain_text(text)

    async def to_contact_data(self) -> None:
        """Welcome -> new ticket -> topic -> subtopic -> a question no FAQ answers -> email."""
        await self.choose("Apri un nuovo ticket")
        await self.choose("Immatricolazioni")
        await self.choose("Procedura online e domanda")
        await self.say(
            "Il mio cane ha mangiato il foglio con il PIN della smart card della segreteria"
        )
        # FAQs shown, as answers or hedged: the student still wants the ticket
        for refuse in REFUSE:
            if await self.option(refuse).count():
                await self.choose(refuse)
        await expect(self.field).to_have_attribute("type", "email")

    async def to_attachment_step(self) -> None:
        """On through the contact data, given right the first time: the step offers a file."""
        await self.to_contact_data()
        await self.say("mario.rossi@gmail.com", field="email")
        await self.say("Rossi Mario", field="text")
        await self.say("333 1234567", field="tel")
