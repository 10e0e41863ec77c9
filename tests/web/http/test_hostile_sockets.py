"""Garbage on the sockets, from raw Engine.IO frames and from real python-socketio clients:
one rule everywhere. A malformed packet or payload gets one `bad_request` error event and one
warning in the log (no traceback); a socket that keeps at it, or floods, is disconnected, and
the others do not notice."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from tests.web.conftest import Opened, Recorder, StudentSocket, open_ticket
from web.console.namespace import console_of
from web.http.events import GuardedNamespace, checked
from web.http.guard import MAX_STRIKES
from web.http.keys import SERVICES
from web.student.chat import ChatNamespace

HUGE = "x" * 60_000


class RawSocket:
    """An Engine.IO WebSocket spoken by hand: what a script, not our widget, can send."""

    def __init__(self, server: Server, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self, namespace: str = "/chat") -> None:
        self.ws = await self.http.ws_connect(
            f"{self.server.url}/socket.io/?EIO=4&transport=websocket",
            headers={"Origin": self.server.url},
        )
        assert (await self.ws.receive_str()).startswith("0{")
        await self.ws.send_str(f"40{namespace},")
        assert (await self.ws.receive_str()).startswith(f"40{namespace},")

    async def send(self, frame: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(frame)

    async def received(self, wait: float = 0.5, until: str | None = None) -> list[str]:
        """The frames that arrive within `wait` seconds, or until one starting with `until`
        (pings answered); "CLOSED" if the server closed the connection."""
        assert self.ws is not None
        frames: list[str] = []
        while not (until and frames and frames[-1].startswith(until)):
            try:
                message = await asyncio.wait_for(self.ws.receive(), wait)
            except TimeoutError:
                return frames
            # "1" is Engine.IO's close packet: a client hangs up on it
            if message.type != aiohttp.WSMsgType.TEXT or message.data == "1":
                return [*frames, "CLOSED"]
            if message.data == "2":
                await self.ws.send_str("3")
                continue
            frames.append(message.data)
        return frames

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def errors_in(frames: list[str], namespace: str = "/chat") -> list[dict[str, Any]]:
    prefix = f"42{namespace},"
    events = [json.loads(f[len(prefix):]) for f in frames if f.startswith(prefix)]
    return [data for name, data in events if name == "error"]


@pytest.fixture
async def raw(server: Server) -> AsyncIterator[RawSocket]:
    async with aiohttp.ClientSession() as http:
        socket = RawSocket(server, http)
        await socket.open()
        yield socket
        await socket.close()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Tracebacks, and errors of ours (Engine.IO says "Invalid session" as an error, once)."""
    return [
        r
        for r in caplog.records
        if r.exc_info or (r.levelno >= logging.ERROR and r.name.startswith("helpdesk"))
    ]


def refusals_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "helpdesk.sockets"]


