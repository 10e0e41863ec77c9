"""An operator attaches a file to a reply from the console, on the real server, on the data
folder and on PostgreSQL: the student reads it live and downloads it with the ticket's token
(that ticket's only), under the students' own limits; refused callers and refused files leave
nothing behind, and the student's erasure takes the file with the rest."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from storage import Backend
from tests.conftest import Server
from tests.web.conftest import (
    ANNA,
    ELENA,
    LAURA,
    MARCO,
    Console,
    Factory,
    Opened,
    Recorder,
    StudentSocket,
    open_ticket,
)
from web.http.keys import SERVICES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FAR_FUTURE = datetime.fromisoformat("2999-01-01T00:00:00+00:00")


@pytest.fixture
def server(either_server: Server) -> Server:
    return either_server


def reply_form(fields: dict[str, str], file: tuple[str, bytes] | None) -> aiohttp.FormData:
    # as a browser sends it: the name as it is, not percent-encoded
    data = aiohttp.FormData(default_to_multipart=True, quote_fields=False)
    for key, value in fields.items():
        data.add_field(key, value)
    if file is not None:
        name, content = file
        # The browser's guess, which the server ignores: the content decides.
        data.add_field("attachment", io.BytesIO(content), filename=name,
                       content_type="application/octet-stream")
    return data


async def post_reply(
    console: Console,
    number: str,
    fields: dict[str, str],
    file: tuple[str, bytes] | None,
    *,
    csrf: str | None = None,
    lang: str | None = None,
) -> tuple[int, Any]:
    """The console's reply box with a file: multipart, the session's CSRF token unless told."""
    headers = {"X-CSRF-Token": console.csrf if csrf is None else csrf}
    if lang:
        headers["Accept-Language"] = lang
    async with console.http.post(
        f"/api/console/tickets/{number}/messages", data=reply_form(fields, file), headers=headers
    ) as response:
        return response.status, await response.json()


async def student_get(server: Server, path: str, token: str | None) -> tuple[int, bytes, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}{path}", headers=headers
    ) as response:
        return response.status, await response.read(), response.headers


async def stored_files(storage: Backend) -> list[str]:
    """Every attachment the storage holds, whoever uses it (both backends answer this)."""
    return await storage.attachments.stored_before(FAR_FUTURE)


async def test_the_student_downloads_the_operators_file_with_that_tickets_token_only(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    storage = server.app[SERVICES].storage
    mine, other = await open_ticket(server), await open_ticket(server)
    student = StudentSocket()
    sockets.append(student)
    await student.watch(server, mine.token)
    laura = await signed_in(LAURA)

    status, body = await post_reply(
        laura, mine.number, {"body": "Ecco il modulo da compilare."}, ("modulo rimborso.pdf", PDF)
    )

    assert status == 201, body
    [sent] = body["message"]["attachments"]
    assert (sent["filename"], sent["size"]) == ("modulo rimborso.pdf", len(PDF))
    # Kept with the operator's message, in the storage, bytes and all.
    ticket = await storage.tickets.get(mine.number)
    assert ticket is not None
    last = ticket.messages[-1]
    assert (last.author, last.username) == ("operator", "lbianchi")
    assert [(a.id, a.content_type) for a in last.attachments] == [(sent["id"], "application/pdf")]
    assert await storage.attachments.read(sent["id"]) == PDF
    # The student watching the ticket reads the reply and its file at once.
    live = await student.next("ticket", where=lambda v: len(v["messages"]) == 2)
    assert live["messages"][-1]["attachments"] == [sent]
    # The console lists it, and opens it with the session.
    _, view = await laura.get(f"/api/console/tickets/{mine.number}")
    assert view["messages"][-1]["attachments"] == [sent]
    async with laura.http.get(f"/api/tickets/{mine.number}/attachments/{sent['id']}") as r:
        assert r.status == 200 and await r.read() == PDF

    url = f"/api/tickets/{mine.number}/attachments/{sent['id']}"
    status, content, headers = await student_get(server, url, mine.token)
    assert status == 200 and content == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("attachment;")
    # Another ticket's token opens it neither at this ticket's address nor at its own.
    assert (await student_get(server, url, other.token))[0] == 404
    elsewhere = f"/api/tickets/{other.number}/attachments/{sent['id']}"
    assert (await student_get(server, elsewhere, other.token))[0] == 404
    assert (await student_get(server, url, None))[0] == 404


async def test_a_file_alone_is_a_reply_and_its_mail_names_it(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server)
    laura = await signed_in(LAURA)
    # the student is not watching: the reply is mailed, and the mail says a file came with it
    status, body = await post_reply(laura, ticket.number, {"body": ""}, ("schermata.png", PNG))
    assert status == 201, body
    assert body["message"]["body"] == "" and body["mailed"] is True
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    mail = stored.outbox[-1]
    assert mail.kind == "reply"
    assert "Allegato alla risposta: schermata.png" in mail.text
    assert "schermata.png" in mail.html
    # and the text parts carry the JSON body's other fields
    status, body = await post_reply(
        laura, ticket.number,
        {"body": "Vedi la nota.", "internal": "true", "after": stored.messages[-1].id},
        ("nota.png", PNG),
    )
    assert status == 201, body
    assert body["message"]["internal"] is True and body["mailed"] is False


@pytest.mark.parametrize(
    ("file", "status", "italian", "english"),
    [
        (("enorme.pdf", PDF + b"0" * (2 * 1024 * 1024)), 413,
         "Il file supera la dimensione massima di 2 MB.",
         "The file is larger than the 2 MB limit."),
        (("pagina.png", b"<html><script>alert(1)</script></html>"), 415,
         "Formato non supportato: puoi allegare solo file PDF, PNG o JPEG.",
         "Unsupported format: you can only attach PDF, PNG or JPEG files."),
        (("archivio.pdf", b"PK\x03\x04" + b"\x00" * 40), 415,
         "Formato non supportato: puoi allegare solo file PDF, PNG o JPEG.",
         "Unsupported format: you can only attach PDF, PNG or JPEG files."),
    ],
)
async def test_a_refused_file_is_named_in_italian_or_english_and_nothing_is_kept(
    server: Server,
    signed_in: Factory,
    file: tuple[str, bytes],
    status: int,
    italian: str,
    english: str,
) -> None:
    storage = server.app[SERVICES].storage
    ticket = await open_ticket(server)
    laura = await signed_in(LAURA)
    for lang, message in ((None, italian), ("en", english)):
        got, body = await post_reply(
            laura, ticket.number, {"body": "Ecco il file."}, file, lang=lang
        )
        assert got == status, body
        assert body["error"]["message"] == message
    stored = await storage.tickets.get(ticket.number)
    assert stored is not None and len(stored.messages) == 1
    assert await stored_files(storage) == []


async def test_a_caller_the_console_refuses_stores_no_file(
    server: Server, signed_in: Factory
) -> None:
    storage = server.app[SERVICES].storage
    ticket = await open_ticket(server)
    laura = await signed_in(LAURA)
    fields, file = {"body": "Ecco il modulo."}, ("modulo.pdf", PDF)
    # no CSRF token, or another one
    for csrf in ("", "x" * 43):
        status, body = await post_reply(laura, ticket.number, fields, file, csrf=csrf)
        assert (status, body["error"]["code"]) == (403, "csrf")
    # no session: a student's ticket token is no console session
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/api/console/tickets/{ticket.number}/messages",
        data=reply_form(fields, file),
        headers={"Authorization": f"Bearer {ticket.token}", "X-CSRF-Token": laura.csrf},
    ) as response:
        assert response.status == 401
    # signed out: the session is dead, its token with it
    marco = await signed_in(MARCO)
    await marco.post("/api/console/logout")
    status, _ = await post_reply(marco, ticket.number, fields, file)
    assert status == 401
    # an unknown ticket
    status, _ = await post_reply(laura, "999999" if ticket.number != "999999" else "999998",
                                 fields, file)
    assert status == 404
    stored = await storage.tickets.get(ticket.number)
    assert stored is not None and len(stored.messages) == 1
    assert await stored_files(storage) == []


async def test_a_reply_refused_by_the_ticket_keeps_no_file(
    server: Server, signed_in: Factory
) -> None:
    storage = server.app[SERVICES].storage
    ticket = await open_ticket(server)
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    status, _ = await laura.post(f"/api/console/tickets/{ticket.number}/assign", {"username": ""})
    assert status == 200
    # a colleague's ticket (refused under its lock, after the file was received)
    status, body = await post_reply(marco, ticket.number, {"body": "Ecco."}, ("a.pdf", PDF))
    assert (status, body["error"]["code"]) == (409, "held_by_other")
    # a bad field, found after the file was received
    status, body = await post_reply(
        laura, ticket.number, {"body": "Ecco.", "internal": "forse"}, ("a.pdf", PDF)
    )
    assert status == 422 and list(body["error"]["fields"]) == ["internal"]
    # a closed ticket takes no reply
    status, _ = await laura.post(f"/api/console/tickets/{ticket.number}/status",
                                 {"status": "closed"})
    assert status == 200
    status, body = await post_reply(laura, ticket.number, {"body": "Ecco."}, ("a.pdf", PDF))
    assert (status, body["error"]["code"]) == (409, "closed_reply")
    assert await stored_files(storage) == []


@pytest.mark.parametrize("account", [LAURA, ELENA, ANNA])
async def test_every_role_that_replies_may_attach(
    server: Server, signed_in: Factory, account: Any
) -> None:
    ticket = await open_ticket(server)
    console = await signed_in(account)
    status, body = await post_reply(console, ticket.number, {"body": "Ecco."}, ("a.png", PNG))
    assert status == 201, body


async def test_a_notes_file_stays_with_the_operators(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server)
    laura = await signed_in(LAURA)
    status, body = await post_reply(
        laura, ticket.number, {"body": "Documento visto allo sportello.", "internal": "true"},
        ("scansione.pdf", PDF),
    )
    assert status == 201, body
    [note_file] = body["message"]["attachments"]
    url = f"/api/tickets/{ticket.number}/attachments/{note_file['id']}"
    async with laura.http.get(url) as r:
        assert r.status == 200
    assert (await student_get(server, url, ticket.token))[0] == 404
    status, content, _ = await student_get(server, f"/api/tickets/{ticket.number}", ticket.token)
    assert status == 200 and b"scansione.pdf" not in content


async def test_the_export_has_the_operators_file_and_the_erasure_takes_it(
    server: Server, signed_in: Factory
) -> None:
    storage = server.app[SERVICES].storage
    ticket: Opened = await open_ticket(server)
    laura, anna = await signed_in(LAURA), await signed_in(ANNA)
    _, reply = await post_reply(laura, ticket.number, {"body": "Il modulo."}, ("modulo.pdf", PDF))
    _, note = await post_reply(laura, ticket.number, {"body": "Nota.", "internal": "true"},
                               ("nota.png", PNG))
    files = [reply["message"]["attachments"][0]["id"], note["message"]["attachments"][0]["id"]]

    # The student's own download has the operator's file; never the note's.
    status, content, _ = await student_get(
        server, f"/api/tickets/{ticket.number}/export", ticket.token
    )
    assert status == 200
    [exported] = json.loads(content)["tickets"]
    sent = [a for m in exported["messages"] if m["author"] == "operator" for a in m["attachments"]]
    assert [(a["filename"], base64.b64decode(a["content_base64"])) for a in sent] == [
        ("modulo.pdf", PDF)
    ]
    assert b"nota.png" not in content

    status, body = await anna.post("/api/console/privacy/erase", {"email": ticket.email})
    assert (status, body) == (200, {"tickets": 1})

    for file in files:
        assert await storage.attachments.read(file) is None
    assert await stored_files(storage) == []
    erased = await storage.tickets.get(ticket.number)
    assert erased is not None
    assert all(m.attachments == [] for m in erased.messages)
    url = f"/api/tickets/{ticket.number}/attachments/{files[0]}"
    async with laura.http.get(url) as r:
        assert r.status == 404
    assert (await student_get(server, url, ticket.token))[0] == 404
