"""Bodies and requests an attacker sends, against the real server: each gets a 4xx in
CONTRACT.md's error shape (in the caller's language), never a 500, and no answer names the
server's software."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import Server, make_config, start_server

DEEP = "[" * 50_000 + "]" * 50_000
DEEP_OBJECT = '{"a":' * 20_000 + "1" + "}" * 20_000
PART = 'Content-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}\r\n'


def multipart(boundary: str, *parts: str, end: bool = True) -> str:
    body = "".join(f"--{boundary}\r\n{p}" for p in parts)
    return body + (f"--{boundary}--\r\n" if end else "")


# (content type, body): each is refused with a 4xx wherever a JSON or multipart body goes.
HOSTILE_BODIES = {
    "deep array": ("application/json", DEEP),
    "deep object": ("application/json", DEEP_OBJECT),
    "a list": ("application/json", "[1, 2]"),
    "a string": ("application/json", '"ciao"'),
    "a number": ("application/json", "1e999999"),
    "null": ("application/json", "null"),
    "broken json": ("application/json", '{"email": '),
    "not utf-8": ("application/json", b'{"email": "\xff\xfe"}'),
    "unknown charset": ("application/json; charset=klingon", '{"email": "a"}'),
    "empty": ("application/json", ""),
    "html form": ("application/x-www-form-urlencoded", "email=a%40b.it"),
    "plain text": ("text/plain", "ciao"),
    "no content type": ("", "{}"),
    "xml": ("application/xml", "<a/>"),
    "multipart, no boundary": ("multipart/form-data", "--x\r\n"),
    "multipart, empty boundary": ("multipart/form-data; boundary=", "--\r\n"),
    "multipart, wrong boundary": ("multipart/form-data; boundary=abc", multipart("xyz", "")),
    "multipart, garbage": ("multipart/form-data; boundary=abc", "garbage"),
    "multipart, never closed": (
        "multipart/form-data; boundary=abc",
        multipart("abc", PART.format(name="email", extra="", value="a"), end=False),
    ),
    "multipart, part without headers": (
        "multipart/form-data; boundary=abc",
        "--abc\r\n\r\nvalue\r\n--abc--\r\n",
    ),
    "multipart, broken part header": (
        "multipart/form-data; boundary=abc",
        "--abc\r\nContent-Disposition form-data\r\n\r\nx\r\n--abc--\r\n",
    ),
    "multipart, unknown charset": (
        "multipart/form-data; boundary=abc; charset=klingon",
        multipart("abc", PART.format(name="email", extra="", value="a")),
    ),
    "multipart, nested multipart": (
        "multipart/form-data; boundary=abc",
        "--abc\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nx\r\n--in--\r\n"
        "--abc--\r\n",
    ),
    "multipart, field over 64 KiB": (
        "multipart/form-data; boundary=abc",
        multipart("abc", PART.format(name="message", extra="", value="x" * 70_000)),
    ),
    "multipart, two attachments": (
        "multipart/form-data; boundary=abc",
        multipart(
            "abc",
            PART.format(name="attachment", extra='; filename="a.pdf"', value="%PDF-1.4 a"),
            PART.format(name="attachment", extra='; filename="b.pdf"', value="%PDF-1.4 b"),
        ),
    ),
}
ERROR_STATUSES = {400, 401, 403, 404, 408, 413, 415, 422, 429}


def assert_refusal(status: int, headers: Any, text: str, *, lang: str = "it") -> dict[str, Any]:
    assert status in ERROR_STATUSES, (status, text)
    assert "Server" not in headers
    error = json.loads(text)["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert error["code"] and error["message"]
    if lang == "en":
        assert "richiesta" not in error["message"].lower()
    return dict(error)


async def opened_ticket(http: aiohttp.ClientSession) -> tuple[str, str]:
    body = {
        "email": "hostile@example.org",
        "name": "Rossi Mario",
        "phone": "+393331234567",
        "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti",
        "message": "Non riesco a pagare la prima rata con pagoPA: che cosa devo fare?",
    }
    async with http.post("/api/tickets", json=body) as response:
        assert response.status == 201
        data = await response.json()
    return data["number"], data["token"]


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
async def test_a_hostile_body_gets_a_4xx_everywhere(
    server: Server, http: aiohttp.ClientSession, name: str
) -> None:
    number, token = await opened_ticket(http)
    async with http.get(f"/api/tickets/{number}", headers={"Authorization": f"Bearer {token}"}
                        ) as response:
        before = await response.json()
    content_type, body = HOSTILE_BODIES[name]
    targets = [
        ("/api/tickets", {}),
        ("/api/tickets/lookup", {}),
        (f"/api/tickets/{number}/messages", {"Authorization": f"Bearer {token}"}),
        ("/api/console/login", {}),
    ]
    for path, extra in targets:
        for lang in ("it", "en"):
            headers = {"Content-Type": content_type, "Accept-Language": lang, **extra}
            if not content_type:
                headers.pop("Content-Type")
            data = body.encode() if isinstance(body, str) else body
            async with http.post(path, data=data, headers=headers) as response:
                assert_refusal(response.status, response.headers, await response.text(), lang=lang)
    async with http.get(f"/api/tickets/{number}", headers={"Authorization": f"Bearer {token}"}
                        ) as response:
        assert await response.json() == before  # nothing stored changed


async def test_no_answer_names_the_server_software(http: aiohttp.ClientSession) -> None:
    for path in ("/", "/healthz", "/widget.js", "/nowhere", "/api/nowhere", "/socket.io/?EIO=4"):
        async with http.get(path) as response:
            assert "Server" not in response.headers, path


async def exchange(server: Server, raw: bytes, wait: float = 5) -> tuple[int, dict[str, str], str]:
    """Raw bytes on a fresh connection; the status, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.port)
    try:
        writer.write(raw)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
        lines = head.decode("latin-1").strip().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        body = await reader.readexactly(int(headers.get("Content-Length", "0")))
    finally:
        writer.close()
    return int(lines[0].split()[1]), headers, body.decode()