# Socket.IO packets a script can send on /chat: each is refused with one bad_request.
MALFORMED_PACKETS = {
    "an event without payload": '42/chat,["hello"]',
    "an event with two payloads": '42/chat,["hello",{"conversation_id":null,"lang":"it"},{}]',
    "a number as payload": '42/chat,["choose",5]',
    "a list as payload": '42/chat,["hello",[1]]',
    "a string as payload": '42/chat,["say","ciao"]',
    "null as payload": '42/chat,["restart",null]',
    "an unknown event": '42/chat,["drop_tables",{}]',
    "broken JSON": '42/chat,["hello",{',
    "JSON nested 10,000 deep": "42/chat," + "[" * 10_000 + "]" * 10_000,
    "a payload nested 500 deep": '42/chat,["hello",' + "[" * 500 + "]" * 500 + "]",
    "an empty event": "42/chat,[]",
    "an event named by a number": '42/chat,[1,{}]',
    "an event that is an object": '42/chat,{"a":1}',
    "an event named disconnect": '42/chat,["disconnect","x"]',
    "an event named connect": '42/chat,["connect",{},{}]',
    "a binary event": '451-/chat,["hello",{"_placeholder":true,"num":0}]',
    "an acknowledgement": '43/chat,1["x"]',
    "a connect error": '44/chat,{"message":"x"}',
    "an unknown packet type": "49/chat,[]",
    "an extra field": '42/chat,["hello",{"conversation_id":null,"lang":"it","admin":true}]',
    "a missing field": '42/chat,["choose",{"option":"x"}]',
    "a wrong type": '42/chat,["hello",{"conversation_id":5,"lang":"it"}]',
    "a boolean for a string": '42/chat,["say",{"conversation_id":null,"text":true}]',
    "a huge string": '42/chat,["say",{"conversation_id":null,"text":"' + "x" * 50_000 + '"}]',
    "a huge option": '42/chat,["choose",{"conversation_id":null,"option":"' + "x" * 300 + '"}]',
    "a number for typing": '42/chat,["student_typing",{"token":"a","typing":1}]',
    "an integer over 100 digits": '42/chat,["hello",{"conversation_id":' + "9" * 200 + "}]",
    "text that names no namespace": "4garbage",
}


