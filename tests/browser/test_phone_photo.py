"""A student attaches the photo their phone just took of a receipt: an 8 megapixel JPEG is
near 3 MB, over the 2 MB that an attachment may be. The widget sends it smaller."""

from __future__ import annotations

import base64

import pytest
from playwright.async_api import FilePayload, Page, expect

from tests.browser.conftest import NewPage
from tests.browser.test_ticket_page import open_on_a_phone
from tests.browser.widget import Chat, press
from tests.conftest import Server
from web.http.keys import SERVICES

pytestmark = pytest.mark.browser

PHONE = 360
MAX_FILE = 2 * 1024 * 1024
NAME = "IMG_20261207_234012.jpg"

# A photo as a cheap phone's camera saves it: 3264 x 2448, a smooth scene under sensor noise,
# JPEG at quality 0.92, drawn by the browser itself (no imaging library in the tests).
PHOTO = """async () => {
  const [w, h] = [3264, 2448];
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(w, h);
  const d = img.data;
  let seed = 1;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296 - 0.5) * 30;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = 4 * (y * w + x);
      const n = noise();
      d[i] = (200 * x) / w + n;
      d[i + 1] = (180 * y) / h + n;
      d[i + 2] = 120 + n;
      d[i + 3] = 255;
    }
  ctx.putImageData(img, 0, 0);
  const blob = await new Promise((resolve) => c.toBlob(resolve, "image/jpeg", 0.92));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}"""


async def phone_photo(page: Page) -> bytes:
    photo = base64.b64decode(await page.evaluate(PHOTO))
    assert photo[:3] == b"\xff\xd8\xff" and len(photo) > MAX_FILE, len(photo)
    return photo


async def pick(page: Page, button: str, photo: bytes) -> None:
    async with page.expect_file_chooser() as chooser:
        await press(page, page.locator(button))
    await (await chooser.value).set_files(
        files=[FilePayload(name=NAME, mimeType="image/jpeg", buffer=photo)]
    )


async def test_a_phone_photo_over_2_mb_is_attached_to_the_chat_smaller(
    server: Server, new_page: NewPage
) -> None:
    page = await new_page(PHONE, 640)
    await page.goto(server.url + "/")
    chat = Chat(page)
    await chat.to_attachment_step()
    await expect(page.locator(".uh-filebox .uh-hint")).to_contain_text("le foto più grandi")
    await pick(page, ".uh-filebtn", await phone_photo(page))
    await chat.settled()
    await expect(chat.alert).to_have_text("")
    await expect(page.locator(".uh-log .uh-k-attachment")).to_contain_text(NAME)

    await chat.choose("Invia la richiesta")
    number = await page.locator(".uh-tk-entry .uh-tk-num").last.inner_text()
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    [attachment] = ticket.messages[0].attachments
    assert (attachment.filename, attachment.content_type) == (NAME, "image/jpeg")
    assert 0 < attachment.size <= MAX_FILE


async def test_a_phone_photo_over_2_mb_goes_with_a_reply_smaller(
    server: Server, new_page: NewPage
) -> None:
    ticket, page, tp = await open_on_a_phone(server, new_page)
    await tp.reply.fill("Ecco la ricevuta del bonifico.")
    await pick(page, ".uh-replyform .uh-btn:not(.uh-primary)", await phone_photo(page))
    await expect(page.locator(".uh-chip .uh-fname")).to_have_text(NAME)
    await press(page, page.get_by_role("button", name="Invia la risposta", exact=True))
    await expect(tp.status).to_have_text("Messaggio inviato.")
    await expect(tp.reply).to_have_value("")  # the text went with it

    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    [attachment] = stored.messages[-1].attachments
    assert attachment.content_type == "image/jpeg" and 0 < attachment.size <= MAX_FILE
