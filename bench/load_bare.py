"""The load benchmark's yardstick: a bare python-socketio server on aiohttp that speaks the
`/chat` events of docs/protocol.md and answers each at once with a small canned reply.

It does what any Socket.IO chat must do per event (a room per conversation, the reply to the
room; `typing` only comes before a slow step, which this server never has), and nothing of the
help desk's own work (no storage, no FAQ search), so the service's figures divided by these
are the cost of the help desk itself.

    python -m bench.load_bare PORT
"""

from __future__ import annotations

import secrets
import sys
from typing import Any

import socketio
from aiohttp import web

PROMPT = {"options": [{"id": "new_ticket", "label": "Nuovo ticket"}], "input": "text",
          "placeholder": ""}
ENTRY = {"id": "0", "from": "bot", "kind": "text", "text": "Ciao!", "data": {}, "at": ""}
# What the load generator checks after each step: the next option it will press.
OPTIONS = [{"id": option, "label": option} for option in ("new_ticket", "immatricolazioni")]


def chat(sio: socketio.AsyncServer) -> None:
    async def hello(sid: str, data: Any) -> None:
        conversation_id = data.get("conversation_id") or secrets.token_urlsafe(16)
        await sio.save_session(sid, {"conversation_id": conversation_id}, namespace="/chat")
        await sio.enter_room(sid, conversation_id, namespace="/chat")
        await sio.emit("state", {"conversation_id": conversation_id, "lang": "it",
                                 "transcript": [ENTRY], "prompt": PROMPT},
                       to=sid, namespace="/chat")

    async def answer(sid: str, data: Any) -> None:
        room = (await sio.get_session(sid, namespace="/chat"))["conversation_id"]
        await sio.emit("bot", {"conversation_id": room, "entries": [ENTRY],
                               "prompt": {**PROMPT, "options": OPTIONS}},
                       room=room, namespace="/chat")

    sio.on("hello", hello, namespace="/chat")
    sio.on("choose", answer, namespace="/chat")
    sio.on("say", answer, namespace="/chat")


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main(port: int) -> None:
    app = web.Application()
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    sio.attach(app)
    chat(sio)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
