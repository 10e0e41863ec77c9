"""The student HTTP API of CONTRACT.md section 4, against the real server on loopback."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storage import Operator
from tests.conftest import Server, make_config, start_server
from web.desk.tickets import Desk
from web.http.keys import SERVICES
from web.http.uploads import clean_filename

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
VALID = {
    "email": "Mario.Rossi@Example.com",
    "name": "Rossi Mario",
    "phone": "+39 333 123 4567",
    "topic": "immatricolazioni",
    "subtopic": "tasse-pagamenti",
    "message": "Ho pagato la prima rata ma il portale non la registra ancora.",
}


def form(
    fields: dict[str, str], attachment: tuple[str, bytes, str] | None = None
) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    if attachment:
        name, content, ctype = attachment
        data.add_field("attachment", io.BytesIO(content), filename=name, content_type=ctype)
    return data


async def create(http: aiohttp.ClientSession, **changes: str) -> dict[str, Any]:
    async with http.post("/api/tickets", json={**VALID, **changes}) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


def attachment_files(server: Server) -> list[Path]:
    folder = server.config.data_dir / "attachments"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


async def operator(server: Server, username: str = "anna", name: str = "Anna Bianchi") -> Operator:
    account = Operator(username=username, name=name, role="operator", password_hash="x")
    await server.app[SERVICES].storage.operators.put(account)
    return account


async def test_healthz(http: aiohttp.ClientSession) -> None:
    async with http.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_open_a_ticket_with_json(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    assert created["status"] == "open"
    assert len(created["number"]) == 6 and created["number"].isdigit()
    headers = {"Authorization": f"Bearer {created['token']}"}
    async with http.get(f"/api/tickets/{created['number']}", headers=headers) as response:
        assert response.status == 200
        ticket = await response.json()
    assert ticket["status_label"] == "Aperto"
    assert ticket["operator"] is None
    assert ticket["topic"] == "immatricolazioni" and ticket["subtopic"] == "tasse-pagamenti"
    [message] = ticket["messages"]
    assert message["author"] == "student" and message["body"] == VALID["message"]


async def test_open_a_ticket_with_an_attachment_and_download_it(
    http: aiohttp.ClientSession, server: Server
) -> None:
    async with http.post(
        "/api/tickets", data=form(VALID, ("schermata.png", PNG, "image/png"))
    ) as response:
        assert response.status == 201, await response.text()
        created = await response.json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    async with http.get(f"/api/tickets/{created['number']}", headers=headers) as response:
        [attachment] = (await response.json())["messages"][0]["attachments"]
    assert attachment["filename"] == "schermata.png" and attachment["size"] == len(PNG)
    url = f"/api/tickets/{created['number']}/attachments/{attachment['id']}"
    async with http.get(url, headers=headers) as response:
        assert response.status == 200
        assert await response.read() == PNG
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("attachment;")
    # No token, or another ticket's token: the file does not exist for them.
    async with http.get(url) as response:
        assert response.status == 404
    other = await create(http, email="altro@example.com")
    async with http.get(url, headers={"Authorization": f"Bearer {other['token']}"}) as response:
        assert response.status == 404
    # Stored under a random name, never the uploaded one.
    assert [p.name for p in attachment_files(server)] == [attachment["id"]]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "mario.rossi@", "dopo la @"),
        ("phone", "075 585 1", "numero"),
        ("phone", "075 5852192", "fisso"),
        ("name", "Mario", "cognome"),
        ("message", "aiuto", "caratteri"),
        ("subtopic", "inesistente", ""),
    ],
)
async def test_each_invalid_field_is_named_in_italian(
    http: aiohttp.ClientSession, field: str, value: str, message: str
) -> None:
    async with http.post("/api/tickets", json={**VALID, field: value}) as response:
        assert response.status == 422
        body = await response.json()
    error = body["error"]
    assert error["code"] == "validation_failed"
    assert list(error["fields"]) == [field]
    assert message.lower() in error["fields"][field].lower()


async def test_errors_in_english_on_request(http: aiohttp.ClientSession) -> None:
    async with http.post(
        "/api/tickets", json={**VALID, "email": "no"}, headers={"Accept-Language": "en-GB,en;q=0.9"}
    ) as response:
        body = await response.json()
    assert response.status == 422
    assert "address" in body["error"]["fields"]["email"].lower()
    assert body["error"]["message"] != ""
    async with http.post("/api/tickets", json={**VALID, "email": "no"}) as response:
        italian = await response.json()
    assert italian["error"]["fields"]["email"] != body["error"]["fields"]["email"]


async def test_malformed_json(http: aiohttp.ClientSession) -> None:
    async with http.post(
        "/api/tickets", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_request"


async def test_attachment_over_2_mib_is_refused_and_leaves_nothing(
    http: aiohttp.ClientSession, server: Server
) -> None:
    big = PDF + b"0" * (2 * 1024 * 1024)
    async with http.post(
        "/api/tickets", data=form(VALID, ("big.pdf", big, "application/pdf"))
    ) as response:
        assert response.status == 413
        assert "2 MB" in (await response.json())["error"]["message"]
    assert attachment_files(server) == []
    async with http.get("/api/console/tickets") as response:
        pass  # whatever the console says, no ticket may have been opened:
    assert await server.app[SERVICES].storage.tickets.summaries() == []


async def test_a_form_padded_with_parts_nobody_asked_for_is_refused(
    http: aiohttp.ClientSession, server: Server
) -> None:
    """Parts that are not fields are still read off the wire: they count against the form's
    size, or a body of any length would be read to its end before an answer."""
    for padding in ("unknown", "message"):
        data = aiohttp.FormData(default_to_multipart=True)
        for key, value in VALID.items():
            data.add_field(key, value)
        for _ in range(8):
            data.add_field(padding, "x" * 60_000)
        async with http.post("/api/tickets", data=data) as response:
            assert response.status == 413, padding
            assert (await response.json())["error"]["code"] == "too_large"
    assert await server.app[SERVICES].storage.tickets.summaries() == []
    # nor by their number: each part costs parsing, however small
    data = aiohttp.FormData(default_to_multipart=True)
    for key, value in VALID.items():
        data.add_field(key, value)
    for _ in range(5000):
        data.add_field("x", "")
    async with http.post("/api/tickets", data=data) as response:
        assert response.status == 400
    assert await server.app[SERVICES].storage.tickets.summaries() == []


async def test_an_empty_file_is_named_as_such_and_opens_no_ticket(
    http: aiohttp.ClientSession, server: Server
) -> None:
    # a download that failed, a cloud file never fetched: the student believes it is sent
    async with http.post(
        "/api/tickets", data=form(VALID, ("documento.pdf", b"", "application/pdf"))
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"].startswith("Il file è vuoto")
    assert await server.app[SERVICES].storage.tickets.summaries() == []
    # an empty file input (no file chosen) is no attachment at all
    async with http.post(
        "/api/tickets", data=form(VALID, ("", b"", "application/octet-stream"))
    ) as response:
        assert response.status == 201, await response.text()


async def test_exactly_2_mib_is_accepted(http: aiohttp.ClientSession) -> None:
    exact = PDF + b"0" * (2 * 1024 * 1024 - len(PDF))
    async with http.post(
        "/api/tickets", data=form(VALID, ("a.pdf", exact, "application/pdf"))
    ) as response:
        assert response.status == 201, await response.text()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("foto.png", b"<html><script>alert(1)</script></html>"),  # HTML named like an image
        ("doc.pdf", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
        ("archivio.zip", b"PK\x03\x04" + b"\x00" * 40),
    ],
)
async def test_type_is_recognised_by_content_not_name(
    http: aiohttp.ClientSession, server: Server, name: str, content: bytes
) -> None:
    async with http.post(
        "/api/tickets", data=form(VALID, (name, content, "image/png"))
    ) as response:
        assert response.status == 415
        assert "PDF, PNG o JPEG" in (await response.json())["error"]["message"]
    assert attachment_files(server) == []


async def test_a_refused_form_does_not_keep_its_valid_attachment(
    http: aiohttp.ClientSession, server: Server
) -> None:
    async with http.post(
        "/api/tickets", data=form({**VALID, "phone": "12"}, ("a.png", PNG, "image/png"))
    ) as response:
        assert response.status == 422
    assert attachment_files(server) == []


async def test_creation_limit_per_address(data_dir: Path) -> None:
    server = await start_server(make_config(data_dir, create_per_ip_per_minute=2))
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:
            await create(http, email="a@example.com")
            await create(http, email="b@example.com")
            async with http.post(
                "/api/tickets", json={**VALID, "email": "c@example.com"}
            ) as response:
                assert response.status == 429
                assert int(response.headers["Retry-After"]) > 0
                assert "riprova" in (await response.json())["error"]["message"]
    finally:
        await server.stop()


async def test_an_ipv6_client_rotating_its_addresses_meets_the_limit_per_address(
    data_dir: Path,
) -> None:
    """Behind the proxy, one IPv6 client may write a new address of its /64 in every request:
    the limit per address counts them as one client."""
    config = make_config(data_dir, create_per_ip_per_minute=2, trusted_proxies=("127.0.0.1",))
    server = await start_server(config)
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:
            statuses = []
            for n in range(1, 4):
                async with http.post(
                    "/api/tickets",
                    json={**VALID, "email": f"s{n}@example.com"},
                    headers={"X-Forwarded-For": f"2001:db8:1:2::{n:x}"},
                ) as response:
                    statuses.append(response.status)
            assert statuses == [201, 201, 429]
            # another subscriber's /64 is another client
            async with http.post(
                "/api/tickets",
                json={**VALID, "email": "s9@example.com"},
                headers={"X-Forwarded-For": "2001:db8:1:3::1"},
            ) as response:
                assert response.status == 201
    finally:
        await server.stop()


async def test_files_sent_with_tickets_and_replies_count_as_the_chats_uploads(
    data_dir: Path,
) -> None:
    """The uploads allowed per address guard the disk: a script must not fill it by sending
    its files with new tickets or replies instead of through the chat. A form without a file
    is never refused for them."""
    server = await start_server(make_config(data_dir, uploads_per_ip_per_hour=2))
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:

            async def new_ticket(n: int) -> aiohttp.ClientResponse:
                fields = {**VALID, "email": f"s{n}@example.com"}
                async with http.post(
                    "/api/tickets", data=form(fields, ("a.pdf", PDF, "application/pdf"))
                ) as response:
                    await response.read()
                    return response

            first = await (await new_ticket(1)).json()
            assert (await new_ticket(2)).status == 201
            refused = await new_ticket(3)
            assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
            auth = {"Authorization": f"Bearer {first['token']}"}
            path = f"/api/tickets/{first['number']}/messages"
            async with http.post(
                path, data=form({"body": "ecco"}, ("b.png", PNG, "image/png")), headers=auth
            ) as response:
                assert response.status == 429
            without = aiohttp.FormData({"body": "senza file"}, default_to_multipart=True)
            async with http.post(path, data=without, headers=auth) as response:
                assert response.status == 201
        assert len(attachment_files(server)) == 2
    finally:
        await server.stop()


async def test_creation_limit_per_email_holds_across_addresses(http: aiohttp.ClientSession) -> None:
    statuses = []
    for _ in range(6):
        async with http.post("/api/tickets", json=VALID) as response:
            statuses.append(response.status)
    assert statuses == [201] * 5 + [429]


@pytest.mark.parametrize("typed", ["{n}", "#{n}", "  {n}  ", "{short}", "# {short}"])
async def test_lookup_accepts_the_number_as_students_type_it(
    http: aiohttp.ClientSession, typed: str
) -> None:
    created = await create(http)
    number = created["number"]
    text = typed.format(n=number, short=number.lstrip("0") or "0")
    async with http.post(
        "/api/tickets/lookup", json={"email": "  MARIO.ROSSI@example.COM ", "number": text}
    ) as response:
        assert response.status == 200, await response.text()
        found = await response.json()
    assert found["number"] == number
    async with http.get(
        f"/api/tickets/{number}", headers={"Authorization": f"Bearer {found['token']}"}
    ) as response:
        assert response.status == 200


async def test_an_address_typed_on_a_chinese_keyboard_is_the_mailbox_it_names(
    http: aiohttp.ClientSession,
) -> None:
    """Full-width signs are kept as the ASCII ones: the mails reach the mailbox, and the student
    finds the ticket whichever keyboard they type the address with next time."""
    created = await create(http, email="ｚｈａｎｇ．ｗｅｉ＠163。com")
    for typed in ("zhang.wei@163.com", "zhang．wei＠163.com"):
        async with http.post(
            "/api/tickets/lookup", json={"email": typed, "number": created["number"]}
        ) as response:
            assert response.status == 200, (typed, await response.text())


async def test_lookup_failures_look_alike_and_are_throttled(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    async with http.post(
        "/api/tickets/lookup", json={"email": "someone@else.it", "number": created["number"]}
    ) as response:
        wrong_email = (response.status, await response.json())
    other = "000000" if created["number"] != "000000" else "000001"
    async with http.post(
        "/api/tickets/lookup", json={"email": VALID["email"], "number": other}
    ) as response:
        wrong_number = (response.status, await response.json())
    assert wrong_email == wrong_number
    assert wrong_email[0] == 404
    statuses = []
    for n in range(12):
        async with http.post(
            "/api/tickets/lookup", json={"email": VALID["email"], "number": f"{n:06d}"}
        ) as response:
            statuses.append(response.status)
    assert statuses[-1] == 429
    async with http.post(
        "/api/tickets/lookup", json={"email": VALID["email"], "number": created["number"]}
    ) as response:
        # Even the right pair waits: the throttle must not tell the attacker which one is right.
        assert response.status == 429
        assert "Retry-After" in response.headers


async def test_a_stranger_guessing_with_a_students_email_does_not_lock_the_student_out(
    data_dir: Path,
) -> None:
    """Soft lockout: the strict limit is per email from one address, and the tighter ceiling
    across addresses spares the address the student opened the ticket from."""
    server = await start_server(make_config(data_dir, trusted_proxies=("127.0.0.1",)))

    def student_at(ip: str) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base_url=server.url, headers={"X-Forwarded-For": ip})

    try:
        async with student_at("192.0.2.10") as student:
            created = await create(student)
        statuses = []
        for n in range(40):  # a stranger, from several addresses, past every ceiling
            async with student_at(f"198.51.100.{n % 4}") as stranger, stranger.post(
                "/api/tickets/lookup",
                json={"email": VALID["email"], "number": f"{(n * 7919) % 10**6:06d}"},
            ) as response:
                statuses.append(response.status)
        assert statuses.count(429) > 0 and 200 not in statuses
        async with student_at("192.0.2.10") as student, student.post(
            "/api/tickets/lookup", json={"email": VALID["email"], "number": created["number"]}
        ) as response:
            assert response.status == 200
        # A new address of the student's is held to the ceiling the stranger reached.
        async with student_at("203.0.113.5") as elsewhere, elsewhere.post(
            "/api/tickets/lookup", json={"email": VALID["email"], "number": created["number"]}
        ) as response:
            assert response.status == 429
    finally:
        await server.stop()


async def test_opening_tickets_with_someone_s_email_lifts_no_limit_on_guessing(
    data_dir: Path,
) -> None:
    """A ticket opened with an email proves no mailbox: the addresses it trusts still meet
    the per-address limit, and every guess counts against the email's hard ceiling."""
    server = await start_server(make_config(
        data_dir, trusted_proxies=("127.0.0.1",), lookup_failures_per_ip_per_hour=5
    ))
    try:
        statuses = []
        for n in range(4):
            async with aiohttp.ClientSession(
                base_url=server.url, headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ) as attacker:
                await create(attacker)  # with the victim's email, from this address
                for guess in range(8):
                    async with attacker.post("/api/tickets/lookup", json={
                        "email": VALID["email"], "number": f"{(n * 100 + guess):06d}",
                    }) as response:
                        statuses.append(response.status)
        assert statuses.count(404) == 4 * 5, statuses  # the address's 5, not the pair's 10
    finally:
        await server.stop()


