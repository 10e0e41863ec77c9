"""The /chat namespace with a real python-socketio client against the server on loopback."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from storage import Conversation, Operator
from tests.conftest import Server, make_config, start_server
from web.desk import conversations
from web.desk.limits import RateLimiter
from web.desk.tickets import Desk
from web.http.keys import SERVICES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


class Student:
    """A chat client that remembers what the server said, event by event."""

    def __init__(self, server: Server, *, origin: str | None = None) -> None:
        self.server = server
        self.origin = origin or server.url
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.conversation_id: str | None = None
        self.prompt: dict[str, Any] = {}
        self.transcript: list[dict[str, Any]] = []
        for name in ("state", "bot", "error", "ticket", "operator_typing"):
            self.client.on(name, self._recorder(name), namespace="/chat")

    def _recorder(self, name: str) -> Any:
        async def record(data: Any) -> None:
            await self.events.put((name, data))

        return record

    async def connect(self) -> None:
        await self.client.connect(
            self.server.url,
            namespaces=["/chat"],
            transports=["websocket"],
            headers={"Origin": self.origin},
        )

    async def next(self, *names: str, wait: float = 5) -> tuple[str, Any]:
        while True:
            name, data = await asyncio.wait_for(self.events.get(), wait)
            if not names or name in names:
                return name, data

    async def hello(self, conversation_id: str | None = None, lang: str = "it") -> dict[str, Any]:
        await self.client.emit(
            "hello", {"conversation_id": conversation_id, "lang": lang}, namespace="/chat"
        )
        _, state = await self.next("state")
        self.conversation_id = state["conversation_id"]
        self.prompt = state["prompt"]
        self.transcript = list(state["transcript"])
        return dict(state)

    async def _send(self, event: str, **payload: Any) -> list[dict[str, Any]]:
        await self.client.emit(
            event, {"conversation_id": self.conversation_id, **payload}, namespace="/chat"
        )
        name, data = await self.next("bot", "error")
        assert name == "bot", data
        self.prompt = data["prompt"]
        self.transcript += data["entries"]
        return list(data["entries"])

    async def choose(self, option: str) -> list[dict[str, Any]]:
        assert option in self.options(), (option, self.options())
        return await self._send("choose", option=option)

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self._send("say", text=text)

    async def attach(self, attachment_id: str) -> list[dict[str, Any]]:
        return await self._send("attach", attachment_id=attachment_id)

    def options(self) -> list[str]:
        return [o["id"] for o in self.prompt["options"]]

    async def close(self) -> None:
        await self.client.disconnect()
        # A refused connection leaves the engine.io client's HTTP session open.
        http = getattr(self.client.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


async def chatting(server: Server, count: int) -> list[Student]:
    """Students connected and greeted, each in a conversation of their own."""
    students = [Student(server) for _ in range(count)]
    for student in students:
        await student.connect()
        await student.hello()
    return students


def bot_texts(entries: list[dict[str, Any]]) -> str:
    return "\n".join(e["text"] for e in entries if e["from"] == "bot")


async def to_contact_data(student: Student) -> None:
    """Welcome -> new ticket -> topic -> subtopic -> a question no FAQ answers -> email."""
    await student.choose("new_ticket")
    await student.choose("immatricolazioni")
    await student.choose("procedura-online")
    entries = await student.say(
        "Il mio cane ha mangiato il foglio con il PIN della smart card della segreteria"
    )
    # FAQs shown, sure (not_solved) or hedged (ticket): the student still wants the ticket
    for refuse in {"not_solved", "ticket"} & set(student.options()):
        entries = await student.choose(refuse)
    assert student.prompt["input"] == "email", bot_texts(entries)


async def to_attachment_step(student: Student, email: str = "mario.rossi@example.com") -> None:
    """On to the contact data, given right the first time: the widget now offers a file."""
    await to_contact_data(student)
    await student.say(email)
    await student.say("Rossi Mario")
    await student.say("3331234567")
    assert student.prompt["input"] == "file"


async def test_a_student_opens_a_ticket_over_the_socket(server: Server) -> None:
    student = Student(server)
    await student.connect()
    state = await student.hello()
    assert state["transcript"], "the welcome is part of the transcript"
    assert {"new_ticket", "have_ticket"} <= set(student.options())
    await to_contact_data(student)
    wrong = await student.say("mario.rossi@")
    assert student.prompt["input"] == "email" and "@" in bot_texts(wrong)
    await student.say("mario.rossi@example.com")
    await student.say("Rossi Mario")
    fixed = await student.say("075 5852192")
    assert student.prompt["input"] == "tel" and "fisso" in bot_texts(fixed).lower()
    await student.say("333 1234567")
    assert student.prompt["input"] == "file"
    summary = await student.choose("skip_attachment")
    assert any(e["kind"] == "summary" for e in summary)
    done = await student.choose("confirm")
    [ticket_entry] = [e for e in done if e["kind"] == "ticket"]
    number = ticket_entry["data"]["number"]
    assert len(number) == 6 and ticket_entry["data"]["status_url"].endswith(f"number={number}")
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    assert ticket.email == "mario.rossi@example.com" and ticket.phone == "+393331234567"
    assert ticket.conversation_id == student.conversation_id
    assert ticket.topic == "immatricolazioni" and ticket.subtopic == "procedura-online"
    await student.close()


async def test_a_faq_answers_the_student(server: Server) -> None:
    student = Student(server)
    await student.connect()
    await student.hello()
    entries = await student.say("Ho dimenticato la password del portale studenti")
    faqs = [e for e in entries if e["kind"] == "faq"]
    assert faqs and faqs[0]["data"]["answer"]
    assert "solved" in student.options()
    await student.choose("solved")
    events = await server.app[SERVICES].storage.faq_events.recent()
    assert {e.kind for e in events} >= {"suggested", "solved"}
    await student.close()


@pytest.mark.parametrize("slow", [False, True], ids=["fast step", "slow step"])
async def test_the_typing_indicator_shows_only_for_a_slow_step(
    server: Server, monkeypatch: pytest.MonkeyPatch, slow: bool
) -> None:
    conversations = server.app[SERVICES].storage.conversations
    read = conversations.get

    async def slow_disk(conversation_id: str) -> Conversation | None:
        await asyncio.sleep(0.6)
        return await read(conversation_id)

    student = Student(server)
    student.client.on("typing", student._recorder("typing"), namespace="/chat")
    await student.connect()
    await student.hello()
    if slow:
        monkeypatch.setattr(conversations, "get", slow_disk)
    await student.client.emit(
        "say", {"conversation_id": student.conversation_id, "text": "ciao"}, namespace="/chat"
    )
    seen = [await student.next("typing", "bot") for _ in range(3 if slow else 1)]
    expected = [("typing", {"on": True}), ("typing", {"on": False})] if slow else []
    assert [(n, d) for n, d in seen if n == "typing"] == expected
    assert seen[-1][0] == "bot"
    await student.close()


async def test_an_unsure_match_is_offered_hedged_and_recorded_in_its_band(server: Server) -> None:
    student = Student(server)
    await student.connect()
    await student.hello()
    entries = await student.say("non riesco a pagare")  # the middle band on faq_data
    faqs = [e for e in entries if e["kind"] == "faq"]
    assert faqs and {e["data"]["band"] for e in faqs} == {"middle"}
    assert student.options() == ["ticket", "solved"]
    await student.choose("ticket")
    events = await server.app[SERVICES].storage.faq_events.recent()
    shown = [e["data"]["id"] for e in faqs]
    assert [(e.kind, e.band, e.faq_ids) for e in events] == [
        ("not_solved", "middle", shown),
        ("suggested", "middle", shown),
    ]
    await student.close()


async def test_reconnect_mid_flow_resumes_the_same_step(server: Server) -> None:
    first = Student(server)
    await first.connect()
    await first.hello()
    await to_contact_data(first)
    await first.say("mario.rossi@example.com")
    transcript, prompt = first.transcript, first.prompt
    await first.close()
    again = Student(server)
    await again.connect()
    state = await again.hello(first.conversation_id)
    assert state["conversation_id"] == first.conversation_id
    assert state["transcript"] == transcript
    assert state["prompt"] == prompt and prompt["input"] == "name"
    await again.say("Rossi Mario")
    assert again.prompt["input"] == "tel"
    await again.close()


async def test_a_chat_left_for_long_is_not_resumed_by_the_next_person(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library computer: the widget kept the chat's id in localStorage. The next person must
    not find the student's contact details, nor the token that opens the ticket."""
    first = Student(server)
    await first.connect()
    await first.hello()
    await to_attachment_step(first)
    await first.choose("skip_attachment")
    await first.choose("confirm")
    await first.close()
    reload = Student(server)  # the student's own reload, at once: the same chat
    await reload.connect()
    assert (await reload.hello(first.conversation_id))["conversation_id"] == first.conversation_id
    await reload.close()
    # ...and once the chat has been left for longer than a chat is resumed after
    monkeypatch.setattr(conversations, "RESUME_IDLE", timedelta(0))
    stranger = Student(server)
    await stranger.connect()
    state = await stranger.hello(first.conversation_id)
    assert state["conversation_id"] != first.conversation_id
    seen = repr(state["transcript"])
    assert "mario.rossi@example.com" not in seen and "token" not in seen
    await stranger.close()


