"""The student's rating (CONTRACT.md section 8): on a closed ticket, 1 to 5 with an optional
comment, once; seen by operators, averaged by the report, asked for by the closing mail."""

from __future__ import annotations

from typing import Any

import aiohttp

from storage import Operator
from tests.conftest import Server
from tests.web.backends import on_both_backends  # noqa: F401 - `server`, twice
from tests.web.conftest import (
    ELENA,
    LAURA,
    Factory,
    OperatorSocket,
    Recorder,
    StudentSocket,
    open_ticket,
)
from web.desk.tickets import Desk
from web.http.keys import SERVICES


async def rate(server: Server, number: str, token: str, body: Any, lang: str = "it"
               ) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/tickets/{number}/rating", json=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def view(server: Server, number: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/tickets/{number}", headers=headers) as r,
    ):
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


async def laura(server: Server) -> Operator:
    account = Operator(username="lbianchi", name="Laura Bianchi", role="operator",
                       password_hash="x")
    await server.app[SERVICES].storage.operators.put(account)
    return account


async def test_only_a_closed_ticket_is_rated_once(server: Server) -> None:
    ticket = await open_ticket(server)
    assert (await view(server, ticket.number, ticket.token))["rating"] is None
    status, body = await rate(server, ticket.number, ticket.token, {"score": 5})
    assert status == 409
    assert body["error"] == {
        "code": "ticket_not_closed",
        "message": "Puoi valutare l'assistenza quando il ticket è chiuso.",
    }

    desk, operator = Desk(server.app[SERVICES]), await laura(server)
    await desk.set_status(ticket.number, "closed", operator)
    status, body = await rate(server, ticket.number, ticket.token,
                              {"score": 4, "comment": "  Veloce e chiaro.  "})
    assert (status, body) == (201, {"number": ticket.number,
                                    "rating": {"score": 4, "comment": "Veloce e chiaro."}})
    assert (await view(server, ticket.number, ticket.token))["rating"] == {
        "score": 4, "comment": "Veloce e chiaro."
    }

    status, body = await rate(server, ticket.number, ticket.token, {"score": 1}, lang="en")
    assert status == 409 and body["error"]["code"] == "already_rated"
    assert body["error"]["message"].startswith("You have already rated this ticket")
    # reopened and closed again: still once
    await desk.set_status(ticket.number, "open", operator)
    await desk.set_status(ticket.number, "closed", operator)
    status, body = await rate(server, ticket.number, ticket.token, {"score": 1})
    assert status == 409 and body["error"]["code"] == "already_rated"
    assert (await view(server, ticket.number, ticket.token))["rating"]["score"] == 4


async def test_a_score_outside_1_to_5_or_a_bad_comment_is_refused(server: Server) -> None:
    ticket = await open_ticket(server)
    await Desk(server.app[SERVICES]).set_status(ticket.number, "closed", await laura(server))
    for bad in ({}, {"score": 0}, {"score": 6}, {"score": "5"}, {"score": 4.5},
                {"score": True}, {"score": None}):
        status, body = await rate(server, ticket.number, ticket.token, bad)
        assert status == 422, bad
        assert body["error"]["fields"] == {"score": "Scegli un voto intero da 1 a 5."}
    for comment in ("x" * 1001, 5, ["ok"]):
        status, body = await rate(server, ticket.number, ticket.token,
                                  {"score": 3, "comment": comment})
        assert status == 422
        assert set(body["error"]["fields"]) == {"comment"}
    # nothing was kept: a valid rating still goes through, and the longest comment fits
    status, body = await rate(server, ticket.number, ticket.token,
                              {"score": 1, "comment": "x" * 1000})
    assert status == 201 and body["rating"]["score"] == 1


async def test_a_token_rates_only_its_own_ticket(server: Server) -> None:
    mine, other = await open_ticket(server), await open_ticket(server)
    await Desk(server.app[SERVICES]).set_status(other.number, "closed", await laura(server))
    status, body = await rate(server, other.number, mine.token, {"score": 5})
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, _ = await rate(server, other.number, "not-a-token", {"score": 5})
    assert status == 401


async def test_operators_see_the_rating_live_and_the_report_averages_it(
    server: Server, signed_in: Factory, sockets: list[Recorder]
) -> None:
    ticket = await open_ticket(server)
    console = await signed_in(LAURA)
    status, _ = await console.post(f"/api/console/tickets/{ticket.number}/status",
                                   {"status": "closed"})
    assert status == 200
    operator = OperatorSocket()
    sockets.append(operator)
    await operator.connect(server, cookie=console.cookie_header,
                           auth={"csrf_token": console.csrf})
    student = StudentSocket()
    sockets.append(student)
    await student.watch(server, ticket.token)

    status, _ = await rate(server, ticket.number, ticket.token, {"score": 2, "comment": "Lento"})
    assert status == 201
    live = await student.next("ticket", where=lambda t: t["rating"] is not None)
    assert live["rating"] == {"score": 2, "comment": "Lento"}
    queued = await operator.next("queue", where=lambda p: p["reason"] == "rated")
    assert queued["ticket"]["number"] == ticket.number and queued["by"] == "student"
    status, seen = await console.get(f"/api/console/tickets/{ticket.number}")
    assert seen["rating"]["score"] == 2 and seen["rating"]["comment"] == "Lento"
    assert seen["rating"]["at"]

    elena = await signed_in(ELENA)
    _, report = await elena.get("/api/console/reports", days="1")
    assert report["rating"] == {"count": 1, "average": 2.0}


async def test_the_closing_mail_links_to_the_rating(server: Server) -> None:
    ticket = await open_ticket(server)
    await Desk(server.app[SERVICES]).set_status(ticket.number, "closed", await laura(server))
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    [closing] = [m for m in stored.outbox if m.kind == "closed"]
    link = f"{server.url}/ticket?number={ticket.number}#rating"
    assert link in closing.text
    assert f'href="{link}"' in closing.html
    assert "Valuta l'assistenza ricevuta" in closing.html
