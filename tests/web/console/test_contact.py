"""An operator corrects a student's mistyped contact details, on the data folder and on
PostgreSQL: the ticket answers to the new email everywhere (look-up, search, privacy), no
longer to the old one, and the student who holds its token keeps reading it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bot.i18n import t
from tests.conftest import Server
from tests.web.backends import on_both_backends  # noqa: F401 - `server`, twice
from tests.web.conftest import (
    ANNA,
    LAURA,
    MARCO,
    Console,
    Factory,
    OperatorSocket,
    Recorder,
    open_ticket,
)
from tests.web.console.test_privacy import student_get, student_lookup
from tests.web.student.test_chat import Student, to_attachment_step
from web.desk.students import OPENING

MISTYPED = "mario.rosi@example.org"
REAL = "mario.rossi@example.org"


def contact(number: str) -> str:
    return f"/api/console/tickets/{number}/contact"


async def student_view(server: Server, number: str, token: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}/api/tickets/{number}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
        view: dict[str, Any] = await response.json()
        return view


async def found_by(console: Console, query: str) -> list[str]:
    status, body = await console.get("/api/console/tickets", q=query)
    assert status == 200
    return [item["number"] for item in body["tickets"]]


async def test_the_ticket_answers_to_the_corrected_email_and_no_longer_to_the_old_one(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server, email=MISTYPED)
    laura, anna = await signed_in(LAURA), await signed_in(ANNA)

    status, view = await laura.post(
        contact(ticket.number),
        {"email": " Mario.Rossi@Example.org ", "name": "Rossi Mario Luigi",
         "phone": "333 765 4321"},
    )
    assert status == 200, view
    # cleaned as when a ticket is opened
    assert (view["email"], view["name"], view["phone"]) == (
        REAL, "Rossi Mario Luigi", "+393337654321"
    )
    assert await student_lookup(server, REAL, ticket.number) == 200
    assert await student_lookup(server, "MARIO.ROSSI@example.org", ticket.number) == 200
    assert await student_lookup(server, MISTYPED, ticket.number) == 404
    # the token the student got when opening it still opens it
    assert await student_get(server, f"/api/tickets/{ticket.number}", ticket.token) == 200

    assert await found_by(laura, REAL) == [ticket.number]
    assert await found_by(laura, MISTYPED) == []
    assert await found_by(laura, "3337654321") == [ticket.number]
    _, listed = await laura.get("/api/console/tickets")
    [line] = [item for item in listed["tickets"] if item["number"] == ticket.number]
    assert (line["email"], line["name"]) == (REAL, "Rossi Mario Luigi")

    _, taken = await anna.post("/api/console/privacy/preview", {"email": REAL})
    assert taken["numbers"] == [ticket.number]
    _, left = await anna.post("/api/console/privacy/preview", {"email": MISTYPED})
    assert left["numbers"] == []
    status, exported = await anna.get(f"/api/console/tickets/{ticket.number}/export")
    assert status == 200
    assert exported["email"] == REAL
    assert [x["number"] for x in exported["tickets"]] == [ticket.number]


async def test_the_export_keeps_the_chat_of_a_ticket_whose_email_was_corrected(
    server: Server, signed_in: Factory
) -> None:
    # The chat holds the mistyped address only because this student typed it there; the
    # export lists the mail sent to it anyway. It is the student's chat, not a shared one.
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_attachment_step(student, email=MISTYPED)
    await student.choose("skip_attachment")
    done = await student.choose("confirm")
    opened = next(e for e in done if e["kind"] == "ticket")["data"]
    await student.close()
    laura, anna = await signed_in(LAURA), await signed_in(ANNA)
    status, _ = await laura.post(contact(opened["number"]), {"email": REAL})
    assert status == 200
    status, exported = await anna.get(f"/api/console/tickets/{opened['number']}/export")
    assert status == 200
    conversation = exported["tickets"][0]["conversation"]
    assert conversation is not None and conversation["id"] == student.conversation_id
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}/api/tickets/{opened['number']}/export",
        headers={"Authorization": f"Bearer {opened['token']}"},
    ) as response:
        assert (await response.json())["tickets"][0]["conversation"] is not None


async def test_a_wrong_value_is_refused_with_its_reason_and_nothing_changes(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server, email=MISTYPED)
    laura, marco = await signed_in(LAURA), await signed_in(MARCO, "en")

    status, body = await laura.post(
        contact(ticket.number), {"email": "mario.rossi@gmail.con", "name": "Rossi Mario Luigi"}
    )
    assert status == 422
    assert body["error"]["code"] == "validation_failed"
    assert body["error"]["fields"] == {"email": t("wrong_email.typo", "it")}
    assert "gmail" in body["error"]["fields"]["email"]  # the same words the student reads
    status, body = await marco.post(contact(ticket.number), {"phone": "12"})
    assert status == 422
    assert body["error"]["fields"] == {"phone": t("wrong_phone.too_short", "en")}

    # the values it already has: nothing to correct, nothing said in the thread
    status, _ = await laura.post(contact(ticket.number), {"email": MISTYPED.upper()})
    assert status == 200
    _, view = await laura.get(f"/api/console/tickets/{ticket.number}")
    assert (view["email"], view["name"], view["phone"]) == (
        MISTYPED, "Rossi Mario", "+393331234567"
    )
    assert [m["author"] for m in view["messages"]] == ["student"]
    assert await student_lookup(server, MISTYPED, ticket.number) == 200

    status, body = await laura.post(contact("999999" if ticket.number != "999999" else "999998"),
                                    {"email": REAL})
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_only_an_operator_s_session_with_its_csrf_token_corrects(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server, email=MISTYPED)
    laura = await signed_in(LAURA)
    status, body = await laura.post(contact(ticket.number), {"email": REAL}, csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf")
    # the student, with the ticket's own token, is no operator
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}{contact(ticket.number)}", json={"email": REAL},
        headers={"Authorization": f"Bearer {ticket.token}"},
    ) as response:
        assert response.status == 401
    assert await student_lookup(server, MISTYPED, ticket.number) == 200
    assert await student_lookup(server, REAL, ticket.number) == 404


async def test_the_thread_says_who_corrected_which_field_but_never_the_address(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    ticket = await open_ticket(server, email=MISTYPED)
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    # Marco has the ticket open in his console: he sees the change without reloading
    watching = OperatorSocket()
    sockets.append(watching)
    await watching.connect(server, cookie=marco.cookie_header, auth={"csrf_token": marco.csrf})
    await watching.emit("open_ticket", {"number": ticket.number})
    await watching.next("viewers", where=lambda p: p.get("number") == ticket.number)

    status, _ = await laura.post(contact(ticket.number), {"email": REAL, "name": "Rossi Mario"})
    assert status == 200

    queued = await watching.next("queue", where=lambda p: p["reason"] == "contact")
    assert (queued["ticket"]["number"], queued["ticket"]["email"]) == (ticket.number, REAL)
    assert queued["by"] == LAURA.username
    said = await watching.next("ticket_message", where=lambda p: p["number"] == ticket.number)
    assert said["message"]["author"] == "system"
    # only the email changed: the name was the one it had
    expected = t("contact.corrected", "it", operator=LAURA.name, fields="email")
    assert said["message"]["body"] == expected

    seen = await student_view(server, ticket.number, ticket.token)
    assert [(m["author"], m["body"]) for m in seen["messages"][1:]] == [("system", expected)]
    _, view = await marco.get(f"/api/console/tickets/{ticket.number}")
    assert [(m["author"], m["body"]) for m in view["messages"][1:]] == [("system", expected)]
    for message in view["messages"][1:]:
        assert "rosi" not in message["body"] and "example.org" not in message["body"]

    # the phone, in an English ticket: the fields in the student's language
    english = await open_ticket(server, lang="en")
    status, _ = await laura.post(contact(english.number), {"phone": "+39 333 111 2222"})
    assert status == 200
    seen = await student_view(server, english.number, english.token)
    assert seen["messages"][-1]["body"] == (
        "Laura Bianchi corrected the ticket's contact details: mobile phone."
    )


async def test_an_erased_ticket_takes_no_contact_details_again(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server, email=MISTYPED)
    laura, anna = await signed_in(LAURA), await signed_in(ANNA)
    assert (await anna.post("/api/console/privacy/erase", {"email": MISTYPED}))[0] == 200

    status, body = await laura.post(contact(ticket.number), {"email": REAL})
    assert status == 409
    assert body["error"]["code"] == "ticket_erased"
    assert body["error"]["message"] == t("error.ticket_erased", "it")
    assert await student_lookup(server, REAL, ticket.number) == 404
    assert await found_by(laura, REAL) == []


async def lookup_token(server: Server, email: str, number: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/api/tickets/lookup", json={"email": email, "number": number}
    ) as response:
        assert response.status == 200
        token: str = (await response.json())["token"]
        return token


async def test_a_look_up_with_the_mistyped_email_opens_the_ticket_no_more_once_corrected(
    server: Server, signed_in: Factory
) -> None:
    # Whoever owns the mistyped address had the "opened" mail, and looked the ticket up with
    # it: once corrected, the replies and the export (every ticket of the new email) are not
    # theirs to read, neither by a token nor on the page they keep open.
    ticket = await open_ticket(server, email=MISTYPED)
    await asyncio.sleep(OPENING + 1)
    stranger = await lookup_token(server, MISTYPED, ticket.number)
    page = Student(server)
    await page.connect()
    await page.client.emit("watch_ticket", {"token": stranger}, namespace="/chat")
    assert (await page.next("ticket"))[1]["number"] == ticket.number
    laura = await signed_in(LAURA)

    status, _ = await laura.post(contact(ticket.number), {"email": REAL})
    assert status == 200
    status, _ = await laura.post(
        f"/api/console/tickets/{ticket.number}/messages", {"body": "Il tuo libretto è pronto."}
    )
    assert status in (200, 201)

    for path in ("", "/export"):
        assert await student_get(server, f"/api/tickets/{ticket.number}{path}", stranger) == 401
    heard = []
    while True:
        try:
            heard.append(await page.next("ticket", wait=1))
        except TimeoutError:
            break
    assert not any("libretto" in str(view) for _, view in heard)
    await page.client.emit("watch_ticket", {"token": stranger}, namespace="/chat")
    assert (await page.next("error", "ticket"))[0] == "error"
    await page.close()
    # the student's own token, from opening it, and a look-up with the right email do
    assert await student_get(server, f"/api/tickets/{ticket.number}", ticket.token) == 200
    found = await lookup_token(server, REAL, ticket.number)
    assert await student_get(server, f"/api/tickets/{ticket.number}/export", found) == 200
