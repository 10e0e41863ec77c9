"""Closing a ticket as a duplicate: a student on a deadline night opens the same request two or
three times; the operator closes the extra ones in favour of the ticket that goes on. The
student is told to follow that one (one mail, no rating asked), and the figures count no
resolution for it."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import Server
from tests.storage.test_figures import EARLY, LATE
from tests.web.conftest import LAURA, Factory, open_ticket
from tests.web.console.test_api import student_view
from web.http.keys import SERVICES

REFUSED = (
    "Un ticket si chiude come duplicato di un ticket aperto dello stesso studente, aperto "
    "prima: quello indicato non esiste, è di un altro studente, è chiuso o è più recente "
    "(chiudi invece quello)."
)


@pytest.fixture
def server(either_server: Server) -> Server:
    """On both storages: the closing is kept in the ticket's record and its moments."""
    return either_server


async def rate(server: Server, number: str, token: str) -> tuple[int, Any]:
    url = f"{server.url}/api/tickets/{number}/rating"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.post(
        url, json={"score": 5}, headers=headers
    ) as r:
        return r.status, await r.json()


async def test_a_second_ticket_is_closed_in_favour_of_the_first(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    first = await open_ticket(server, email="chiara.neri@example.org")
    second = await open_ticket(server, email="Chiara.Neri@Example.org")  # the same student
    status, body = await laura.post(
        f"/api/console/tickets/{second.number}/status",
        {"status": "closed", "duplicate_of": first.number.lstrip("0")},  # as typed, zeros lost
    )
    assert status == 200 and body["ticket"]["status"] == "closed"

    services = server.app[SERVICES]
    stored = await services.storage.tickets.get(second.number)
    assert stored is not None and stored.duplicate_of == first.number
    mail = stored.outbox[-1]
    assert mail.kind == "duplicate"
    assert f"segui il ticket {first.number}" in mail.subject
    assert "valuta" not in mail.text.lower()  # nothing was answered here: nothing to rate
    seen = await student_view(server, second.number, second.token)
    assert seen["status"] == "closed" and seen["duplicate_of"] == first.number
    status, refused = await rate(server, second.number, second.token)
    assert status == 409 and refused["error"]["message"] == (
        f"Questo ticket è stato chiuso come duplicato: valuta l'assistenza sul ticket "
        f"{first.number}."
    )
    _, view = await laura.get(f"/api/console/tickets/{second.number}")
    assert view["duplicate_of"] == first.number
    # whoever answers the first reads there, in a note, what the second asked
    kept = await services.storage.tickets.get(first.number)
    assert kept is not None
    note = kept.messages[-1]
    assert note.internal and note.username == "lbianchi"
    assert note.body.startswith(
        f"Il ticket {second.number} è stato chiuso come duplicato di questo"
    )
    assert "Non riesco a pagare la prima rata" in note.body
    seen = await student_view(server, first.number, first.token)
    assert "duplicato" not in str(seen["messages"])  # a note: never the student's to read

    # the figures: closed, but no resolution to count
    [closed] = await services.storage.tickets.times_between("closed", EARLY, LATE)
    assert closed.number == second.number and closed.resolution_seconds is None

    # reopened, it is a ticket of its own again
    status, _ = await laura.post(f"/api/console/tickets/{second.number}/status", {"status": "open"})
    assert status == 200
    stored = await services.storage.tickets.get(second.number)
    assert stored is not None and stored.duplicate_of is None


async def test_a_duplicate_names_an_open_ticket_of_the_same_student(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    mine = await open_ticket(server, email="paolo.russo@example.org")
    extra = await open_ticket(server, email="paolo.russo@example.org")
    someone_else = await open_ticket(server)
    # another mailbox, which only Unicode's case folding reads as the same ("ß" -> "ss")
    lookalike = await open_ticket(server, email="paolo.strauß@example.org")
    lookalike_later = await open_ticket(server, email="paolo.strauss@example.org")
    closed = await open_ticket(server, email="paolo.russo@example.org")
    path = f"/api/console/tickets/{extra.number}/status"
    assert (await laura.post(f"/api/console/tickets/{closed.number}/status",
                             {"status": "closed"}))[0] == 200
    for body in (
        {"status": "closed", "duplicate_of": someone_else.number},  # another student's
        {"status": "closed", "duplicate_of": extra.number},  # itself
        {"status": "closed", "duplicate_of": closed.number},  # nothing goes on there
        {"status": "closed", "duplicate_of": "999999"},  # no such ticket
        {"status": "closed", "duplicate_of": "dodici"},
        {"status": "awaiting_user", "duplicate_of": mine.number},  # only a closing
    ):
        status, answer = await laura.post(path, body)
        assert status == 422, body
        assert answer["error"]["fields"] == {"duplicate_of": REFUSED}
    # the earlier one goes on: closing it in favour of the newer is refused, so that two
    # operators closing the two at once in favour of each other cannot both succeed
    status, answer = await laura.post(
        f"/api/console/tickets/{mine.number}/status",
        {"status": "closed", "duplicate_of": extra.number},
    )
    assert status == 422 and answer["error"]["fields"] == {"duplicate_of": REFUSED}
    status, answer = await laura.post(
        f"/api/console/tickets/{lookalike_later.number}/status",
        {"status": "closed", "duplicate_of": lookalike.number},
    )
    assert status == 422 and answer["error"]["fields"] == {"duplicate_of": REFUSED}
    # nor is a ticket already closed closed again as a duplicate
    status, _ = await laura.post(
        f"/api/console/tickets/{closed.number}/status",
        {"status": "closed", "duplicate_of": mine.number},
    )
    assert status == 422
    stored = await server.app[SERVICES].storage.tickets.get(extra.number)
    assert stored is not None and stored.status == "open" and [m.kind for m in stored.outbox] == [
        "opened"
    ]