RAW_REQUESTS = {
    "header line over 8 KiB": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
    "500 headers": b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: a\r\n" % i for i in range(500))
    + b"\r\n",
    "URL over 8 KiB": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "not a method": b"GARBAGE\r\n\r\n",
    "a header without a colon": b"GET / HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n",
    "a bad content length": b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "two content lengths": b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    "a broken chunk size": b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: "
    b"application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "a body over the limit": b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: "
    b"application/json\r\nContent-Length: 3000000\r\n\r\n" + b" " * 3_000_000,
}


@pytest.mark.parametrize("name", sorted(RAW_REQUESTS))
async def test_a_malformed_request_gets_the_error_shape(
    server: Server, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, headers, body = await exchange(server, RAW_REQUESTS[name])
    assert_refusal(status, headers, body)
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


@pytest.fixture
async def impatient(data_dir: Path) -> AsyncIterator[Server]:
    """A server that gives a request's headers and body one second to arrive."""
    running = await start_server(make_config(data_dir, read_timeout_seconds=1))
    try:
        yield running
    finally:
        await running.stop()


async def test_a_chunked_body_that_never_ends_gets_408(impatient: Server) -> None:
    started = time.monotonic()
    status, headers, body = await exchange(
        impatient,
        b"POST /api/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Accept-Language: en\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n",
    )
    assert time.monotonic() - started < 4
    error = assert_refusal(status, headers, body, lang="en")
    assert (status, error["code"]) == (408, "request_timeout")


async def test_a_body_shorter_than_announced_gets_408(impatient: Server) -> None:
    status, headers, body = await exchange(
        impatient,
        b"POST /api/console/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{",
    )
    assert (status, json.loads(body)["error"]["code"]) == (408, "request_timeout")


async def test_a_file_sent_slowly_but_steadily_arrives(impatient: Server) -> None:
    # A phone on a weak link: 48 KiB at 16 KiB/s takes three times the server's one second,
    # and the body announced its length, so it has the time a slow link needs.
    fields = {
        "email": "lenta@example.org", "name": "Rossi Mario", "phone": "+393331234567",
        "topic": "immatricolazioni", "subtopic": "tasse-pagamenti",
        "message": "Allego la ricevuta del pagamento della prima rata.",
    }
    parts = [PART.format(name=name, extra="", value=value) for name, value in fields.items()]
    pdf = b"%PDF-1.4\n" + b"0" * (48 * 1024)
    file_part = (
        'Content-Disposition: form-data; name="attachment"; filename="ricevuta.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    body = multipart("abc", *parts, end=False).encode() + b"--abc\r\n" + file_part.encode()
    body += pdf + b"\r\n--abc--\r\n"
    head = (
        "POST /api/tickets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: multipart/form-data; boundary=abc\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient.config.port)
    try:
        writer.write(head)
        for start in range(0, len(body), 4096):
            writer.write(body[start : start + 4096])
            await writer.drain()
            await asyncio.sleep(0.25)
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


async def test_a_trickled_header_loses_its_connection(impatient: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient.config.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    assert time.monotonic() - started < 4
    writer.close()


async def test_an_unexpected_error_is_a_500_with_a_reference_only(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from web.app import create_app
    from web.http.server import Runner

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("secret detail /srv/helpdesk/var")

    config = make_config(data_dir)
    app = create_app(config)
    app.router.add_get("/api/broken", broken)
    runner = Runner(app, read_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    try:
        running = Server(config, app, runner)
        url = f"{running.url}/api/broken"
        async with aiohttp.ClientSession() as http, http.get(
            url, headers={"Accept-Language": "en"}
        ) as response:
            status, text, headers = response.status, await response.text(), response.headers
    finally:
        await runner.cleanup()
    assert status == 500 and "Server" not in headers
    error = json.loads(text)["error"]
    reference = error["reference"]
    assert error["code"] == "internal" and reference in error["message"]
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert headers["X-Request-Id"] == reference
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback stays in the log