async def test_tokens_open_only_their_ticket(http: aiohttp.ClientSession) -> None:
    first = await create(http, email="uno@example.com")
    second = await create(http, email="due@example.com")
    for token in (second["token"], "forged.123.abc", first["token"] + "x", "", "1.2.é"):
        async with http.get(
            f"/api/tickets/{first['number']}", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 401
        async with http.post(
            f"/api/tickets/{first['number']}/messages",
            json={"body": "Un messaggio di prova abbastanza lungo."},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 401


async def test_a_token_of_bytes_that_are_not_text_is_refused_not_a_500(
    http: aiohttp.ClientSession, server: Server
) -> None:
    ticket = await create(http)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.port)
    writer.write(
        f"GET /api/tickets/{ticket['number']} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + b"Authorization: Bearer 1.2.\xff\xfe\r\nConnection: close\r\n\r\n"
    )
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:100]


async def test_expired_token_is_refused(http: aiohttp.ClientSession, server: Server) -> None:
    created = await create(http)
    signer = server.app[SERVICES].signer
    old = signer.issue(created["number"], now=0)
    async with http.get(
        f"/api/tickets/{created['number']}", headers={"Authorization": f"Bearer {old}"}
    ) as response:
        assert response.status == 401


async def test_reply_reopens_an_awaiting_ticket_and_closed_ones_refuse(
    http: aiohttp.ClientSession, server: Server
) -> None:
    created = await create(http)
    number, headers = created["number"], {"Authorization": f"Bearer {created['token']}"}
    anna = await operator(server)
    desk = Desk(server.app[SERVICES])
    await desk.operator_reply(number, anna, "Mi mandi la ricevuta di pagamento?", internal=False)
    await desk.operator_reply(number, anna, "nota interna: verificare con la banca", internal=True)
    await desk.set_status(number, "awaiting_user", anna)
    async with http.get(f"/api/tickets/{number}", headers=headers) as response:
        ticket = await response.json()
    assert ticket["status"] == "awaiting_user"
    assert ticket["status_label"] == "In attesa di risposta utente"
    assert ticket["operator"] == {"name": "Anna Bianchi"}
    bodies = [m["body"] for m in ticket["messages"]]
    assert "nota interna: verificare con la banca" not in bodies
    assert all("internal" not in m and "username" not in m for m in ticket["messages"])
    async with http.post(
        f"/api/tickets/{number}/messages",
        data=form(
            {"body": "Ecco la ricevuta del pagamento."}, ("ricevuta.pdf", PDF, "application/pdf")
        ),
        headers=headers,
    ) as response:
        assert response.status == 201, await response.text()
    async with http.get(f"/api/tickets/{number}", headers=headers) as response:
        ticket = await response.json()
    assert ticket["status"] == "open"
    assert ticket["messages"][-1]["attachments"][0]["filename"] == "ricevuta.pdf"
    await desk.set_status(number, "closed", anna)
    async with http.post(
        f"/api/tickets/{number}/messages",
        json={"body": "Un'altra domanda ancora."},
        headers=headers,
    ) as response:
        assert response.status == 409
        assert "nuovo ticket" in (await response.json())["error"]["message"]


