"""Whatever body arrives at the student API or the console's login (Hypothesis, against the
real server): the answer is a success or a 4xx in CONTRACT.md's error shape, never a 500, and a
refused request changes nothing already stored and leaves no file behind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import Ticket
from tests.conftest import Server
from tests.web.conftest import Opened, open_ticket
from web.http.keys import SERVICES

FIELDS = ["email", "name", "phone", "topic", "subtopic", "message", "lang", "references", "body",
          "number", "username", "password", "attachment"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10,
)
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "multipart/form-data",
    "multipart/form-data; boundary=b0undary",
    "multipart/form-data; boundary=",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


@dataclass(frozen=True)
class Body:
    content_type: str
    data: bytes


def _json_body(value: Any) -> Body:
    return Body("application/json", json.dumps(value).encode())


def _multipart(parts: list[tuple[str, bytes, str | None]], boundary: str, closed: bool) -> Body:
    chunks = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
                      + value + b"\r\n")
    end = f"--{boundary}--\r\n".encode() if closed else b""
    return Body(f"multipart/form-data; boundary={boundary}", b"".join(chunks) + end)


BODIES = st.one_of(
    # the fields the API knows, holding anything JSON can hold
    st.dictionaries(st.sampled_from(FIELDS), JSON | st.text(max_size=80)).map(_json_body),
    JSON.map(_json_body),
    st.builds(Body, st.sampled_from(CONTENT_TYPES), st.binary(max_size=300)),
    st.builds(
        _multipart,
        st.lists(
            st.tuples(
                st.sampled_from(FIELDS) | st.text(max_size=8),
                st.binary(max_size=100) | st.just(PNG) | st.just(b"%PDF-1.4\n%%EOF"),
                st.none() | st.text(max_size=12),
            ),
            max_size=5,
        ),
        st.from_regex(r"[A-Za-z0-9'()+_,./:=?-]{1,40}", fullmatch=True),
        st.booleans(),
    ),
)


def stored(ticket: Ticket | None) -> Any:
    """What a request could have changed (the outbox moves on by itself as mail goes out)."""
    assert ticket is not None
    return {k: v for k, v in ticket.to_dict().items() if k != "outbox"}


def files(server: Server) -> set[str]:
    folder = server.config.data_dir / "attachments"
    return {str(p) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.fixture
async def two_tickets(server: Server) -> AsyncIterator[tuple[Opened, Opened]]:
    yield await open_ticket(server), await open_ticket(server)


@settings(
    max_examples=120,
    deadline=None,
    # one server and two tickets for every example, on purpose: they are what must not change
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES, target=st.sampled_from(["create", "lookup", "reply", "login"]),
       lang=st.sampled_from(["it", "en", "xx"]))
async def test_any_body_gets_a_success_or_a_4xx_and_a_refusal_changes_nothing(
    server: Server, two_tickets: tuple[Opened, Opened], body: Body, target: str, lang: str
) -> None:
    mine, other = two_tickets
    tickets = server.app[SERVICES].storage.tickets
    path = {
        "create": "/api/tickets",
        "lookup": "/api/tickets/lookup",
        "reply": f"/api/tickets/{mine.number}/messages",
        "login": "/api/console/login",
    }[target]
    headers = {"Accept-Language": lang, "Authorization": f"Bearer {mine.token}"}
    if body.content_type:
        headers["Content-Type"] = body.content_type
    before = (stored(await tickets.get(mine.number)), stored(await tickets.get(other.number)),
              await tickets.count(), files(server))
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, data=body.data, headers=headers
    ) as response:
        status, text = response.status, await response.text()
    assert status < 500, text
    untouched = stored(await tickets.get(other.number))
    assert untouched == before[1]
    if status >= 400:
        error = json.loads(text)["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
        after = (
            stored(await tickets.get(mine.number)), untouched, await tickets.count(), files(server)
        )
        assert after == before
