"""The /console namespace over real sockets: two operators and a student on one ticket, who may
connect at all, and which events reach whom."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.conftest import Server, make_config, start_server
from tests.web.conftest import (
    ANNA,
    IDLE,
    LAURA,
    MARCO,
    Console,
    Factory,
    OperatorSocket,
    Recorder,
    StudentSocket,
    age_session,
    create_account,
    open_ticket,
    stored_session,
)
from web.console import namespace as console_module
from web.http.keys import SERVICES

# What a student's socket may ever receive. Anything else (queue, viewers, presence, notes,
# typing of colleagues) is operator business.
STUDENT_EVENTS = {
    "ticket", "operator_typing", "student_online", "error", "state", "bot", "typing", "wait"
}


async def operator_socket(
    server: Server, console: Console, sockets: list[Recorder], **auth: Any
) -> OperatorSocket:
    socket = OperatorSocket()
    sockets.append(socket)
    await socket.connect(
        server, cookie=console.cookie_header, auth={"csrf_token": console.csrf, **auth}
    )
    return socket


async def student_socket(server: Server, token: str, sockets: list[Recorder]) -> StudentSocket:
    socket = StudentSocket()
    sockets.append(socket)
    await socket.watch(server, token)
    return socket


def names(payload: dict[str, Any]) -> list[str]:
    return [o["name"] for o in payload["operators"]]


# --- who may connect ------------------------------------------------------------------------


async def refused(
    server: Server, *, cookie: str | None, auth: Any, origin: str | None = None
) -> str:
    socket = OperatorSocket()
    with pytest.raises(socketio.exceptions.ConnectionError) as error:
        await socket.connect(server, cookie=cookie, auth=auth, origin=origin)
    await socket.client.disconnect()
    assert "failed to connect" in str(error.value)
    return str(socket.refusal)


async def test_the_console_socket_wants_a_session_and_its_csrf_token(
    server: Server, signed_in: Factory
) -> None:
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    ticket = await open_ticket(server)
    assert "unauthorized" in await refused(server, cookie=None, auth={"csrf_token": laura.csrf})
    assert "csrf" in await refused(server, cookie=laura.cookie_header, auth=None)
    assert "csrf" in await refused(server, cookie=laura.cookie_header, auth={"csrf_token": "x"})
    # Marco's token with Laura's cookie: each token belongs to its own session
    assert "csrf" in await refused(
        server, cookie=laura.cookie_header, auth={"csrf_token": marco.csrf}
    )
    # a student's ticket token opens nothing here, as cookie or as auth
    assert "unauthorized" in await refused(
        server, cookie=None, auth={"token": ticket.token, "csrf_token": ticket.token}
    )
    assert "unauthorized" in await refused(
        server, cookie="helpdesk_console=" + ticket.token, auth={"csrf_token": ticket.token}
    )


async def test_an_embedding_university_page_may_open_the_chat_but_never_the_console(
    data_dir: Path,
) -> None:
    config = replace(make_config(data_dir), allowed_origins=("https://www.unipg.it",))
    server = await start_server(config)
    laura = Console(server)
    student = StudentSocket()
    try:
        await create_account(server, LAURA)
        assert (await laura.login(LAURA))[0] == 200
        assert "forbidden" in await refused(
            server,
            cookie=laura.cookie_header,
            auth={"csrf_token": laura.csrf},
            origin="https://www.unipg.it",
        )
        await student.client.connect(
            server.url,
            namespaces=["/chat"],
            transports=["websocket"],
            headers={"Origin": "https://www.unipg.it"},
        )
        assert student.client.connected
    finally:
        await student.client.disconnect()
        await laura.close()
        await server.stop()


# --- two operators and a student, live --------------------------------------------------------


async def test_two_operators_and_a_student_on_one_ticket(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    a = await operator_socket(server, laura, sockets)
    await a.next("presence", where=lambda p: names(p) == ["Laura Bianchi"])
    b = await operator_socket(server, marco, sockets)
    for socket in (a, b):
        await socket.next("presence", where=lambda p: names(p) == ["Laura Bianchi", "Marco Verdi"])

    # a student opens a ticket: the whole team sees it arrive
    ticket = await open_ticket(server, name="Esposito Chiara")
    number = ticket.number
    for socket in (a, b):
        event = await socket.next("queue")
        assert event["reason"] == "created" and event["ticket"]["number"] == number
        assert event["ticket"]["name"] == "Esposito Chiara" and event["ticket"]["operator"] is None
    student = await student_socket(server, ticket.token, sockets)

    # Laura opens it; then Marco: both are warned that the other is there
    await a.emit("open_ticket", {"number": number})
    assert names(await a.next("viewers")) == ["Laura Bianchi"]
    assert (await a.next("student_online")) == {"number": number, "online": True}
    await b.emit("open_ticket", {"number": int(number)})
    for socket in (a, b):
        seen = await socket.next("viewers", where=lambda p: len(p["operators"]) == 2)
        assert seen["number"] == number
        assert names(seen) == ["Laura Bianchi", "Marco Verdi"]

    # the student writes; both operators see it
    await student.emit("student_typing", {"token": ticket.token, "typing": True})
    for socket in (a, b):
        assert await socket.next("student_typing") == {"number": number, "typing": True}

    # Marco starts a reply: Laura is warned, the student sees "Marco Verdi" and nothing more
    await b.emit("operator_typing", {"number": number, "typing": True})
    warning = await a.next("operator_typing")
    assert warning == {
        "number": number,
        "typing": True,
        "name": "Marco Verdi",
        "username": "mverdi",
        "internal": False,
    }
    assert await student.next("operator_typing") == {
        "number": number,
        "typing": True,
        "name": "Marco Verdi",
    }
    # Laura writes a note: Marco knows, the student does not
    await a.emit("operator_typing", {"number": number, "typing": True, "internal": True})
    note_typing = await b.next("operator_typing")
    assert note_typing["internal"] is True and note_typing["name"] == "Laura Bianchi"
    await student.nothing("operator_typing")

    # Laura takes the ticket: everybody learns who holds it
    status, _ = await laura.post(f"/api/console/tickets/{number}/assign", {"username": ""})
    assert status == 200
    for socket in (a, b):
        event = await socket.next("queue", where=lambda p: p["reason"] == "assigned")
        assert event["ticket"]["operator"] == {"username": "lbianchi", "name": "Laura Bianchi"}
        assert event["by"] == "lbianchi"
    view = await student.next("ticket", where=lambda t: t["operator"] is not None)
    assert view["operator"] == {"name": "Laura Bianchi"}

    # Marco's reply bounces off Laura's ticket: the student is not answered twice
    status, body = await marco.post(
        f"/api/console/tickets/{number}/messages", {"body": "Buongiorno, sono Marco."}
    )
    assert status == 409 and body["error"]["code"] == "held_by_other"

    # Laura replies: live to the student (who is online, so no mail), and to Marco's screen
    _, view_before = await laura.get(f"/api/console/tickets/{number}")
    seen_by_marco = view_before["messages"][-1]["id"]
    status, body = await laura.post(
        f"/api/console/tickets/{number}/messages",
        {
            "body": "Buongiorno, il pagamento risulta registrato.",
            "after": view_before["messages"][-1]["id"],
        },
    )
    assert status == 201 and body["mailed"] is False
    view = await student.next("ticket", where=lambda t: len(t["messages"]) == 2)
    reply = view["messages"][-1]
    assert reply["author"] == "operator" and reply["name"] == "Laura Bianchi"
    assert reply["body"] == "Buongiorno, il pagamento risulta registrato."
    assert "username" not in reply and "lbianchi" not in str(view)
    for socket in (a, b):
        event = await socket.next("queue", where=lambda p: p["reason"] == "message")
        assert event["ticket"]["last_author"] == "operator"
    message = await b.next("ticket_message")
    assert message["number"] == number
    assert message["message"]["body"] == "Buongiorno, il pagamento risulta registrato."
    stored = await server.app[SERVICES].storage.tickets.get(number)
    assert stored is not None and [m.kind for m in stored.outbox] == ["opened"]

    # Laura hands the ticket over to Marco, who was writing since before her reply
    status, _ = await laura.post(f"/api/console/tickets/{number}/assign", {"username": "mverdi"})
    assert status == 200
    event = await b.next("queue", where=lambda p: p["reason"] == "assigned")
    assert event["ticket"]["operator"]["username"] == "mverdi" and event["by"] == "lbianchi"
    view = await student.next("ticket", where=lambda t: t["operator"] == {"name": "Marco Verdi"})
    status, body = await marco.post(
        f"/api/console/tickets/{number}/messages",
        {"body": "Confermo quanto scritto dalla collega.", "after": seen_by_marco},
    )
    assert status == 409 and body["error"]["code"] == "reply_conflict"
    assert "Laura Bianchi ha appena risposto" in body["error"]["message"]

    # an internal note reaches Laura, never the student
    status, _ = await marco.post(
        f"/api/console/tickets/{number}/messages",
        {"body": "Ho verificato su Esse3: tutto a posto.", "internal": True},
    )
    assert status == 201
    note = await a.next(
        "ticket_message",
        where=lambda p: (
            p["message"]["author"] == "operator" and p["message"]["name"] == "Marco Verdi"
        ),
    )
    assert note["message"]["internal"] is True
    await student.nothing("ticket")

    # Marco closes the ticket: the student sees it closed
    status, _ = await marco.post(f"/api/console/tickets/{number}/status", {"status": "closed"})
    assert status == 200
    view = await student.next("ticket", where=lambda t: t["status"] == "closed")
    assert view["status_label"] == "Chiuso"

    # nothing of the operators' own traffic ever reached the student's socket
    assert {name for name, _ in student.seen} <= STUDENT_EVENTS
    assert all("Ho verificato" not in str(data) for _, data in student.seen)
    assert all(
        "mverdi" not in str(data) and "lbianchi" not in str(data) for _, data in student.seen
    )

    # the student closes the page: the operators see it, and the next reply goes by mail
    await student.close()
    assert await a.next("student_online") == {"number": number, "online": False}
    status, _ = await marco.post(f"/api/console/tickets/{number}/status", {"status": "open"})
    assert status == 200
    status, body = await marco.post(
        f"/api/console/tickets/{number}/messages", {"body": "Per completezza, le scrivo ancora."}
    )
    assert status == 201 and body["mailed"] is True

    # Marco leaves the ticket, then the console: Laura sees both
    await b.emit("close_ticket", {"number": number})
    assert names(await a.next("viewers", where=lambda p: len(p["operators"]) == 1)) == [
        "Laura Bianchi"
    ]
    await b.close()
    assert names(await a.next("presence")) == ["Laura Bianchi"]


async def test_a_reply_is_mailed_when_the_student_is_not_watching(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    status, body = await laura.post(
        f"/api/console/tickets/{ticket.number}/messages", {"body": "Le rispondo per email."}
    )
    assert status == 201 and body["mailed"] is True
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and [m.kind for m in stored.outbox] == ["opened", "reply"]


async def test_a_socket_reaches_only_the_tickets_it_opened(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    a = await operator_socket(server, laura, sockets)
    b = await operator_socket(server, marco, sockets)
    ticket = await open_ticket(server)
    student = await student_socket(server, ticket.token, sockets)
    await a.emit("open_ticket", {"number": ticket.number})
    await a.next("viewers")
    # Marco never opened it: his typing goes nowhere
    await b.emit("operator_typing", {"number": ticket.number, "typing": True})
    await a.nothing("operator_typing")
    await student.nothing("operator_typing", wait=0.2)
    # and messages of a ticket he has not open do not reach him (the queue line does)
    await student.emit("student_typing", {"token": ticket.token, "typing": True})
    await a.next("student_typing")
    await b.nothing("student_typing", "ticket_message", wait=0.3)
    # nonsense is answered with an error, in the operator's language
    await b.emit("open_ticket", {"number": "999999x"})
    error = await b.next("error")
    assert error["code"] == "not_found"
    assert error["message"] == "Quello che cerchi non esiste o non è più disponibile."
    # a payload of the wrong shape is refused by the one rule of every event
    for payload in (None, "000001", {"number": True}, {"number": None}):
        await b.emit("open_ticket", payload)
        assert (await b.next("error"))["code"] == "bad_request"
    english = await operator_socket(server, await signed_in(ANNA), sockets, lang="en")
    await english.emit("open_ticket", {"number": "abc"})
    assert (await english.next("error"))["message"].startswith("What you're looking for")


async def test_the_student_sees_typing_only_from_an_operator_who_can_send(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    """Laura holds the ticket: Marco, whose Send button is off, may draft a reply, but the
    student is not told that someone is answering, and Laura hears of it only as news."""
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    a = await operator_socket(server, laura, sockets)
    b = await operator_socket(server, marco, sockets)
    ticket = await open_ticket(server)
    number = ticket.number
    student = await student_socket(server, ticket.token, sockets)
    status, _ = await laura.post(f"/api/console/tickets/{number}/assign", {"username": ""})
    assert status == 200
    await student.next("ticket", where=lambda t: t["operator"] is not None)
    for socket in (a, b):
        await socket.emit("open_ticket", {"number": number})
        await socket.next("student_online")

    await b.emit("operator_typing", {"number": number, "typing": True})
    seen = await a.next("operator_typing")
    assert seen["username"] == "mverdi" and seen["typing"] is True
    await student.nothing("operator_typing", wait=0.3)

    # the holder's typing reaches the student
    await a.emit("operator_typing", {"number": number, "typing": True})
    assert await student.next("operator_typing") == {
        "number": number, "typing": True, "name": "Laura Bianchi"
    }
    # and Marco's stop does not hide it: the student never heard him start
    await b.emit("operator_typing", {"number": number, "typing": False})
    await a.next("operator_typing", where=lambda p: p["typing"] is False)
    await student.nothing("operator_typing", wait=0.3)
    # and on a closed ticket, nobody's: the student could not even answer
    await a.emit("operator_typing", {"number": number, "typing": False})
    await student.next("operator_typing", where=lambda p: p["typing"] is False)
    status, _ = await laura.post(f"/api/console/tickets/{number}/status", {"status": "closed"})
    assert status == 200
    await a.emit("operator_typing", {"number": number, "typing": True})
    await student.nothing("operator_typing", wait=0.3)


async def test_logout_and_deactivation_close_the_sockets_at_once(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    laura, marco, anna = await signed_in(LAURA), await signed_in(MARCO), await signed_in(ANNA)
    a = await operator_socket(server, laura, sockets)
    b = await operator_socket(server, marco, sockets)
    c = await operator_socket(server, anna, sockets)
    await c.next("presence", where=lambda p: len(p["operators"]) == 3)

    assert (await laura.post("/api/console/logout"))[0] == 204
    assert await a.next("session_expired") == {"reason": "logout"}
    await asyncio.wait_for(a.disconnected.wait(), 5)
    await c.next("presence", where=lambda p: names(p) == ["Anna Neri", "Marco Verdi"])

    assert (await anna.post("/api/console/operators/mverdi", {"active": False}))[0] == 200
    assert await b.next("session_expired") == {"reason": "revoked"}
    await asyncio.wait_for(b.disconnected.wait(), 5)
    await c.next("presence", where=lambda p: names(p) == ["Anna Neri"])


async def test_an_idle_console_is_closed_by_the_sweeper(
    server: Server, signed_in: Factory, sockets: list[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_module, "SWEEP_SECONDS", 0.05)
    laura = await signed_in(LAURA)
    a = await operator_socket(server, laura, sockets)
    await a.next("presence")
    await age_session(server, laura.session_id, idle=IDLE + 1)
    assert await a.next("session_expired") == {"reason": "expired"}
    await asyncio.wait_for(a.disconnected.wait(), 5)


async def test_socket_activity_counts_as_activity(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    laura = await signed_in(LAURA)
    a = await operator_socket(server, laura, sockets)
    await a.next("presence")
    await age_session(server, laura.session_id, idle=IDLE - 2)  # two seconds left
    almost_gone = await stored_session(server, laura.session_id)
    assert almost_gone is not None
    await a.emit("active", {})
    for _ in range(50):
        now = await stored_session(server, laura.session_id)
        if now is not None and now.last_seen > almost_gone.last_seen:
            break
        await asyncio.sleep(0.02)
    assert now is not None and now.last_seen - almost_gone.last_seen > IDLE - 10  # restarted
    assert (await laura.get("/api/console/me"))[0] == 200
    # once the session has run out, the next event closes the socket
    await age_session(server, laura.session_id, idle=IDLE + 1)
    await a.emit("open_ticket", {"number": "000001"})
    assert await a.next("session_expired") == {"reason": "expired"}


async def test_a_name_an_admin_corrects_is_the_one_the_student_sees_typing(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    anna, marco = await signed_in(ANNA), await signed_in(MARCO)
    socket = await operator_socket(server, marco, sockets)
    ticket = await open_ticket(server)
    student = await student_socket(server, ticket.token, sockets)
    await socket.emit("open_ticket", {"number": ticket.number})
    await socket.next("student_online")
    # Marco signed in as "Marco Verdi" hours ago; the office fixes his name meanwhile
    fixed = "Marco D'Angelo Verdi"
    status, _ = await anna.post(f"/api/console/operators/{MARCO.username}", {"name": fixed})
    assert status == 200
    await socket.emit("operator_typing", {"number": ticket.number, "typing": True})
    typing = await student.next("operator_typing")
    assert typing == {"number": ticket.number, "typing": True, "name": fixed}
    presence = await socket.next("presence", where=lambda p: fixed in names(p))
    assert names(presence) == [fixed]
