"""The Socket.IO server, hardened where the library parses what a client sends.

python-socketio decodes each packet in `AsyncServer._handle_eio_message` and lets a decoding
error (broken JSON, nesting deeper than the interpreter's stack, an unknown packet type, an
event that is not `[name, ...]`) escape to Engine.IO, which logs a traceback and carries on:
any client could fill the log, one packet at a time, and got no answer. Engine.IO itself decodes
its frames in its WebSocket loop (an undecodable frame ends that loop with an exception) and in
the long-polling POST (logged with a traceback, answered "ok").

Here each of those places is hooked where the library offers it: the packet class
(`serializer`), the message handler of a subclassed server, Engine.IO's transport functions.
The one rule: a packet that cannot be decoded, or that our protocol never sends (binary
packets, acknowledgements, events named like the reserved connect/disconnect), is refused with
one `bad_request` error event in the namespace it named and logged once as a warning without a
traceback; a connection that keeps doing it, or floods, is closed (web/http/guard.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import engineio
import socketio
from engineio import payload as eio_payload
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet as sio_packet

from web.http import json_codec
from web.http.guard import Guard

log = logging.getLogger("helpdesk.sockets")
# What a client may send: connect, disconnect, and events. Binary packets (our protocol has
# none: attachments go over HTTP), acknowledgements (the server never asks for one) and
# connect errors (a server's packet) are refused.
CLIENT_PACKETS = {sio_packet.CONNECT, sio_packet.DISCONNECT, sio_packet.EVENT}
RESERVED_EVENTS = {"connect", "disconnect", "connect_error", "message"}
# ValueError covers JSONDecodeError and UnicodeDecodeError; the others come from the parsers'
# indexing and int() on text that is not a packet.
DECODE_ERRORS = (ValueError, TypeError, IndexError, KeyError, RecursionError)


class MalformedPacket(ValueError):
    def __init__(self, namespace: str | None, reason: str) -> None:
        super().__init__(reason)
        self.namespace = namespace
        self.reason = reason


class GuardedPacket(sio_packet.Packet):  # type: ignore[misc]
    """socketio's packet, refusing in one exception type what our clients never send; its
    JSON is orjson's (json_codec), and so is the Redis manager's, which takes the packet's.
    Engine.IO keeps the standard module (the server's `json` option would set both): it only
    frames the packets, and the frames it cannot read are refused as they always were."""

    json = json_codec

    def decode(self, encoded_packet: Any) -> int:
        self.namespace = None
        try:
            attachments = int(super().decode(encoded_packet))
        except DECODE_ERRORS as exc:
            raise MalformedPacket(self.namespace, f"undecodable ({type(exc).__name__})") from None
        if self.packet_type not in CLIENT_PACKETS:
            raise MalformedPacket(self.namespace, f"packet type {self.packet_type!r}")
        if self.packet_type == sio_packet.EVENT:
            data = self.data
            if not isinstance(data, list) or not data or not isinstance(data[0], str):
                raise MalformedPacket(self.namespace, "an event that is not [name, ...]")
            if data[0] in RESERVED_EVENTS:
                raise MalformedPacket(self.namespace, f"an event named {data[0]!r}")
        return attachments


def _decodes(frame: str | bytes) -> bool:
    """Whether Engine.IO can decode a frame, as its own loop would (text frames only: a
    binary frame is a binary message, which the socket.io layer then refuses)."""
    try:
        engineio.packet.Packet(encoded_packet=frame)
    except DECODE_ERRORS:
        return False
    return True


class _GuardedWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """Engine.IO's WebSocket transport on aiohttp, which checks each frame before Engine.IO
    decodes it, and which the server can close (hang_up) without waiting for the client."""

    async def __call__(self, environ: dict[str, Any]) -> Any:
        # The handler is the bound loop of Engine.IO's socket: its sid names this connection.
        sid = self.handler.__self__.sid
        self.server.websockets[sid] = self
        try:
            return await super().__call__(environ)
        finally:
            self.server.websockets.pop(sid, None)

    async def wait(self) -> Any:
        frame = await super().wait()
        if not _decodes(frame):
            log.warning(
                "closed a socket that sent a frame Engine.IO cannot decode (%s)",
                self.handler.__self__.sid,
            )
            # Engine.IO's loop takes an OSError from wait() as the client leaving: it closes
            # the socket cleanly instead of dying with the exception.
            raise OSError("undecodable frame")
        return frame


class _Body:
    """The POST body Engine.IO reads, already read (and checked) by us."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, _length: int = -1) -> bytes:
        return self._data


class GuardedEngine(engineio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.websockets: dict[str, _GuardedWebSocket] = {}
        # Per instance, not in the driver's module-wide table.
        driver: dict[str, Any] = dict(self._async)  # type: ignore[has-type]
        self._async = {
            **driver,
            "websocket": _GuardedWebSocket,
            "translate_request": self._translate,
        }

    async def _translate(self, request: Any) -> dict[str, Any]:
        environ: dict[str, Any] = eio_aiohttp.translate_request(request)
        if request.method != "POST":
            return environ
        length = request.content_length or 0
        if length > self.max_http_buffer_size:
            return environ  # Engine.IO refuses it itself, unread
        body = await request.content.read(length)
        environ["wsgi.input"] = _Body(body)
        sid = request.query.get("sid")
        try:
            eio_payload.Payload(encoded_payload=body.decode("utf-8"))
        except DECODE_ERRORS:
            log.warning("closed a socket that posted a payload Engine.IO cannot decode (%s)", sid)
            # Engine.IO then answers this POST "400 Invalid session" by itself.
            await self.hang_up(sid)
        return environ

    async def hang_up(self, sid: str | None) -> None:
        """Close a connection now. Engine.IO's own disconnect waits until a long-polling
        client has fetched the close packet, which it never does while its POST (the one
        being refused) waits for an answer."""
        socket = self.sockets.get(sid) if sid else None
        if socket is not None:
            # Closed while still listed, as Engine.IO's own disconnect does: the namespaces'
            # disconnect handlers read the socket's session (the tickets the student followed,
            # whom the operators would otherwise see online for good).
            await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
            self.sockets.pop(sid, None)
        # A WebSocket's loop would otherwise go on reading whatever the client still sends.
        websocket = self.websockets.pop(sid, None) if sid else None
        if websocket is not None:
            await websocket.close()

    async def hang_up_all(self) -> None:
        """Every connection, at once: the clients' Socket.IO takes a transport closed by the
        server as its cue to reconnect (to another process, or this one restarted)."""
        await asyncio.gather(*(self.hang_up(sid) for sid in list(self.sockets)))


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """socketio.AsyncServer with the guard: malformed packets and floods, per connection."""

    def __init__(self, guard: Guard, **kwargs: Any) -> None:
        # The libraries log through loggers of ours rather than stderr handlers of their own
        # (so each line comes once, in the deployment's format), from WARNING: at INFO they
        # log every packet.
        loggers = {"logger": "socketio.server", "engineio_logger": "engineio.server"}
        for option, name in loggers.items():
            logger = logging.getLogger(name)
            logger.setLevel(max(logger.level, logging.WARNING))
            kwargs.setdefault(option, logger)
        super().__init__(serializer=GuardedPacket, **kwargs)
        self.guard = guard
        guard.attach(self)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return GuardedEngine

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if not await self.guard.admit(eio_sid):
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except MalformedPacket as exc:
            await self.guard.malformed(eio_sid, exc.namespace or "/", exc.reason)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        await super()._handle_eio_disconnect(eio_sid, reason)
        self.guard.forget(eio_sid)
