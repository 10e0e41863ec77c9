"""An admin erases a student, and exports what is kept about them, through the console's HTTP API
on the real server, on the data folder and on PostgreSQL; then everything that could still find
or open that student is tried, and every file or row is searched for what was erased."""

from __future__ import annotations

import asyncio
import json
import secrets
import unicodedata
from dataclasses import astuple
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storage import Backend
from tests.conftest import Server
from tests.web.conftest import (
    ANNA,
    ELENA,
    LAURA,
    Factory,
    OperatorSocket,
    Recorder,
    StudentSocket,
    place_of,
)
from tests.web.privacy_scenario import EMAIL, Scenario, spread_student_data
from tests.web.student.test_chat import PNG, Student, to_attachment_step, upload
from web.http.keys import SERVICES

ERASE = "/api/console/privacy/erase"
PREVIEW = "/api/console/privacy/preview"


@pytest.fixture
def server(either_server: Server) -> Server:
    return either_server


async def student_get(server: Server, path: str, token: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status


async def student_lookup(server: Server, email: str, number: str) -> int:
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/api/tickets/lookup", json={"email": email, "number": number}
    ) as response:
        return response.status


async def figures(storage: Backend) -> list[Any]:
    """What the office's figures are computed from: every ticket's summary minus who it was,
    and the status history and message times of each."""
    return [
        (s.number, s.status, s.topic, s.subtopic, s.operator, s.created_at, s.updated_at,
         s.last_author)
        for s in await storage.tickets.summaries()
    ]


async def timelines(storage: Backend) -> dict[str, Any]:
    out = {}
    for s in await storage.tickets.summaries():
        ticket = await storage.tickets.get(s.number)
        assert ticket is not None
        out[s.number] = ([astuple(h) for h in ticket.history],
                         [(m.id, m.author, m.at, m.internal) for m in ticket.messages])
    return out