@pytest.mark.parametrize("name", sorted([*MALFORMED_PACKETS, "a binary frame"]))
async def test_a_malformed_packet_gets_one_bad_request(
    raw: RawSocket, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    if name == "a binary frame":
        assert raw.ws is not None
        await raw.ws.send_bytes(b'42/chat,["hello"]')
    else:
        await raw.send(MALFORMED_PACKETS[name])
    # and the socket still works: a proper hello is answered (after the refusal, alone)
    await raw.send('42/chat,["hello",{"conversation_id":null,"lang":"en"}]')
    frames = await raw.received(2, until='42/chat,["state"')
    assert [e["code"] for e in errors_in(frames)] == ["bad_request"], frames
    assert frames[-1].startswith('42/chat,["state"')
    assert len(refusals_logged(caplog)) == 1
    assert tracebacks(caplog) == []


FRAMES_ENGINE_IO_CANNOT_READ = {
    "not a packet": "x",
    "a message of JSON nested 10,000 deep": "4" + "[" * 10_000 + "]" * 10_000,
    "an empty frame": "",
    "a packet type past 9": "x4",
}


@pytest.mark.parametrize("name", sorted(FRAMES_ENGINE_IO_CANNOT_READ))
async def test_a_frame_engine_io_cannot_read_closes_the_socket(
    raw: RawSocket, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    await raw.send(FRAMES_ENGINE_IO_CANNOT_READ[name])
    assert (await raw.received(2))[-1:] == ["CLOSED"]
    assert len(refusals_logged(caplog)) == 1
    assert tracebacks(caplog) == []


async def test_a_socket_that_keeps_sending_garbage_is_disconnected(
    server: Server, raw: RawSocket, caplog: pytest.LogCaptureFixture
) -> None:
    bystander = StudentSocket()
    await bystander.client.connect(server.url, namespaces=["/chat"], transports=["websocket"])
    for _ in range(MAX_STRIKES):
        await raw.send('42/chat,["hello",{')
    frames = await raw.received(2)
    # the last one is answered by the disconnection
    assert len(errors_in(frames)) == MAX_STRIKES - 1 and frames[-1] == "CLOSED"
    # logged once when it started, once when it was closed
    assert len(refusals_logged(caplog)) == 2
    assert tracebacks(caplog) == []
    await bystander.emit("hello", {"conversation_id": None, "lang": "it"})
    assert (await bystander.next("state"))["conversation_id"]
    await bystander.close()


async def test_a_socket_cut_off_leaves_the_ticket_it_followed(
    server: Server, raw: RawSocket
) -> None:
    """Or the operators would see the student online for good, and no reply would be mailed."""
    ticket = await open_ticket(server)
    await raw.send(f'42/chat,["watch_ticket",{{"token":"{ticket.token}"}}]')
    assert await raw.received(2, until='42/chat,["ticket"')
    assert await console_of(server.app).student_online(ticket.number)
    for _ in range(MAX_STRIKES):
        await raw.send('42/chat,["hello",{')
    assert (await raw.received(2))[-1:] == ["CLOSED"]
    assert not await console_of(server.app).student_online(ticket.number)


async def test_a_flooding_socket_is_cut_off_and_the_others_are_served(
    server: Server, raw: RawSocket
) -> None:
    bystander = StudentSocket()
    await bystander.client.connect(server.url, namespaces=["/chat"], transports=["websocket"])
    await raw.send('42/chat,["hello",{"conversation_id":null,"lang":"it"}]')
    assert await raw.received(2, until='42/chat,["state"')
    for _ in range(300):  # well-formed events, as fast as the connection takes them
        await raw.send('42/chat,["student_typing",{"token":"x","typing":true}]')
    started = time.monotonic()
    await bystander.emit("hello", {"conversation_id": None, "lang": "it"})
    await bystander.next("state")
    assert time.monotonic() - started < 2
    assert (await raw.received(2))[-1:] == ["CLOSED"]
    assert bystander.client.connected
    await bystander.close()


async def test_a_polling_client_posting_garbage_loses_its_session(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{server.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            sid = json.loads((await response.text())[1:])["sid"]
        session = f"{url}&sid={sid}"
        for body in (b"x", b"\xff\xfe", b"4" + b"[" * 10_000):
            async with http.post(session, data=body) as response:
                assert response.status == 400
                assert "Server" not in response.headers
            async with http.get(url) as response:
                sid = json.loads((await response.text())[1:])["sid"]
            session = f"{url}&sid={sid}"
        async with http.post(session, data=b"40/chat,") as response:
            assert response.status == 200  # a proper client on the same server is fine
    assert tracebacks(caplog) == []


async def test_a_client_cannot_fire_the_disconnect_handler(server: Server) -> None:
    """Had the event `disconnect` reached the namespace, the operators would see the student
    leave the ticket while still there."""
    ticket: Opened = await open_ticket(server)
    student = StudentSocket()
    await student.watch(server, ticket.token)
    await student.client.emit("disconnect", {}, namespace="/chat")
    assert (await student.next("error"))["code"] == "bad_request"
    assert student.client.connected
    assert await console_of(server.app).student_online(ticket.number)
    await student.close()


async def test_an_event_out_of_order_is_answered_and_the_chat_goes_on(server: Server) -> None:
    student = StudentSocket()
    await student.client.connect(server.url, namespaces=["/chat"], transports=["websocket"])
    # no hello yet: there is no conversation to speak for
    await student.emit("say", {"conversation_id": None, "text": "ciao"})
    assert (await student.next("error"))["code"] == "not_found"
    await student.emit("choose", {"conversation_id": "A" * 22, "option": "new_ticket"})
    assert (await student.next("error"))["code"] == "not_found"
    await student.emit("unwatch_ticket", {"token": "never-watched"})
    await student.nothing("error", wait=0.3)
    await student.emit("hello", {"conversation_id": None, "lang": "it"})
    state = await student.next("state")
    await student.emit("choose", {"conversation_id": state["conversation_id"], "option": "x"})
    assert await student.next("bot")
    await student.close()


# Payloads a real python-socketio client can send (each on a socket of its own).
BAD_CHAT_PAYLOADS: list[tuple[str, Any]] = [
    ("hello", None),
    ("hello", 5),
    ("hello", [{"conversation_id": None, "lang": "it"}]),
    ("hello", {"conversation_id": None}),
    ("hello", {"conversation_id": None, "lang": "it", "extra": 1}),
    ("hello", {"conversation_id": None, "lang": "it", "follow_up": HUGE}),
    ("choose", {"conversation_id": None, "option": 5}),
    ("choose", {"conversation_id": None, "option": {"id": "x"}}),
    ("say", {"conversation_id": None, "text": HUGE}),
    ("say", {"conversation_id": None, "text": ["ciao"]}),
    ("attach", {"conversation_id": None, "attachment_id": None}),
    ("restart", {}),
    ("restart", "conversation"),
    ("watch_ticket", {"token": 123456}),
    ("watch_ticket", {"token": "a", "lang": 1}),
    ("unwatch_ticket", None),
    ("student_typing", {"token": "a", "typing": "yes"}),
    ("student_typing", {"token": "a"}),
    ("hello", {"conversation_id": {"a": {"b": {"c": [[[[[[]]]]]]}}}, "lang": "it"}),
]


async def test_every_chat_event_refuses_a_payload_of_the_wrong_shape(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    for event, payload in BAD_CHAT_PAYLOADS:
        student = StudentSocket()
        await student.client.connect(server.url, namespaces=["/chat"], transports=["websocket"])
        await student.emit(event, payload)
        assert (await student.next("error"))["code"] == "bad_request", (event, payload)
        await student.nothing("error", "state", "bot", wait=0.1)
        await student.close()
    assert tracebacks(caplog) == []


async def test_every_console_event_refuses_a_payload_of_the_wrong_shape(
    server: Server, caplog: pytest.LogCaptureFixture, signed_in: Any, team: Any
) -> None:
    from tests.web.conftest import LAURA, OperatorSocket

    console = await signed_in(LAURA, "en")
    bad: list[tuple[str, Any]] = [
        ("active", None),
        ("active", {"x": 1}),
        ("open_ticket", None),
        ("open_ticket", {"number": None}),
        ("open_ticket", {"number": 1.5}),
        ("open_ticket", {"number": "1" * 40}),
        ("close_ticket", []),
        ("operator_typing", {"number": "000001"}),
        ("operator_typing", {"number": "000001", "typing": True, "internal": "no"}),
        ("close_the_queue", {}),
    ]
    for event, payload in bad:
        operator = OperatorSocket()
        await operator.connect(
            server, cookie=console.cookie_header, auth={"csrf_token": console.csrf, "lang": "en"}
        )
        await operator.emit(event, payload)
        error = await operator.next("error")
        assert error["code"] == "bad_request", (event, payload)
        assert error["message"] == "The request isn't valid."
        await operator.close()
    assert tracebacks(caplog) == []


class Failing(GuardedNamespace):
    EVENTS = {"boom": {}}

    async def on_boom(self, sid: str, data: dict[str, Any]) -> None:
        raise RuntimeError("a bug")


async def test_a_handler_that_fails_answers_internal_with_a_reference(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.app[SERVICES].live.register_namespace(Failing("/failing"))  # type: ignore[attr-defined]
    socket = Recorder("/failing")
    await socket.client.connect(server.url, namespaces=["/failing"], transports=["websocket"])
    await socket.emit("boom", {})
    error = await socket.next("error")
    assert error["code"] == "internal"
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1 and logged[0].getMessage().split()[-1] in error["message"]
    await socket.close()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=20), inner,
                                                                max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    event=st.sampled_from(sorted(ChatNamespace.EVENTS)),
    data=JSON_VALUES
    | st.dictionaries(st.sampled_from(["conversation_id", "lang", "text", "token", "typing",
                                       "option", "attachment_id", "follow_up"]), JSON_VALUES),
)
def test_a_checked_payload_has_exactly_the_declared_shape(event: str, data: Any) -> None:
    payload = ChatNamespace.EVENTS[event]
    fields = checked(payload, data)
    if fields is None:
        return
    assert set(fields) <= set(payload)
    assert {name for name, field in payload.items() if field.required} <= set(fields)
    for name, value in fields.items():
        assert type(value) in payload[name].kinds
        assert not isinstance(value, str) or len(value) <= payload[name].max_length
