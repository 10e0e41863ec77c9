"""A ticket's history in the console: beside its status changes, who took it, passed it on or
gave it back, as the ticket record keeps them (on both backends: each reads the record as
JSON)."""

from __future__ import annotations

import aiohttp

from tests.conftest import Server
from tests.web.backends import on_both_backends  # noqa: F401 - `server`, twice
from tests.web.conftest import ANNA, LAURA, MARCO, Factory, open_ticket


def hands(view: dict[str, object]) -> list[tuple[object, ...]]:
    assignments = view["assignments"]
    assert isinstance(assignments, list)
    return [(a["operator"], a["operator_name"], a["by"], a["by_name"]) for a in assignments]


async def test_the_history_says_who_took_passed_on_and_released_the_ticket(
    server: Server, signed_in: Factory
) -> None:
    anna, laura, marco = await signed_in(ANNA), await signed_in(LAURA), await signed_in(MARCO)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}"
    assert (await laura.post(f"{path}/assign", {"username": ""}))[0] == 200
    # taking what one already holds is no change of hands
    assert (await laura.post(f"{path}/assign", {"username": ""}))[0] == 200
    assert (await laura.post(f"{path}/assign", {"username": "mverdi"}))[0] == 200
    assert (await marco.post(f"{path}/messages", {"body": "Eccomi."}))[0] == 201
    # Marco's account is closed: his open ticket goes back to nobody
    assert (await anna.post("/api/console/operators/mverdi", {"active": False}))[0] == 200

    status, view = await laura.get(path)
    assert status == 200
    assert hands(view) == [
        ("lbianchi", "Laura Bianchi", "lbianchi", "Laura Bianchi"),
        ("mverdi", "Marco Verdi", "lbianchi", "Laura Bianchi"),
        (None, None, "aneri", "Anna Neri"),
    ]
    stamps = [a["at"] for a in view["assignments"]]
    assert stamps == sorted(stamps)
    assert [(h["status"], h["by"]) for h in view["history"]] == [("open", "student")]
    # the student's own copy of their data does not list the office's hands
    headers = {"Authorization": f"Bearer {ticket.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/tickets/{ticket.number}/export", headers=headers) as r,
    ):
        assert r.status == 200
        [exported] = (await r.json())["tickets"]
    assert "assignments" not in exported and "history" in exported


async def test_answering_or_closing_a_ticket_nobody_holds_takes_it_in_the_history(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    answered, closed = await open_ticket(server), await open_ticket(server)
    path = "/api/console/tickets/{}"
    assert (await laura.post(path.format(answered.number) + "/messages", {"body": "Ecco."}))[
        0
    ] == 201
    # a note takes nothing
    note = {"body": "da vedere", "internal": True}
    assert (await laura.post(path.format(closed.number) + "/messages", note))[0] == 201
    _, view = await laura.get(path.format(closed.number))
    assert view["assignments"] == []
    assert (await laura.post(path.format(closed.number) + "/status", {"status": "closed"}))[
        0
    ] == 200
    for ticket in (answered, closed):
        _, view = await laura.get(path.format(ticket.number))
        assert hands(view) == [("lbianchi", "Laura Bianchi", "lbianchi", "Laura Bianchi")]