async def test_a_chat_left_for_long_is_not_revived_by_an_upload(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload saves the chat, which would make it fresh again: whoever reads the id from
    the browser's localStorage must not get the student's chat back that way."""
    first = Student(server)
    await first.connect()
    await first.hello()
    await to_contact_data(first)
    await first.close()
    assert first.conversation_id is not None
    monkeypatch.setattr(conversations, "RESUME_IDLE", timedelta(seconds=0.5))
    await asyncio.sleep(0.6)
    response = await upload(server, first.conversation_id, "doc.png", PNG)
    assert response.status == 404
    stranger = Student(server)
    await stranger.connect()
    state = await stranger.hello(first.conversation_id)
    assert state["conversation_id"] != first.conversation_id
    await stranger.close()


async def test_server_restart_mid_flow_resumes(data_dir: Path) -> None:
    config = make_config(data_dir)
    server = await start_server(config)
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_contact_data(student)
    await student.close()
    await server.stop()
    restarted = await start_server(config)
    try:
        again = Student(restarted)
        await again.connect()
        state = await again.hello(student.conversation_id)
        assert state["conversation_id"] == student.conversation_id
        assert again.prompt["input"] == "email"
        await again.close()
    finally:
        await restarted.stop()


async def test_a_socket_cannot_drive_someone_elses_conversation(server: Server) -> None:
    owner, intruder = await chatting(server, 2)
    await intruder.client.emit(
        "choose",
        {"conversation_id": owner.conversation_id, "option": "new_ticket"},
        namespace="/chat",
    )
    name, _ = await intruder.next("bot", "error")
    assert name == "error"
    await owner.close()
    await intruder.close()


async def test_unknown_conversation_id_starts_a_new_one(server: Server) -> None:
    student = Student(server)
    await student.connect()
    state = await student.hello("not-a-real-conversation-id-123")
    assert state["conversation_id"] != "not-a-real-conversation-id-123"
    await student.close()


async def test_cross_site_pages_cannot_open_a_socket(server: Server) -> None:
    student = Student(server, origin="https://evil.example.com")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await student.connect()
    await student.close()


async def test_allowed_university_origin_may_embed(data_dir: Path) -> None:
    server = await start_server(make_config(data_dir, allowed_origins=("https://www.unipg.it",)))
    try:
        student = Student(server, origin="https://www.unipg.it")
        await student.connect()
        await student.hello()
        await student.close()
    finally:
        await server.stop()


async def upload(
    server: Server, conversation_id: str, name: str, content: bytes
) -> aiohttp.ClientResponse:
    data = aiohttp.FormData()
    data.add_field("attachment", io.BytesIO(content), filename=name, content_type="image/png")
    async with aiohttp.ClientSession() as http:
        response = await http.post(
            f"{server.url}/api/chat/{conversation_id}/attachments", data=data
        )
        await response.read()
        return response


async def test_attachment_travels_over_http_then_joins_the_ticket(server: Server) -> None:
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_attachment_step(student)
    assert student.conversation_id
    refused = await upload(server, student.conversation_id, "x.png", b"<html></html>")
    assert refused.status == 415
    empty = await upload(server, student.conversation_id, "x.png", b"")
    assert empty.status == 400
    assert (await empty.json())["error"]["code"] == "empty_file"
    unknown = await upload(server, "a" * 22, "x.png", PNG)
    assert unknown.status == 404
    response = await upload(server, student.conversation_id, "schermata.png", PNG)
    assert response.status == 201
    attachment_id = (await response.json())["id"]
    entries = await student.attach(attachment_id)
    assert any(e["kind"] == "attachment" for e in entries)
    done = await student.choose("confirm")
    number = next(e for e in done if e["kind"] == "ticket")["data"]["number"]
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None
    assert [a.id for a in ticket.messages[0].attachments] == [attachment_id]
    await student.close()


async def test_an_attachment_of_another_chat_is_refused(server: Server) -> None:
    owner, other = await chatting(server, 2)
    assert owner.conversation_id
    response = await upload(server, owner.conversation_id, "a.png", PNG)
    attachment_id = (await response.json())["id"]
    await other.client.emit(
        "attach",
        {"conversation_id": other.conversation_id, "attachment_id": attachment_id},
        namespace="/chat",
    )
    name, _ = await other.next("bot", "error")
    assert name == "error"
    await owner.close()
    await other.close()


async def open_by_api(server: Server, email: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/tickets",
            json={
                "email": email,
                "name": "Verdi Anna",
                "phone": "3471234567",
                "topic": "immatricolazioni",
                "subtopic": "scadenze",
                "message": "Posso ancora immatricolarmi dopo la scadenza di ottobre?",
            },
        ) as response,
    ):
        assert response.status == 201
        return dict(await response.json())


async def test_live_ticket_room_per_token_and_no_leaks(server: Server) -> None:
    one = await open_by_api(server, "uno@example.com")
    two = await open_by_api(server, "due@example.com")
    a, b = Student(server), Student(server)
    await a.connect()
    await b.connect()
    await a.client.emit("watch_ticket", {"token": one["token"]}, namespace="/chat")
    await b.client.emit("watch_ticket", {"token": two["token"]}, namespace="/chat")
    assert (await a.next("ticket"))[1]["number"] == one["number"]
    assert (await b.next("ticket"))[1]["number"] == two["number"]
    anna = Operator(username="anna", name="Anna Bianchi", role="operator", password_hash="x")
    await server.app[SERVICES].storage.operators.put(anna)
    desk = Desk(server.app[SERVICES])
    await desk.operator_reply(one["number"], anna, "Sì, entro gennaio senza mora.", internal=False)
    _, live = await a.next("ticket")
    assert live["operator"] == {"name": "Anna Bianchi"}
    assert live["messages"][-1]["body"] == "Sì, entro gennaio senza mora."
    await desk.operator_reply(one["number"], anna, "nota: controllare il bando", internal=True)
    await desk.set_status(one["number"], "awaiting_user", anna)
    _, live = await a.next("ticket")
    assert live["status"] == "awaiting_user"
    assert all("nota" not in m["body"] for m in live["messages"])
    with pytest.raises(asyncio.TimeoutError):
        await b.next("ticket", wait=0.5)
    # A forged token joins nothing.
    await b.client.emit("watch_ticket", {"token": "000001.99999999999.forged"}, namespace="/chat")
    assert (await b.next("error", "ticket"))[0] == "error"
    await a.close()
    await b.close()


async def follow_up_of_a_closed_ticket(server: Server) -> tuple[dict[str, Any], Student]:
    """A closed ticket, and a student whose follow-up chat has reached the contact data."""
    old = await open_by_api(server, "verdi@example.com")
    anna = Operator(username="anna", name="Anna Bianchi", role="operator", password_hash="x")
    await server.app[SERVICES].storage.operators.put(anna)
    await Desk(server.app[SERVICES]).set_status(old["number"], "closed", anna)
    student = Student(server)
    await student.connect()
    await student.client.emit(
        "hello",
        {"conversation_id": None, "lang": "it", "follow_up": old["token"]},
        namespace="/chat",
    )
    _, state = await student.next("state")
    assert old["number"] in bot_texts(state["transcript"])
    student.conversation_id = state["conversation_id"]
    student.prompt = state["prompt"]
    await student.choose("immatricolazioni")
    await student.choose("scadenze")
    await student.say("Il ticket precedente non ha risolto il problema del pagamento della mora")
    for refuse in {"not_solved", "ticket"} & set(student.options()):
        await student.choose(refuse)
    return old, student


async def test_follow_up_of_a_closed_ticket_starts_prefilled(server: Server) -> None:
    old, student = await follow_up_of_a_closed_ticket(server)
    # email, name and phone were taken from the closed ticket: straight to the attachment
    assert student.prompt["input"] == "file"
    await student.choose("skip_attachment")
    done = await student.choose("confirm")
    number = next(e for e in done if e["kind"] == "ticket")["data"]["number"]
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None and ticket.references == old["number"]
    assert ticket.email == "verdi@example.com"
    await student.close()


async def test_an_open_ticket_token_is_no_follow_up(server: Server) -> None:
    old = await open_by_api(server, "verdi@example.com")
    student = Student(server)
    await student.connect()
    await student.client.emit(
        "hello",
        {"conversation_id": None, "lang": "it", "follow_up": old["token"]},
        namespace="/chat",
    )
    _, state = await student.next("state")
    assert old["number"] not in bot_texts(state["transcript"])
    await student.close()


async def test_language_switch_at_any_step(server: Server) -> None:
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_contact_data(student)
    entries = await student._send("choose", option="lang:en")
    assert entries[0]["from"] == "student" and entries[0]["text"] != "lang:en"
    assert student.prompt["input"] == "email"
    assert "email" in bot_texts(entries).lower()
    await student.close()


async def test_a_chat_not_yet_spoken_in_follows_the_page_language(server: Server) -> None:
    """The Italian landing page started the chat; the student switches the site to English
    before typing anything, and the chat greets in English. Once spoken in, it stays."""
    italian = Student(server)
    await italian.connect()
    await italian.hello(lang="it")
    await italian.close()
    english = Student(server)
    await english.connect()
    state = await english.hello(italian.conversation_id, lang="en")
    assert state["conversation_id"] == italian.conversation_id
    assert state["lang"] == "en"
    assert bot_texts(state["transcript"]).startswith("Hi")
    assert [o["label"] for o in state["prompt"]["options"]][:1] == ["Open a new ticket"]
    await english.choose("new_ticket")
    await english.close()
    again = Student(server)
    await again.connect()
    state = await again.hello(italian.conversation_id, lang="it")
    assert state["lang"] == "en"
    await again.close()


async def test_a_student_who_turns_away_from_the_ticket_is_no_longer_online(
    server: Server,
) -> None:
    from web.console.namespace import console_of

    created = await open_by_api(server, "uno@example.com")
    student = Student(server)
    await student.connect()
    await student.client.emit("watch_ticket", {"token": created["token"]}, namespace="/chat")
    await student.next("ticket")
    console = console_of(server.app)
    assert await console.student_online(created["number"])
    await student.client.emit("unwatch_ticket", {"token": created["token"]}, namespace="/chat")
    for _ in range(50):
        if not await console.student_online(created["number"]):
            break
        await asyncio.sleep(0.02)
    assert not await console.student_online(created["number"])
    anna = Operator(username="anna", name="Anna Bianchi", role="operator", password_hash="x")
    await server.app[SERVICES].storage.operators.put(anna)
    await Desk(server.app[SERVICES]).operator_reply(
        created["number"], anna, "Ciao!", internal=False
    )
    with pytest.raises(asyncio.TimeoutError):
        await student.next("ticket", wait=0.4)
    await student.close()


async def test_new_conversations_per_address_are_limited(server: Server) -> None:
    server.app[SERVICES].limits.conversations_per_ip = RateLimiter(2, 3600)
    student = Student(server)
    await student.connect()
    await student.hello()
    await student.hello()
    await student.client.emit("hello", {"conversation_id": None, "lang": "en"}, namespace="/chat")
    name, error = await student.next("state", "error")
    assert name == "error" and error["code"] == "rate_limited"
    assert "min" in error["message"] and "Too many" in error["message"]  # hello's language
    # an existing conversation still resumes
    state = await student.hello(student.conversation_id)
    assert state["conversation_id"] == student.conversation_id
    await student.close()


async def test_a_flood_of_events_is_refused_in_the_students_language(server: Server) -> None:
    server.app[SERVICES].limits.chat_events_per_conversation = RateLimiter(3, 60)
    student = Student(server)
    await student.connect()
    await student.hello(lang="en")
    for _ in range(3):
        await student.say("hello there, I need some help please")
    await student.client.emit(
        "say", {"conversation_id": student.conversation_id, "text": "again"}, namespace="/chat"
    )
    name, error = await student.next("bot", "error")
    assert name == "error" and error["code"] == "rate_limited"
    assert "seconds" in error["message"]
    await student.close()


async def test_the_stored_transcript_is_bounded(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import web.desk.conversations

    monkeypatch.setattr(web.desk.conversations, "TRANSCRIPT_MAX", 6)
    student = Student(server)
    await student.connect()
    await student.hello()
    for _ in range(4):
        await student._send("restart")
    assert student.conversation_id
    stored = await server.app[SERVICES].storage.conversations.get(student.conversation_id)
    assert stored is not None and len(stored.transcript) == 6
    await student.close()


async def test_uploads_left_unused_are_deleted_with_the_ticket(server: Server) -> None:
    student = Student(server)
    await student.connect()
    await student.hello()
    await to_attachment_step(student)
    assert student.conversation_id
    first = await (await upload(server, student.conversation_id, "a.png", PNG)).json()
    second = await (await upload(server, student.conversation_id, "b.png", PNG)).json()
    await student.attach(second["id"])
    await student.choose("confirm")
    files = server.app[SERVICES].storage.attachments
    assert files.path(first["id"]) is None
    assert files.path(second["id"]) is not None
    await student.close()


async def test_a_follow_up_keeps_its_link_only_for_the_same_email(server: Server) -> None:
    _, student = await follow_up_of_a_closed_ticket(server)
    await student.choose("skip_attachment")
    await student.choose("correct")
    await student.choose("edit:email")
    await student.say("altra.persona@example.com")
    done = await student.choose("confirm")
    number = next(e for e in done if e["kind"] == "ticket")["data"]["number"]
    ticket = await server.app[SERVICES].storage.tickets.get(number)
    assert ticket is not None and ticket.references is None
    await student.close()


async def test_the_per_address_chat_limits_can_be_turned_off(data_dir: Path) -> None:
    """A school behind one address: the office can lift the limits (0 = off)."""
    config = make_config(data_dir, chats_per_ip_per_hour=0, uploads_per_ip_per_hour=0)
    server = await start_server(config)
    try:
        limits = server.app[SERVICES].limits
        for _ in range(1000):
            assert await limits.conversations_per_ip.take("10.0.0.1") == 0
            assert await limits.uploads_per_ip.take("10.0.0.1") == 0
    finally:
        await server.stop()