async def test_only_an_admin_with_the_csrf_token_may_erase(
    server: Server, signed_in: Factory
) -> None:
    laura, elena, anna = await signed_in(LAURA), await signed_in(ELENA), await signed_in(ANNA)
    for console in (laura, elena):
        for path in (ERASE, PREVIEW):
            status, body = await console.post(path, {"email": EMAIL})
            assert (status, body["error"]["code"]) == (403, "forbidden")
        status, _ = await console.get("/api/console/tickets/000001/export")
        assert status == 403
    status, body = await anna.post(ERASE, {"email": EMAIL}, csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf")
    for bad in ({"email": ""}, {"email": "nessuna-chiocciola"}, {"email": 42}, {}):
        status, body = await anna.post(ERASE, bad)
        assert status == 422 and "email" in body["error"]["fields"], bad


async def test_an_erasure_leaves_nothing_that_finds_or_opens_the_student(
    server: Server, signed_in: Factory, sockets: list[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: Scenario = await spread_student_data(server)
    services = server.app[SERVICES]
    storage = services.storage
    place, outbox = place_of(server), server.config.data_dir / "outbox"
    anna, laura = await signed_in(ANNA), await signed_in(LAURA)
    watcher = OperatorSocket()
    sockets.append(watcher)
    await watcher.connect(server, cookie=laura.cookie_header, auth={"csrf_token": laura.csrf})
    # The mails about these tickets reach the outbox folder (the embedded stand-in for SMTP).
    async def mailed() -> list[Path]:
        for _ in range(100):
            found = [p for p in outbox.glob("*.eml")
                     if seen.chat_number in p.name or seen.api_number in p.name]
            if len(found) >= 3:  # two "opened", one reply
                return found
            await asyncio.sleep(0.05)
        raise AssertionError("the mails were never written")

    assert len(await mailed()) == 3
    figures_before, timelines_before = await figures(storage), await timelines(storage)
    # Kept somewhere (a file, a row) before: the emails, a file, the thread, the chat.
    erased = ("mario.rossi", "carichi la ricevuta", "Gentile Mario", "Nota interna",
              "ha mangiato il foglio")
    for text in erased:
        assert await place.holds(text), text
    mine = (seen.chat_number, seen.api_number)

    status, body = await anna.post(PREVIEW, {"email": "  MARIO.Rossi@example.com "})
    assert status == 200
    assert body["tickets"] == 2 and sorted(body["numbers"]) == sorted(mine)

    status, body = await anna.post(ERASE, {"email": "Mario.ROSSI@Example.com"})

    assert (status, body) == (200, {"tickets": 2})
    # Operators watching the queue are told, without a name.
    told = [await watcher.next("queue", where=lambda p: p["reason"] == "anonymised")
            for _ in mine]
    assert sorted(p["ticket"]["number"] for p in told) == sorted(mine)
    assert all(p["ticket"]["email"] == p["ticket"]["name"] == "" for p in told)
    # No look-up, list, search or ticket page finds the student.
    for number in mine:
        assert await student_lookup(server, EMAIL, number) == 404
        assert (await anna.get(f"/api/console/tickets/{number}"))[0] == 404
    for query in ("", EMAIL, "rossi", "portale", "ricevuta", "carichi", *mine):
        status, listing = await anna.get("/api/console/tickets", status="open,awaiting_user,closed",
                                         assigned="all", q=query)
        assert status == 200
        assert {t["number"] for t in listing["tickets"]} & set(mine) == set(), query
        # only the other student's ticket, who is also a "Rossi Mario" and wrote "portale"
        assert sum(listing["counts"].values()) == (query in ("", "rossi", "portale")), query
    # The tokens issued before open nothing: not the ticket, its files, the export, the socket.
    for number, token, file in ((seen.chat_number, seen.chat_token, seen.chat_file),
                                (seen.api_number, seen.api_token, seen.api_file)):
        assert await student_get(server, f"/api/tickets/{number}", token) == 401
        assert await student_get(server, f"/api/tickets/{number}/export", token) == 401
        assert await student_get(server, f"/api/tickets/{number}/attachments/{file}", token) == 404
        assert await storage.attachments.read(file) is None
    student = StudentSocket()
    sockets.append(student)
    await student.client.connect(server.url, namespaces=["/chat"], transports=["websocket"],
                                 headers={"Origin": server.url}, wait_timeout=5)
    await student.emit("watch_ticket", {"token": seen.chat_token})
    assert (await student.next("ticket", "error"))["code"] == "unauthorized"
    assert await storage.conversations.get(seen.conversation_id) is None
    assert [p.name for p in outbox.glob("*.eml")
            if seen.chat_number in p.name or seen.api_number in p.name] == []
    # The text of the threads is gone, the student's and the operators'.
    for number in mine:
        record = json.dumps((await storage.tickets.get(number)).to_dict())  # type: ignore[union-attr]
        for text in ("rossi", "Rossi", "ricevuta", "Gentile", "Nota interna", "3331234567"):
            assert text not in record, (number, text)
    # Nor anywhere else: a file, a row, a mail, the chat, the audit, the FAQ events.
    for text in erased:
        assert not await place.holds(text), text
    # The other student is untouched and still opens their ticket.
    assert await student_get(server, f"/api/tickets/{seen.other_number}", seen.other_token) == 200
    # The figures count the same tickets, with the same dates and histories.
    assert await figures(storage) == figures_before
    assert await timelines(storage) == timelines_before
    # The audit says who and when, not whose data.
    entry = (await storage.audit.recent(limit=1))[0]
    assert (entry.actor, entry.action, entry.target, entry.detail) == (
        ANNA.username, "privacy.erased", "", {"tickets": 2}
    )
    # What was typed in the chat is gone from the FAQ events too.
    assert not [e for e in await storage.faq_events.recent() if "cane" in e.query]
    # The numbers are never drawn again, even when chance draws them first.
    draws = iter([int(seen.chat_number), int(seen.api_number), 123])
    monkeypatch.setattr(secrets, "randbelow", lambda _: next(draws))
    async with aiohttp.ClientSession() as http, http.post(f"{server.url}/api/tickets", json={
        "email": "nuovo@example.com", "name": "Bianchi Luca", "phone": "3331234567",
        "topic": "immatricolazioni", "subtopic": "scadenze", "message": "Quando scade?",
    }) as response:
        assert (await response.json())["number"] == "000123"
    # A second erasure finds nothing more.
    assert await anna.post(ERASE, {"email": EMAIL}) == (200, {"tickets": 0})


async def test_an_erasure_reaches_every_address_a_look_up_reaches(
    server: Server, signed_in: Factory
) -> None:
    """The ticket keeps the address in one Unicode form (bot.validate.plain_email), and a
    look-up reads what it is given the same way: an accent sent as a letter and a combining
    sign (pasted from a Mac's file or a PDF), an ＠ from a Chinese keyboard. An erasure asked
    with that same text must take the tickets the look-up still opens."""
    async with aiohttp.ClientSession() as http, http.post(f"{server.url}/api/tickets", json={
        "email": "josé.garcía@example.com", "name": "García José", "phone": "3331234567",
        "topic": "immatricolazioni", "subtopic": "scadenze", "message": "Quando scade?",
    }) as response:
        number = (await response.json())["number"]
    typed = unicodedata.normalize("NFD", "José.García＠example.com")
    assert await student_lookup(server, typed, number) == 200
    anna = await signed_in(ANNA)
    status, body = await anna.post(PREVIEW, {"email": typed})
    assert status == 200, body
    assert body["numbers"] == [number]
    assert await anna.post(ERASE, {"email": typed}) == (200, {"tickets": 1})
    assert await student_lookup(server, "josé.garcía@example.com", number) == 404


async def test_an_address_kept_before_it_was_made_plain_is_still_found_and_erased(
    server: Server, signed_in: Factory
) -> None:
    """Until full-width letters and dots became ASCII (bot.validate.plain_email), a ticket kept
    the address as a Chinese keyboard typed it. The student types it so again, the console
    shows it so, the register of erasure requests holds it so: the look-up must still open the
    ticket, and the erasure still take it."""
    legacy = "ｚｈａｎｇ．wei@163.com"
    async with aiohttp.ClientSession() as http, http.post(f"{server.url}/api/tickets", json={
        "email": "zhang.wei@163.com", "name": "Zhang Wei", "phone": "3331234567",
        "topic": "immatricolazioni", "subtopic": "scadenze", "message": "Quando scade?",
    }) as response:
        number = (await response.json())["number"]
    storage = server.app[SERVICES].storage
    await storage.tickets.update(number, lambda ticket: setattr(ticket, "email", legacy))
    assert await student_lookup(server, legacy, number) == 200
    anna = await signed_in(ANNA)
    status, body = await anna.post(PREVIEW, {"email": legacy})
    assert status == 200, body
    assert body["numbers"] == [number]
    assert await anna.post(ERASE, {"email": legacy}) == (200, {"tickets": 1})
    assert (await storage.tickets.get(number)).email == ""


async def test_an_erasure_finds_a_chat_without_a_ticket_where_the_email_was_only_typed(
    server: Server, signed_in: Factory
) -> None:
    # Students introduce themselves in their first question and leave once an FAQ answers.
    asked = "Buongiorno, sono Mario Rossi (Mario.Rossi@Example.com): non riesco a pagare la rata"
    other = "Sono Mario, mario.rossi@example.com.br: non riesco a pagare la rata"
    chats = []
    for text in (asked, other):
        student = Student(server)
        await student.connect()
        await student.hello()
        await student.say(text)
        await student.close()
        chats.append(student.conversation_id)
    storage = server.app[SERVICES].storage
    anna = await signed_in(ANNA)
    assert await anna.post(ERASE, {"email": EMAIL}) == (200, {"tickets": 0})
    assert await storage.conversations.get(chats[0]) is None
    # nor is what was asked kept, in the chat or in the FAQ events
    for text in ("Mario.Rossi@Example.com", "sono Mario Rossi"):
        assert not await place_of(server).holds(text), text
    # a whole address only: the student whose address merely contains it keeps the chat
    assert await storage.conversations.get(chats[1]) is not None


async def test_an_admin_exports_what_the_student_would(server: Server, signed_in: Factory) -> None:
    seen = await spread_student_data(server)
    anna = await signed_in(ANNA)
    async with anna.http.get(f"/api/console/tickets/{seen.chat_number}/export") as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="dati-personali-{seen.chat_number}.json"'
        )
        data = json.loads(await response.read())
    assert sorted(t["number"] for t in data["tickets"]) == sorted(
        [seen.chat_number, seen.api_number]
    )
    assert "Nota interna" not in json.dumps(data)
    entry = (await server.app[SERVICES].storage.audit.recent(limit=1))[0]
    assert (entry.actor, entry.action, entry.target) == (
        ANNA.username, "privacy.exported", seen.chat_number
    )


async def test_an_erasure_finds_a_chat_that_was_restarted_after_the_email(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    # A student gives the email, uploads an ID, then starts over: the restart clears the
    # chat's email slot, not what was typed nor the file, and the erasure must still find both.
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_attachment_step(student, email="giulia.neri@example.com")
    assert student.conversation_id
    response = await upload(server, student.conversation_id, "documento.png", PNG)
    assert response.status == 201
    uploaded = (await response.json())["id"]
    await student.say("ricomincia")
    await student.close()
    place = place_of(server)
    assert await place.holds("giulia.neri")
    anna = await signed_in(ANNA)
    assert await anna.post(ERASE, {"email": "Giulia.Neri@example.com"}) == (200, {"tickets": 0})
    storage = server.app[SERVICES].storage
    assert await storage.conversations.get(student.conversation_id) is None
    assert await storage.attachments.read(uploaded) is None
    assert not await place.holds("giulia.neri")


async def two_students_in_one_chat(server: Server) -> tuple[Student, list[dict[str, str]]]:
    """A shared computer: a ticket for one email, "ricomincia", a ticket for another; the two
    tickets' number and token, in that order."""
    student = Student(server)
    await student.connect()
    await student.hello()
    opened = []
    for email in ("giulia.neri@example.com", "paolo.verdi@example.com"):
        await to_attachment_step(student, email=email)
        await student.choose("skip_attachment")
        done = await student.choose("confirm")
        opened.append(next(e for e in done if e["kind"] == "ticket")["data"])
        await student.say("ricomincia")
    await student.close()
    return student, opened


async def test_an_erasure_takes_its_words_out_of_a_chat_that_went_on_to_another_ticket(
    server: Server, signed_in: Factory
) -> None:
    # The second ticket must not keep the first student's data in its "chat before the ticket".
    student, opened = await two_students_in_one_chat(server)
    numbers = [o["number"] for o in opened]
    storage = server.app[SERVICES].storage
    kept = await storage.tickets.get(numbers[1])
    assert kept is not None and kept.conversation_id == student.conversation_id
    anna = await signed_in(ANNA)
    assert await anna.post(ERASE, {"email": "giulia.neri@example.com"}) == (200, {"tickets": 1})
    assert await storage.conversations.get(student.conversation_id) is None
    assert not await place_of(server).holds("giulia.neri")
    # the other student's ticket stays whole, without the chat
    kept = await storage.tickets.get(numbers[1])
    assert kept is not None and kept.email == "paolo.verdi@example.com"
    assert kept.conversation_id is None
    status, view = await anna.get(f"/api/console/tickets/{numbers[1]}")
    assert status == 200 and "giulia" not in json.dumps(view)


async def test_an_export_leaves_out_a_chat_shared_with_another_student(server: Server) -> None:
    """Each one's export would hold the other's email, name, phone and ticket number (with the
    email, a credential): the shared chat stays out of both."""
    _, opened = await two_students_in_one_chat(server)
    for mine, theirs in ((opened[0], "paolo.verdi"), (opened[1], "giulia.neri")):
        async with aiohttp.ClientSession() as http, http.get(
            f"{server.url}/api/tickets/{mine['number']}/export",
            headers={"Authorization": f"Bearer {mine['token']}"},
        ) as response:
            assert response.status == 200
            text = await response.text()
        assert theirs not in text
        [ticket] = json.loads(text)["tickets"]
        assert ticket["number"] == mine["number"] and ticket["conversation"] is None
