"""The operator handling a ticket learns that mail to its student does not arrive: a real
SMTP server on loopback refuses the student's (mistyped) address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, make_config, start_server
from tests.web.conftest import ANNA, LAURA, Console, Factory, open_ticket
from tests.web.desk.test_mail import SmtpServer, free_port
from web.http.keys import SERVICES

MISTYPED = "mario.rosi@example.org"


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.inbox.refuse.add(MISTYPED)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def server(data_dir: Path, smtp: SmtpServer) -> AsyncIterator[Server]:
    config = make_config(
        data_dir, smtp_host="127.0.0.1", smtp_port=smtp.port, mail_max_attempts=1
    )
    running = await start_server(config)
    try:
        yield running
    finally:
        await running.stop()


async def test_the_ticket_tells_the_operator_which_mail_did_not_arrive(
    server: Server, signed_in: Factory, smtp: SmtpServer
) -> None:
    lost = await open_ticket(server, email=MISTYPED)
    reached = await open_ticket(server)
    storage = server.app[SERVICES].storage
    for _ in range(200):
        if len(await storage.outbox.parked()) == 1 and len(smtp.inbox.envelopes) == 1:
            break
        await asyncio.sleep(0.05)
    laura = await signed_in(LAURA)

    status, view = await laura.get(f"/api/console/tickets/{lost.number}")
    assert status == 200
    [mail] = view["undelivered_mail"]
    assert (mail["kind"], mail["reason"]) == ("opened", "refused")
    assert mail["last_error"] == "550 5.1.1 No such mailbox"
    assert mail["id"] and mail["created_at"]

    _, view = await laura.get(f"/api/console/tickets/{reached.number}")
    assert view["undelivered_mail"] == []


async def test_the_corrected_address_gets_its_mail_and_every_later_one(
    server: Server, signed_in: Factory, smtp: SmtpServer
) -> None:
    lost = await open_ticket(server, email=MISTYPED)
    await until_parked(server)
    laura = await signed_in(LAURA)
    view = await corrected(laura, lost.number)
    # the mail given up on went to an address the ticket no longer has
    assert view["undelivered_mail"] == []
    status, _ = await laura.post(
        f"/api/console/tickets/{lost.number}/messages", {"body": "Ecco come pagare la rata."}
    )
    assert status == 201
    await until_received(smtp, 2)
    assert [e.rcpt_tos for e in smtp.inbox.envelopes] == [["mario.rossi@example.org"]] * 2
    told, replied = smtp.inbox.messages()
    assert told["Subject"] == f"[Ticket {lost.number}] Il tuo indirizzo email è stato aggiornato"
    text = told.get_body(("plain",))
    assert text is not None
    said = text.get_content()
    assert f"apri il ticket con questa email e il numero {lost.number}" in said
    assert "example.org" not in said  # neither address: the mail names none
    assert replied["Subject"] == f"[Ticket {lost.number}] Nuova risposta dall'assistenza"


async def test_a_mail_tried_again_after_the_address_was_corrected_goes_to_the_new_one(
    server: Server, signed_in: Factory, smtp: SmtpServer
) -> None:
    """The mistyped address may be a stranger's: an admin's "try again" on the mail given up
    on there must reach the student, not them."""
    lost = await open_ticket(server, email=MISTYPED)
    storage = server.app[SERVICES].storage
    await until_parked(server)
    [(_, parked)] = await storage.outbox.parked()
    laura = await signed_in(LAURA)
    await corrected(laura, lost.number)
    anna = await signed_in(ANNA)
    status, _ = await anna.post(f"/api/console/mail/parked/{lost.number}/{parked.id}/retry", {})
    assert status == 200
    await until_received(smtp, 2)
    assert [e.rcpt_tos for e in smtp.inbox.envelopes] == [["mario.rossi@example.org"]] * 2
    assert {m["Subject"] for m in smtp.inbox.messages()} == {
        f"[Ticket {lost.number}] Il tuo indirizzo email è stato aggiornato",
        f"[Ticket {lost.number}] Richiesta ricevuta",
    }


async def test_mail_still_waiting_to_leave_goes_to_the_corrected_address(
    server: Server, signed_in: Factory, smtp: SmtpServer
) -> None:
    greylisted = "mario.rossi@exmaple.org"
    smtp.inbox.defer_rcpt[greylisted] = 1000  # the opened mail waits for its next try
    lost = await open_ticket(server, email=greylisted)
    for _ in range(200):
        if smtp.inbox.deferred:
            break
        await asyncio.sleep(0.05)
    laura = await signed_in(LAURA)
    await corrected(laura, lost.number)
    ticket = await server.app[SERVICES].storage.tickets.get(lost.number)
    assert ticket is not None
    assert {(m.kind, m.to) for m in ticket.outbox} == {
        ("opened", "mario.rossi@example.org"),
        ("contact", "mario.rossi@example.org"),
    }


async def until_parked(server: Server) -> None:
    """Until the outbox has given up on the one mail to the mistyped address."""
    for _ in range(200):
        if len(await server.app[SERVICES].storage.outbox.parked()) == 1:
            return
        await asyncio.sleep(0.05)


async def until_received(smtp: SmtpServer, count: int) -> None:
    for _ in range(200):
        if len(smtp.inbox.envelopes) == count:
            return
        await asyncio.sleep(0.05)


async def corrected(laura: Console, number: str) -> dict[str, Any]:
    """The ticket as the console shows it once Laura gave it the student's real address."""
    status, view = await laura.post(
        f"/api/console/tickets/{number}/contact", {"email": "mario.rossi@example.org"}
    )
    assert status == 200
    return view
