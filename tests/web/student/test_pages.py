"""The server-rendered pages, the widget's files, and the FAQ reload without restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT, Server, make_config, start_server
from web.http.keys import SERVICES


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ["Assistenza online all'immatricolazione", "Apri un nuovo ticket", "000412"]),
        ("/?lang=en", ["Online enrolment help desk", "Open a new ticket", "000412"]),
        ("/ticket", ["Verifica lo stato di un ticket", "compresi gli zeri"]),
        ("/ticket?lang=en", ["Check the status of a ticket", "including the zeros"]),
        ("/faq", ["Domande frequenti", "Immatricolazioni"]),
        ("/faq?lang=en", ["Frequently asked questions", "Enrolment"]),
    ],
)
async def test_pages_read_without_javascript(
    http: aiohttp.ClientSession, path: str, expected: list[str]
) -> None:
    async with http.get(path) as response:
        assert response.status == 200
        html = await response.text()
    for text in expected:
        assert text in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("path", "switch"),
    [
        ("/ticket?number=000412", '/ticket?number=000412&amp;lang=en" lang="en"'),
        ("/ticket?number=000412&lang=en", 'href="/ticket?number=000412" lang="it"'),
        ("/faq?q=isee&topic=immatricolazioni", "/faq?q=isee&amp;topic=immatricolazioni&amp;lang"),
        ("/?lang=en", 'href="/" lang="it"'),
    ],
)
async def test_the_language_switch_keeps_what_the_page_shows(
    http: aiohttp.ClientSession, path: str, switch: str
) -> None:
    # a student who switches language on their ticket's page does not retype its number
    async with http.get(path) as response:
        assert switch in await response.text()


async def test_landing_explains_the_seed_guide(http: aiohttp.ClientSession) -> None:
    async with http.get("/") as response:
        html = await response.text()
    for text in ("Verifica lo stato di un ticket", "FAQ", "Non rispondere alle email", "2 MB"):
        assert text in html
    assert 'src="/widget.js"' in html


async def test_faq_search_page(http: aiohttp.ClientSession) -> None:
    async with http.get("/faq", params={"q": "ho dimenticato la password"}) as response:
        html = await response.text()
    assert "Risultati per" in html and "password" in html.lower()
    async with http.get("/faq", params={"q": "a che ora apre la biblioteca"}) as response:
        html = await response.text()
    assert "Nessuna FAQ risponde" in html


async def test_faq_page_escapes_the_query(http: aiohttp.ClientSession) -> None:
    async with http.get("/faq", params={"q": "<script>alert(1)</script>"}) as response:
        html = await response.text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


async def test_widget_files_are_gzipped_and_revalidated(http: aiohttp.ClientSession) -> None:
    async with http.get("/widget.js", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.content_type == "text/javascript"
        etag = response.headers["ETag"]
        await response.read()
    async with http.get("/widget.js", headers={"If-None-Match": etag}) as response:
        assert response.status == 304
    async with http.get("/static/vendor/socket.io.min.js") as response:
        assert response.status == 200


CONSOLE_MODULES = sorted((ROOT / "web" / "static" / "console").glob("*.js"))


async def test_the_console_modules_are_served_as_javascript(http: aiohttp.ClientSession) -> None:
    # A browser runs a module only when its type is JavaScript (and nosniff is on).
    assert len(CONSOLE_MODULES) > 10
    for module in CONSOLE_MODULES:
        async with http.get(f"/static/console/{module.name}") as response:
            assert response.status == 200
            assert response.content_type == "text/javascript"


@pytest.mark.parametrize(
    "path", ["/static/../config.py", "/static/%2e%2e/config.py", "/static/vendor/../../app.py"]
)
async def test_static_route_cannot_escape(http: aiohttp.ClientSession, path: str) -> None:
    async with http.get(path) as response:
        assert response.status == 404


async def test_unknown_api_path_answers_json(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/nothing-here") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


async def wait_until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_edited_faq_goes_live_and_a_broken_edit_keeps_the_old(
    data_dir: Path, faq_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server: Server = await start_server(make_config(data_dir, faq_dir=faq_dir))
    try:
        live = server.app[SERVICES].faq
        new = {
            "faqs": [
                {
                    "id": "nuova-001",
                    "topic": "immatricolazioni",
                    "subtopic": "scadenze",
                    "question": {"it": "Quando apre lo sportello del planetario astronomico?"},
                    "answer": {"it": "Lo sportello del planetario apre il lunedì."},
                }
            ]
        }
        (faq_dir / "faq" / "nuova.json").write_text(json.dumps(new))
        await wait_until(lambda: live.index.get("nuova-001") is not None)
        assert live.index.search("sportello del planetario astronomico")[0].id == "nuova-001"
        (faq_dir / "faq" / "nuova.json").write_text('{"faqs": [ {"id": "rotta"')
        await wait_until(lambda: "FAQ not reloaded" in caplog.text)
        assert "nuova.json" in caplog.text
        # students still get the last good corpus
        assert live.index.get("nuova-001") is not None
    finally:
        await server.stop()


async def test_an_edited_office_text_goes_live_like_the_faq(data_dir: Path, faq_dir: Path) -> None:
    server: Server = await start_server(make_config(data_dir, faq_dir=faq_dir))
    try:
        live = server.app[SERVICES].faq
        texts = json.loads((faq_dir / "replies.json").read_text())
        texts["replies"].append({"id": "nuovo-testo", "title": {"it": "Nuovo"},
                                 "text": {"it": "Un testo nuovo dell'ufficio."}})
        (faq_dir / "replies.json").write_text(json.dumps(texts))
        await wait_until(lambda: live.index.replies[-1].id == "nuovo-testo")
    finally:
        await server.stop()


async def test_a_restart_on_a_broken_edit_serves_the_last_good_faq(
    data_dir: Path, faq_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The folder is broken when the server starts again (a deploy, a reboot after the bad
    edit): it serves the FAQ that last loaded, until the folder is fixed."""
    server: Server = await start_server(make_config(data_dir, faq_dir=faq_dir))
    await server.stop()
    good = (faq_dir / "faq" / "tasse-pagamenti.json").read_text()
    (faq_dir / "faq" / "tasse-pagamenti.json").write_text(good[:-40])
    server = await start_server(make_config(data_dir, faq_dir=faq_dir))
    try:
        live = server.app[SERVICES].faq
        assert live.index.search("quanto costa la prima rata")[0].id == "tasse-001"
        assert "tasse-pagamenti.json: -: -: JSON non valido" in caplog.text
        assert "serving the last good version" in caplog.text
        # fixed, it goes live as any edit does
        (faq_dir / "faq" / "tasse-pagamenti.json").write_text(good.replace("prima rata", "rata 1"))
        await wait_until(lambda: "rata 1" in live.index.get("tasse-001").question["it"])
    finally:
        await server.stop()


async def test_favicon(http: aiohttp.ClientSession) -> None:
    async with http.get("/favicon.ico") as response:
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