async def test_half_an_emoji_is_a_bad_request_for_a_ticket_and_a_reply(
    http: aiohttp.ClientSession,
) -> None:
    # A client that cuts a string inside an emoji sends a lone surrogate, which no file or
    # database can store: refused up front, never a 500 after the checks.
    cut = json.dumps({**VALID, "message": VALID["message"] + " \ud83d"}, ensure_ascii=True)
    headers = {"Content-Type": "application/json"}
    async with http.post("/api/tickets", data=cut, headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_request"
    ticket = await create(http)
    headers["Authorization"] = f"Bearer {ticket['token']}"
    reply = json.dumps({"body": "Grazie \ud83d"}, ensure_ascii=True)
    async with http.post(
        f"/api/tickets/{ticket['number']}/messages", data=reply, headers=headers
    ) as response:
        assert response.status == 400


async def test_a_follow_up_references_the_closed_ticket(
    http: aiohttp.ClientSession, server: Server
) -> None:
    old = await create(http)
    created = await create(http, references=f"#{old['number']}")
    ticket = await server.app[SERVICES].storage.tickets.get(created["number"])
    assert ticket is not None and ticket.references == old["number"]
    # the student's receipt says the office has the history, so it need not be told again
    [mail] = ticket.outbox
    assert f"- Segue il ticket: {old['number']} (l'operatore può leggerlo)\n" in mail.text
    assert f"<td>{old['number']} (l'operatore può leggerlo)</td>" in mail.html
    first = await server.app[SERVICES].storage.tickets.get(old["number"])
    assert first is not None and "Segue il ticket" not in first.outbox[0].text
    # Someone else's ticket cannot be referenced.
    async with http.post(
        "/api/tickets", json={**VALID, "email": "x@example.com", "references": old["number"]}
    ) as response:
        assert response.status == 422
        refused = (await response.json())["error"]["fields"]["references"]
        assert refused.startswith("Questo numero non è di un tuo ticket")


async def test_guessing_the_referenced_number_of_an_email_is_a_throttled_lookup(
    http: aiohttp.ClientSession,
) -> None:
    victim = await create(http)
    statuses = []
    for n in range(11):
        guess = f"{(int(victim['number']) + 1 + n) % 1_000_000:06d}"
        async with http.post("/api/tickets", json={**VALID, "references": guess}) as response:
            statuses.append(response.status)
    assert statuses == [422] * 10 + [429]
    # Even the right number now waits, as a look-up of that email does.
    async with http.post(
        "/api/tickets", json={**VALID, "references": victim["number"]}
    ) as response:
        assert response.status == 429
    async with http.post(
        "/api/tickets/lookup", json={"email": VALID["email"], "number": victim["number"]}
    ) as response:
        assert response.status == 429


async def test_concurrent_creations_get_distinct_numbers(data_dir: Path) -> None:
    server = await start_server(make_config(data_dir, create_per_ip_per_minute=0))
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:
            results = await asyncio.gather(
                *(create(http, email=f"s{i}@example.com") for i in range(40))
            )
        assert len({r["number"] for r in results}) == 40
    finally:
        await server.stop()


async def test_a_long_multipart_message_arriving_in_pieces_is_kept_whole(server: Server) -> None:
    """A phone on a slow network delivers a form in several packets: nothing may be cut."""
    message = "Ho pagato la prima rata ma il portale non la registra. " * 60
    boundary = "----helpdesk-test"
    parts = []
    # the message first, as a form may order it: its end arrives in a later packet
    for key, value in sorted(
        {**VALID, "message": message}.items(), key=lambda kv: kv[0] != "message"
    ):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        )
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    head = (
        f"POST /api/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.config.port)
    cut = body.index(b"registra", len(body) // 2) - 1500
    writer.write(head + body[:cut])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.write(body[cut:])
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    [summary] = await server.app[SERVICES].storage.tickets.summaries()
    ticket = await server.app[SERVICES].storage.tickets.get(summary.number)
    assert ticket is not None and ticket.messages[0].body == message.strip()


async def test_lookup_takes_json_only_and_keeps_no_file(
    http: aiohttp.ClientSession, server: Server
) -> None:
    async with http.post(
        "/api/tickets/lookup",
        data=form({"email": "a@example.com", "number": "000001"}, ("a.png", PNG, "image/png")),
    ) as response:
        assert response.status == 400
    assert attachment_files(server) == []


async def test_short_replies_and_file_only_replies(http: aiohttp.ClientSession) -> None:
    created = await create(http)
    number, headers = created["number"], {"Authorization": f"Bearer {created['token']}"}
    async with http.post(
        f"/api/tickets/{number}/messages", json={"body": "ok grazie"}, headers=headers
    ) as response:
        assert response.status == 201, await response.text()
    async with http.post(
        f"/api/tickets/{number}/messages",
        data=form({"body": ""}, ("ricevuta.pdf", PDF, "application/pdf")),
        headers=headers,
    ) as response:
        assert response.status == 201, await response.text()
    async with http.post(
        f"/api/tickets/{number}/messages", json={"body": "   "}, headers=headers
    ) as response:
        assert response.status == 422


async def test_plus_addresses_share_one_creation_limit(http: aiohttp.ClientSession) -> None:
    statuses = []
    for n in range(6):
        async with http.post(
            "/api/tickets", json={**VALID, "email": f"mario.rossi+{n}@example.com"}
        ) as response:
            statuses.append(response.status)
    assert statuses == [201] * 5 + [429]


async def test_a_burst_of_concurrent_guesses_cannot_pass_the_limit(
    http: aiohttp.ClientSession, server: Server
) -> None:
    created = await create(http)

    async def guess(n: int) -> int:
        async with http.post(
            "/api/tickets/lookup",
            json={"email": f"intruso{n}@example.com", "number": created["number"]},
        ) as response:
            return response.status

    statuses = await asyncio.gather(*(guess(n) for n in range(60)))
    limit = server.app[SERVICES].limits.lookup_failures_per_number.limit
    assert statuses.count(404) <= limit
    assert statuses.count(429) == 60 - statuses.count(404)


async def test_students_behind_one_address_mistyping_once_each_do_not_lock_it(
    http: aiohttp.ClientSession,
) -> None:
    """A campus network: fifty students mistype their number once each, then one gets it
    right. Each email and each number failed once; only the address failed fifty times."""
    created = await create(http)
    for n in range(50):
        async with http.post(
            "/api/tickets/lookup",
            json={"email": f"studente{n}@example.com", "number": f"{n:06d}"},
        ) as response:
            assert response.status == 404
    async with http.post(
        "/api/tickets/lookup", json={"email": VALID["email"], "number": created["number"]}
    ) as response:
        assert response.status == 200


async def test_a_successful_lookup_is_not_counted_as_a_failure(
    http: aiohttp.ClientSession,
) -> None:
    created = await create(http)
    for _ in range(25):
        async with http.post(
            "/api/tickets/lookup", json={"email": VALID["email"], "number": created["number"]}
        ) as response:
            assert response.status == 200


async def test_the_opened_mail_names_the_topic_as_the_student_chose_it(
    http: aiohttp.ClientSession, server: Server
) -> None:
    created = await create(http)
    ticket = await server.app[SERVICES].storage.tickets.get(created["number"])
    assert ticket is not None
    topic, subtopic = server.app[SERVICES].faq.index.labels(ticket.topic, ticket.subtopic, "it")
    [mail] = ticket.outbox
    assert f"{topic} – {subtopic}" in mail.text
    assert "tasse-pagamenti" not in mail.text


@pytest.mark.parametrize(
    ("sent", "extension", "kept"),
    [
        ("carta d’identità – fronte.pdf", ".pdf", "carta d'identità - fronte.pdf"),
        ("../../etc/passwd", ".pdf", "passwd.pdf"),
        ('a"b<c>.png', ".png", "a_b_c_.png"),
        ("photo.jpg.html", ".jpg", "photo.jpg.jpg"),
        ("", ".png", "allegato.png"),
        # commas kept; a long name cut between words, with no bracket left open
        ("Modulo iscrizione 2026-27 (versione definitiva, firmabile digitalmente) da "
         "inviare alla segreteria.pdf", ".pdf",
         "Modulo iscrizione 2026-27 (versione definitiva, firmabile digitalmente) da.pdf"),
        ("Modulo 2026 (versione definitiva firmabile digitalmente dal dirigente della "
         "segreteria studenti).pdf", ".pdf", "Modulo 2026.pdf"),
        ("Ricevuta " + "x" * 90 + ".pdf", ".pdf", "Ricevuta " + "x" * 71 + ".pdf"),
    ],
)
def test_a_file_keeps_a_readable_name_safe_in_a_header(
    sent: str, extension: str, kept: str
) -> None:
    assert clean_filename(sent, extension) == kept


async def test_accented_file_names_survive_the_download(http: aiohttp.ClientSession) -> None:
    # as a browser sends it: the UTF-8 name as it is, not percent-encoded
    data = aiohttp.FormData(quote_fields=False)
    for key, value in VALID.items():
        data.add_field(key, value)
    data.add_field("attachment", io.BytesIO(PNG), filename="ricevuta_città.png")
    async with http.post("/api/tickets", data=data) as response:
        created = await response.json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    async with http.get(f"/api/tickets/{created['number']}", headers=headers) as response:
        [attachment] = (await response.json())["messages"][0]["attachments"]
    url = f"/api/tickets/{created['number']}/attachments/{attachment['id']}"
    async with http.get(url, headers=headers) as response:
        disposition = response.headers["Content-Disposition"]
    assert disposition.isascii()
    assert "filename*=UTF-8''ricevuta_citt%C3%A0.png" in disposition
