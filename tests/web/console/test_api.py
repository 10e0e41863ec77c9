"""The console's HTTP side against the real server: accounts and sign-in, sessions, CSRF, every
authorisation rule, the queue, a ticket, replies, status, assignment, the team and the mail
that could not be delivered. Live traffic is in test_console_live.py."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.i18n import t
from bot.validate import MESSAGE_MAX
from storage import Conversation, FaqEvent, Message, OperatorStore, Ticket
from tests.conftest import ROOT, Server, make_config, start_server
from tests.storage.conftest import build
from tests.web.conftest import (
    ANNA,
    ELENA,
    IDLE,
    LAURA,
    MARCO,
    PASSWORD,
    Account,
    Console,
    Factory,
    age_session,
    create_account,
    open_ticket,
    stored_session,
    student_writes,
)
from tests.web.student.test_chat import Student
from web.config import Config
from web.desk.accounts import add_operator_command, verify_password
from web.desk.sessions import ABSOLUTE_SECONDS, COOKIE
from web.desk.tickets import Desk
from web.http.keys import SERVICES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


async def student_view(server: Server, number: str, token: str) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.url}/api/tickets/{number}", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        assert response.status == 200
        data: dict[str, object] = await response.json()
        return data


# --- signing in -----------------------------------------------------------------------------


async def test_login_sets_a_private_session_cookie_and_returns_the_csrf_token(
    server: Server, team: dict[str, Account]
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/api/console/login", json={"username": "LBianchi ", "password": PASSWORD}
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
        cookie = response.headers["Set-Cookie"]
    assert body["name"] == "Laura Bianchi" and body["role"] == "operator"
    assert body["username"] == "lbianchi"
    assert len(body["csrf_token"]) >= 32
    assert "password" not in json.dumps(body)
    assert cookie.startswith(f"{COOKIE}=")
    session_id = cookie.split("=", 1)[1].split(";")[0]
    assert len(session_id) >= 32  # 256 random bits, url-safe base64
    attributes = cookie.lower()
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain http on loopback


async def test_the_cookie_is_secure_behind_https(data_dir: Path) -> None:
    config = make_config(data_dir)
    server = await start_server(replace(config, public_url="https://helpdesk.example.org"))
    try:
        await create_account(server, LAURA)
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server.url}/api/console/login",
                json={"username": LAURA.username, "password": PASSWORD},
            ) as response,
        ):
            assert response.status == 200
            assert "secure" in response.headers["Set-Cookie"].lower()
    finally:
        await server.stop()


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    server: Server, team: dict[str, Account]
) -> None:
    console = Console(server)
    try:
        wrong = await console.login(LAURA, "non-e-la-password")
        unknown = await console.login(Account("nessuno", "", "operator"))
        malformed = await console.login(Account("Not a user!", "", "operator"))
    finally:
        await console.close()
    assert (
        wrong
        == unknown
        == malformed
        == (
            401,
            {"error": {"code": "login_failed", "message": "Nome utente o password non corretti."}},
        )
    )


async def test_login_errors_are_in_english_on_request(
    server: Server, team: dict[str, Account]
) -> None:
    console = Console(server, lang="en")
    try:
        status, body = await console.login(LAURA, "wrong-password")
        assert status == 401
        assert body["error"]["message"] == "Wrong user name or password."
        status, body = await console.post("/api/console/login", {"username": "x"}, csrf=False)
        assert status == 422
        assert body["error"]["fields"] == {"password": "Required."}
    finally:
        await console.close()


async def test_login_wants_json_from_our_own_origin(
    server: Server, team: dict[str, Account]
) -> None:
    async with aiohttp.ClientSession() as http:
        # A cross-site form can post urlencoded data: never accepted.
        async with http.post(
            f"{server.url}/api/console/login",
            data={"username": LAURA.username, "password": PASSWORD},
        ) as response:
            assert response.status == 400
        async with http.post(
            f"{server.url}/api/console/login",
            json={"username": LAURA.username, "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        ) as response:
            assert response.status == 403
            assert "Set-Cookie" not in response.headers


async def test_failed_logins_are_throttled_per_user_even_for_the_right_password(
    server: Server, team: dict[str, Account]
) -> None:
    console = Console(server)
    try:
        for _ in range(5):
            assert (await console.login(LAURA, "tentativo-sbagliato"))[0] == 401
        status, body = await console.login(LAURA)
        assert status == 429
        assert body["error"]["code"] == "rate_limited"
        assert "riprova tra" in body["error"]["message"]
        # another operator is not locked out by Laura's attacker
        assert (await console.login(MARCO))[0] == 200
    finally:
        await console.close()


async def test_failed_logins_are_throttled_per_address(
    server: Server, team: dict[str, Account]
) -> None:
    console = Console(server)
    try:
        assert (await console.login(LAURA))[0] == 200  # Laura works from this address
        for i in range(20):
            assert (await console.login(Account(f"utente{i}", "", "operator")))[0] == 401
        status, _ = await console.login(MARCO)
        assert status == 429
        # made-up usernames from a shared address (a campus network) do not lock out an
        # operator who signed in from it lately; her own mistakes still count (5 per 15 min)
        assert (await console.login(LAURA))[0] == 200
        for _ in range(5):
            assert (await console.login(LAURA, "sbagliata"))[0] == 401
        assert (await console.login(LAURA))[0] == 429
    finally:
        await console.close()


async def test_a_burst_of_concurrent_guesses_gets_no_more_password_checks_than_the_limit(
    server: Server, team: dict[str, Account]
) -> None:
    # Checking the limit, awaiting argon2, then counting let every request of a burst through.
    console = Console(server)
    try:
        answers = await asyncio.gather(
            *(console.login(LAURA, f"tentativo-{i:02d}") for i in range(30))
        )
    finally:
        await console.close()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [401] * 5 + [429] * 25


async def test_guesses_from_one_address_do_not_lock_the_operator_out(
    server: Server, team: dict[str, Account]
) -> None:
    attacker = Console(server, source="127.0.0.1")
    laura = Console(server, source="127.0.0.2")
    try:
        answers = await asyncio.gather(
            *(attacker.login(LAURA, f"tentativo-{i:02d}") for i in range(12))
        )
        assert sorted(status for status, _ in answers) == [401] * 5 + [429] * 7
        assert (await attacker.login(LAURA))[0] == 429  # this address is done for a while
        assert (await laura.login(LAURA))[0] == 200  # Laura, at her own desk, is not
    finally:
        await attacker.close()
        await laura.close()


async def test_guesses_from_many_addresses_meet_a_ceiling_per_username(
    server: Server, team: dict[str, Account]
) -> None:
    # Ten addresses, five guesses each: the strict limit per address never trips, the
    # ceiling per username does, for every new address; but not where Laura works every day.
    guessers = [Console(server, source=f"127.0.0.{n}") for n in range(2, 12)]
    laura_at_her_desk = Console(server, source="127.0.0.20")
    laura_elsewhere = Console(server, source="127.0.0.21")
    try:
        assert (await laura_at_her_desk.login(LAURA))[0] == 200
        for guesser in guessers:
            answers = await asyncio.gather(
                *(guesser.login(LAURA, f"tentativo-{i}") for i in range(5))
            )
            assert [status for status, _ in answers] == [401] * 5
        assert (await laura_elsewhere.login(LAURA))[0] == 429
        assert (await laura_elsewhere.login(MARCO))[0] == 200  # the ceiling is Laura's only
        assert (await laura_at_her_desk.login(LAURA))[0] == 200
    finally:
        for console in [*guessers, laura_at_her_desk, laura_elsewhere]:
            await console.close()


async def test_a_successful_login_forgives_earlier_typos(
    server: Server, team: dict[str, Account]
) -> None:
    console = Console(server)
    try:
        for _ in range(3):
            assert (await console.login(LAURA, "errore-di-battitura"))[0] == 401
        assert (await console.login(LAURA))[0] == 200
        for _ in range(4):
            assert (await console.login(LAURA, "errore-di-battitura"))[0] == 401
        assert (await console.login(LAURA))[0] == 200
    finally:
        await console.close()


async def test_a_deactivated_account_cannot_sign_in(
    server: Server, team: dict[str, Account]
) -> None:
    store = server.app[SERVICES].storage.operators
    laura = await store.get(LAURA.username)
    assert laura is not None
    await store.put(replace(laura, active=False))
    console = Console(server)
    try:
        status, body = await console.login(LAURA)
        assert status == 403
        assert body["error"]["code"] == "account_disabled"
        assert "disattivato" in body["error"]["message"]
        # without the password nobody learns that the account exists
        assert (await console.login(LAURA, "altra-password"))[0] == 401
    finally:
        await console.close()


async def test_every_login_draws_a_new_session_and_ends_the_one_the_browser_had(
    server: Server, signed_in: Factory
) -> None:
    console = await signed_in(LAURA)
    first, first_csrf = console.session_id, console.csrf
    assert (await console.login(LAURA))[0] == 200
    assert console.session_id != first and console.csrf != first_csrf
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.url}/api/console/me", headers={"Cookie": f"{COOKIE}={first}"}
        ) as response,
    ):
        assert response.status == 401


async def test_logout_kills_the_session_on_the_server(server: Server, signed_in: Factory) -> None:
    console = await signed_in(LAURA)
    cookie = console.cookie_header
    assert (await console.get("/api/console/me"))[0] == 200
    status, _ = await console.post("/api/console/logout")
    assert status == 204
    assert console.session_id == ""  # the browser dropped it
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/console/me", headers={"Cookie": cookie}) as response,
    ):
        assert response.status == 401  # and a copy of it is worth nothing


async def test_a_session_expires_when_idle_and_after_a_working_day(
    server: Server, signed_in: Factory
) -> None:
    idle = await signed_in(LAURA)
    await age_session(server, idle.session_id, idle=IDLE + 1)
    status, body = await idle.get("/api/console/tickets")
    assert status == 401
    assert body["error"]["message"] == "Accesso non valido o scaduto: accedi di nuovo."

    busy = await signed_in(MARCO)
    # active all along, but since yesterday
    await age_session(server, busy.session_id, age=ABSOLUTE_SECONDS + 1)
    assert (await busy.get("/api/console/tickets"))[0] == 401


async def test_activity_keeps_a_session_alive(server: Server, signed_in: Factory) -> None:
    console = await signed_in(LAURA)
    await age_session(server, console.session_id, idle=IDLE - 5)  # five seconds left
    assert (await console.get("/api/console/tickets"))[0] == 200
    # ten seconds later: the request above restarted the clock
    await age_session(server, console.session_id, idle=10)
    assert (await console.get("/api/console/tickets"))[0] == 200


async def test_a_refresh_the_page_makes_by_itself_is_not_activity(
    server: Server, signed_in: Factory
) -> None:
    console = await signed_in(LAURA)
    await age_session(server, console.session_id, idle=60)
    before = await stored_session(server, console.session_id)
    async with console.http.get(
        "/api/console/tickets", headers={"X-Console-Background": "1"}
    ) as response:
        assert response.status == 200
    # the queue reloaded after a push: still idle
    assert await stored_session(server, console.session_id) == before
    await age_session(server, console.session_id, idle=IDLE)
    async with console.http.get(
        "/api/console/tickets", headers={"X-Console-Background": "1"}
    ) as response:
        assert response.status == 401  # and the idle limit holds for it too


async def test_a_new_password_ends_the_sessions_opened_with_the_old_one(
    server: Server, signed_in: Factory
) -> None:
    console = await signed_in(LAURA)
    code = await asyncio.to_thread(
        add_operator_command,
        [LAURA.username, "--password-stdin"],
        server.config,
        stdin=io.StringIO("una-password-nuova\n"),
        stdout=io.StringIO(),
    )
    assert code == 0
    assert (await console.get("/api/console/tickets"))[0] == 401
    assert (await console.login(LAURA, "una-password-nuova"))[0] == 200


# --- every door needs a session, every POST its CSRF token ------------------------------------

CONSOLE_GETS = [
    "/api/console/me",
    "/api/console/tickets",
    "/api/console/tickets/{number}",
    "/api/console/faq?q=isee",
    "/api/console/operators",
    "/api/console/mail/parked",
    "/api/console/faq-report",
]
CONSOLE_POSTS = [
    ("/api/console/logout", {}),
    ("/api/console/tickets/{number}/messages", {"body": "Buongiorno, le rispondo subito."}),
    ("/api/console/tickets/{number}/status", {"status": "closed"}),
    ("/api/console/tickets/{number}/assign", {"username": ""}),
    (
        "/api/console/operators",
        {"username": "nuovo", "name": "Nuovo Operatore", "password": "password-lunga-1"},
    ),
    ("/api/console/operators/mverdi", {"active": False}),
    ("/api/console/mail/parked/{number}/m1/retry", {}),
    ("/api/console/mail/parked/retry", {}),
    ("/api/console/me/password", {"current": "password-lunga-1", "password": "password-nuova-1"}),
]


async def test_without_a_session_every_console_call_is_401_even_with_a_student_token(
    server: Server, team: dict[str, Account]
) -> None:
    ticket = await open_ticket(server)
    async with aiohttp.ClientSession(base_url=server.url) as http:
        for bearer in (None, ticket.token):
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            for path in CONSOLE_GETS:
                async with http.get(path.format(number=ticket.number), headers=headers) as r:
                    assert r.status == 401, path
                    assert (await r.json())["error"]["code"] == "unauthorized"
            for path, body in CONSOLE_POSTS:
                async with http.post(
                    path.format(number=ticket.number), json=body, headers=headers
                ) as r:
                    assert r.status == 401, path
        # a made-up session id is no better
        async with http.get("/api/console/tickets", headers={"Cookie": f"{COOKIE}=forged"}) as r:
            assert r.status == 401


@pytest.mark.parametrize("token", [None, "", "sbagliato"])
async def test_every_post_without_the_csrf_token_is_403_and_changes_nothing(
    server: Server, signed_in: Factory, token: str | None
) -> None:
    admin = await signed_in(ANNA)
    ticket = await open_ticket(server)
    headers = {"X-CSRF-Token": token} if token is not None else {}
    saved, admin.csrf = admin.csrf, ""
    for path, body in CONSOLE_POSTS:
        status, answer = await admin.post(path.format(number=ticket.number), body, headers=headers)
        assert status == 403, path
        assert answer["error"]["code"] == "csrf"
        assert answer["error"]["message"].startswith("La sessione della pagina non è più valida")
    admin.csrf = saved
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert stored.status == "open" and stored.operator is None and len(stored.messages) == 1
    assert await server.app[SERVICES].storage.operators.get("nuovo") is None
    assert (await admin.get("/api/console/me"))[0] == 200  # logout did not happen either


async def test_one_sessions_csrf_token_does_not_work_with_another_session(
    server: Server, signed_in: Factory
) -> None:
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    ticket = await open_ticket(server)
    laura.csrf = marco.csrf
    status, _ = await laura.post(f"/api/console/tickets/{ticket.number}/assign", {"username": ""})
    assert status == 403


async def test_only_admins_manage_accounts_and_read_parked_mail(signed_in: Factory) -> None:
    for account in (LAURA, ELENA):
        console = await signed_in(account)
        assert (await console.get("/api/console/mail/parked"))[0] == 403
        status, body = await console.post(
            "/api/console/operators",
            {"username": "nuovo", "name": "Nuovo Operatore", "password": "password-lunga-1"},
        )
        assert status == 403 and body["error"]["code"] == "forbidden"
        status, _ = await console.post("/api/console/operators/mverdi", {"active": False})
        assert status == 403


# --- the page -------------------------------------------------------------------------------


async def test_the_console_page_is_private_and_escapes_what_it_embeds(
    server: Server, signed_in: Factory
) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/console") as response:
        assert response.status == 200
        page = await response.text()
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
    assert '"me": null' in page and '<script type="module" src="/static/console.js">' in page

    sneaky = Account("sneaky", "</script><script>alert(1)</script>", "operator")
    await create_account(server, sneaky)
    console = await signed_in(sneaky)
    status, page = await console.get("/console")
    assert status == 200
    assert "<script>alert(1)" not in page
    boot = re.search(
        r'<script type="application/json" id="console-boot">(.*?)</script>', page, re.S
    )
    assert boot is not None
    data = json.loads(boot.group(1))
    assert data["me"]["name"] == sneaky.name
    assert data["me"]["csrf_token"] == console.csrf


# --- the queue ------------------------------------------------------------------------------


async def test_the_queue_filters_by_status_assignment_and_subtopic_with_counts(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    marco = await signed_in(MARCO)
    a = await open_ticket(server, subtopic="tasse-pagamenti")
    b = await open_ticket(server, subtopic="scadenze")
    c = await open_ticket(server, subtopic="scadenze")
    d = await open_ticket(server, subtopic="documenti")
    await laura.post(f"/api/console/tickets/{a.number}/assign", {"username": ""})
    await marco.post(f"/api/console/tickets/{b.number}/assign", {})
    await marco.post(f"/api/console/tickets/{b.number}/status", {"status": "awaiting_user"})
    await laura.post(f"/api/console/tickets/{d.number}/status", {"status": "closed"})

    async def numbers(**params: str) -> list[str]:
        status, body = await laura.get("/api/console/tickets", **params)
        assert status == 200, body
        return [t["number"] for t in body["tickets"]]

    everything = await numbers()
    assert everything == [d.number, c.number, b.number, a.number]  # newest first
    assert await numbers(status="open") == [c.number, a.number]
    assert await numbers(status="open,awaiting_user") == [c.number, b.number, a.number]
    assert await numbers(assigned="me") == [d.number, a.number]
    assert await numbers(assigned="none") == [c.number]
    assert await numbers(assigned="me,none", status="open") == [c.number, a.number]
    assert await numbers(assigned="mverdi") == [b.number]
    assert await numbers(subtopic="scadenze") == [c.number, b.number]
    assert await numbers(sort="oldest") == [a.number, b.number, c.number, d.number]
    status, body = await laura.get("/api/console/tickets", status="open", subtopic="scadenze")
    assert body["counts"] == {"open": 1, "awaiting_user": 1, "closed": 0}
    assert body["total"] == 1
    item = body["tickets"][0]
    assert set(item) >= {
        "number",
        "status",
        "topic",
        "subtopic",
        "name",
        "email",
        "operator",
        "created_at",
        "updated_at",
    }
    assert item["operator"] is None and item["last_author"] == "student"
    _, body = await laura.get("/api/console/tickets", assigned="mverdi")
    assert body["tickets"][0]["operator"] == {"username": "mverdi", "name": "Marco Verdi"}


async def test_the_queue_searches_number_email_name_and_text(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    a = await open_ticket(
        server,
        name="Esposito Chiara",
        message="Ho caricato l'ISEE ma il portale non lo vede ancora.",
    )
    b = await open_ticket(server, name="Russo Paolo")

    async def search(q: str) -> list[str]:
        status, body = await laura.get("/api/console/tickets", q=q)
        assert status == 200
        return [t["number"] for t in body["tickets"]]

    assert await search(a.number) == [a.number]
    assert (await search(f" #{int(a.number)} "))[0] == a.number
    assert (await search(f"ticket {a.number}"))[0] == a.number  # pasted from its mail
    assert await search(a.email.upper()) == [a.number]
    assert await search("esposito") == [a.number]
    assert await search("portale non lo vede") == [a.number]
    assert await search("russo") == [b.number]
    assert await search("nessuno scrive questo") == []
    # "Cognome e nome" either way round, the phone as an operator reads it out, an apostrophe
    # as a phone types it
    c = await open_ticket(server, name="D'Angelo Nicolò", phone="333 1000019")
    assert await search("Nicolò D'Angelo") == [c.number]
    assert await search("d’angelo nicolo") == [c.number]
    assert await search("Nicolò Esposito") == []
    assert await search("+39 333 1000019") == [c.number]
    assert await search("3331000019") == [c.number]
    assert (await search(f"#{int(c.number)}"))[0] == c.number


async def test_the_waiting_order_keeps_a_students_place_until_the_office_answers(
    server: Server, signed_in: Factory
) -> None:
    """"Fermi da più tempo": a reminder, an internal note and an assignment move no ticket; a
    reply sends it behind those still waiting; the student's answer brings it back."""
    laura = await signed_in(LAURA)
    first, second, third = [await open_ticket(server) for _ in range(3)]

    async def waiting() -> list[str]:
        status, body = await laura.get("/api/console/tickets", sort="waiting")
        assert status == 200, body
        return [t["number"] for t in body["tickets"]]

    in_order = [first.number, second.number, third.number]
    assert await waiting() == in_order
    await student_writes(server.url, first, "Sollecito: nessuna risposta, la scadenza è oggi!")
    assert await waiting() == in_order
    path = "/api/console/tickets/{}/"
    await laura.post(path.format(second.number) + "messages",
                     {"body": "guardo io dopo", "internal": True})
    assert await waiting() == in_order
    await laura.post(path.format(second.number) + "assign", {"username": ""})
    assert await waiting() == in_order

    status, _ = await laura.post(path.format(first.number) + "messages",
                                 {"body": "Ecco come fare."})
    assert status == 201
    assert await waiting() == [second.number, third.number, first.number]
    await student_writes(server.url, first, "Grazie, ma non funziona ancora.")
    assert await waiting() == [second.number, third.number, first.number]
    fourth = await open_ticket(server)
    assert await waiting() == [second.number, third.number, first.number, fourth.number]


async def test_a_search_in_one_status_finds_an_old_ticket_behind_a_thousand_newer_ones(
    server: Server, signed_in: Factory
) -> None:
    # Two years of tickets: a common word ("MAV") in the "Aperto" tab still finds the one
    # open ticket, and the tab counts count every match, not a first batch of them.
    laura = await signed_in(LAURA)
    waiting = await open_ticket(server, message="Il MAV della seconda rata non si apre.")
    tickets = server.app[SERVICES].storage.tickets
    for n in range(1001):
        await tickets.create(
            build(
                status="closed",
                created_at=f"2099-01-01T00:00:{n // 100:02d}.{n % 100:02d}0+00:00",
                messages=[Message(id="m0", author="student", name="Mario", body="Pagato il MAV")],
            )
        )
    status, body = await laura.get("/api/console/tickets", q="mav", status="open", limit="5")
    assert status == 200
    assert [t["number"] for t in body["tickets"]] == [waiting.number]
    assert body["counts"] == {"open": 1, "awaiting_user": 0, "closed": 1001}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "aperto"}, "status"),
        ({"assigned": "Tutti!"}, "assigned"),
        ({"sort": "random"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "tanti"}, "limit"),
    ],
)
async def test_a_bad_queue_filter_is_named(
    signed_in: Factory, params: dict[str, str], field: str
) -> None:
    laura = await signed_in(LAURA)
    status, body = await laura.get("/api/console/tickets", **params)
    assert status == 422
    assert body["error"]["code"] == "validation_failed"
    assert list(body["error"]["fields"]) == [field]
    english = await signed_in(MARCO, lang="en")
    _, body = await english.get("/api/console/tickets", **params)
    assert body["error"]["message"] == "Some details aren't valid: please check the fields shown."


# --- one ticket -----------------------------------------------------------------------------


async def test_a_ticket_shows_the_student_the_chat_that_led_to_it_and_everything_else(
    server: Server, signed_in: Factory
) -> None:
    services = server.app[SERVICES]
    faq = services.faq.index.faqs[0]
    transcript = [
        {
            "id": "e1",
            "from": "student",
            "kind": "text",
            "text": "Come pago la prima rata?",
            "data": {},
            "at": "2026-09-01T10:00:00.000+00:00",
        },
        {
            "id": "e2",
            "from": "bot",
            "kind": "faq",
            "text": faq.question_in("it"),
            "data": {"id": faq.id, "question": faq.question_in("it"), "answer": "…", "links": []},
            "at": "2026-09-01T10:00:01.000+00:00",
        },
        {
            "id": "e3",
            "from": "student",
            "kind": "text",
            "text": "No, non ho risolto",
            "data": {},
            "at": "2026-09-01T10:00:05.000+00:00",
        },
    ]
    await services.storage.conversations.save(
        Conversation(id="c" * 22, step="done", transcript=transcript)
    )
    fields = {
        "email": "chiara@example.org",
        "name": "Esposito Chiara",
        "phone": "+393331112222",
        "topic": "immatricolazioni",
        "subtopic": "tasse-pagamenti",
        "message": "Il pagamento della prima rata non va a buon fine.",
    }
    ticket = await Desk(services).open(fields, None, conversation_id="c" * 22)
    earlier = await Desk(services).open(
        {**fields, "message": "Una domanda precedente, già chiusa."}, None
    )
    laura = await signed_in(LAURA)
    await laura.post(
        f"/api/console/tickets/{ticket.number}/messages",
        {"body": "Nota: verificare con la segreteria.", "internal": True},
    )

    status, view = await laura.get(f"/api/console/tickets/{int(ticket.number)}")
    assert status == 200
    assert view["number"] == ticket.number
    assert (view["name"], view["email"], view["phone"]) == (
        "Esposito Chiara",
        "chiara@example.org",
        "+393331112222",
    )
    assert view["status_label"] == "Aperto"
    assert view["subtopic_label"]
    assert [m["author"] for m in view["messages"]] == ["student", "operator"]
    assert view["messages"][1]["internal"] is True
    assert view["messages"][1]["username"] == "lbianchi"
    assert view["conversation"]["faqs"] == [{"id": faq.id, "question": faq.question_in("it")}]
    assert [e["id"] for e in view["conversation"]["transcript"]] == ["e1", "e2", "e3"]
    assert view["other_tickets"] == [
        {"number": earlier.number, "status": "open", "created_at": earlier.created_at}
    ]
    assert view["history"][0]["status"] == "open" and view["history"][0]["by"] == "student"
    assert view["student_online"] is False and view["viewers"] == []
    for bad in ("1234567", "abc", "999999"):
        status, body = await laura.get(f"/api/console/tickets/{bad}")
        assert status == 404 and body["error"]["code"] == "not_found"


async def test_a_ticket_names_its_topic_in_the_operators_language_or_by_id_if_gone(
    server: Server, signed_in: Factory
) -> None:
    services = server.app[SERVICES]
    ticket = await open_ticket(server)
    topic, subtopic = services.faq.index.labels("immatricolazioni", "tasse-pagamenti", "en")
    laura = await signed_in(LAURA, lang="en")
    _, view = await laura.get(f"/api/console/tickets/{ticket.number}")
    assert (view["topic_label"], view["subtopic_label"]) == (topic, subtopic)
    assert view["status_label"] == "Open"

    def moved(t: Ticket) -> None:  # an old ticket whose subtopic the editors removed
        t.subtopic = "argomento-rimosso"

    await services.storage.tickets.update(ticket.number, moved)
    _, view = await laura.get(f"/api/console/tickets/{ticket.number}")
    assert (view["topic_label"], view["subtopic_label"]) == (topic, "argomento-rimosso")


async def test_a_reply_reaches_the_student_with_the_display_name_only_and_a_note_never(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    status, body = await laura.post(
        f"/api/console/tickets/{ticket.number}/messages",
        {"body": "Nota interna: studente già sentito al telefono.", "internal": True},
    )
    assert status == 201 and body["message"]["internal"] is True
    assert body["ticket"]["operator"] is None  # a note does not take the ticket
    status, body = await laura.post(
        f"/api/console/tickets/{ticket.number}/messages",
        {"body": "  Buongiorno, il pagamento risulta registrato.\r\n\r\nCordiali saluti  "},
    )
    assert status == 201
    assert (
        body["message"]["body"] == "Buongiorno, il pagamento risulta registrato.\n\nCordiali saluti"
    )
    assert body["ticket"]["operator"]["username"] == "lbianchi"  # answering takes it
    assert body["mailed"] is True  # the student is not online: the mail carries it

    seen = await student_view(server, ticket.number, ticket.token)
    text = json.dumps(seen)
    assert "Nota interna" not in text
    assert "lbianchi" not in text  # never the username
    messages = seen["messages"]
    assert isinstance(messages, list)
    assert messages[-1]["author"] == "operator" and messages[-1]["name"] == "Laura Bianchi"
    assert seen["operator"] == {"name": "Laura Bianchi"}
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert [m.kind for m in stored.outbox] == ["opened", "reply"]
    assert "lbianchi" not in stored.outbox[-1].text


@pytest.mark.parametrize(
    ("then", "said"),
    [("awaiting_user", "ti ha scritto:"), ("closed", "Valuta l'assistenza ricevuta")],
)
async def test_a_reply_sent_with_a_new_status_is_one_mail(
    server: Server, signed_in: Factory, then: str, said: str
) -> None:
    # "Invia e chiedi informazioni" / "Invia e chiudi": a reply and a status mail 13 ms apart
    # told the student the same thing twice.
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}/messages"
    status, body = await laura.post(
        path, {"body": "Mi mandi la ricevuta del pagamento, per favore.", "status": then}
    )
    assert status == 201 and body["mailed"] is True
    assert body["ticket"]["status"] == then
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert [m.kind for m in stored.outbox] == ["opened", then]
    mail = stored.outbox[-1]
    assert "Laura Bianchi" in mail.text and said in mail.text
    assert "    Mi mandi la ricevuta del pagamento, per favore." in mail.text
    assert [(h.status, h.by) for h in stored.history][-1] == (then, "lbianchi")
    seen = await student_view(server, ticket.number, ticket.token)
    assert seen["status"] == then


async def test_a_reply_that_keeps_the_status_it_asks_for_is_a_plain_reply(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}/messages"
    await laura.post(path, {"body": "Mi manda la ricevuta?", "status": "awaiting_user"})
    again = {"body": "Anche il documento.", "status": "awaiting_user"}
    status, body = await laura.post(path, again)
    assert status == 201 and body["mailed"] is True
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert [m.kind for m in stored.outbox] == ["opened", "awaiting_user", "reply"]
    assert [h.status for h in stored.history].count("awaiting_user") == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"body": "   "}, 422, "body"),
        ({}, 422, "body"),
        ({"body": "x" * 8001}, 422, "body"),
        ({"body": "ok", "internal": "sì"}, 422, "internal"),
        ({"body": "ok", "after": "nope"}, 422, "after"),
        ({"body": "ok", "faq_ids": "tasse-001"}, 422, "faq_ids"),
        ({"body": "ok", "faq_ids": ["Tasse 001"]}, 422, "faq_ids"),
        ({"body": "ok", "faq_ids": [1]}, 422, "faq_ids"),
        ({"body": "ok", "faq_ids": ["tasse-001"] * 11}, 422, "faq_ids"),
        ({"body": "ok", "status": "open"}, 422, "status"),
        ({"body": "ok", "status": "chiuso"}, 422, "status"),
        ({"body": "ok", "status": "closed", "internal": True}, 422, "status"),
    ],
)
async def test_a_bad_reply_is_refused_with_the_field_named(
    server: Server, signed_in: Factory, body: dict[str, object], status: int, field: str
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    got, answer = await laura.post(f"/api/console/tickets/{ticket.number}/messages", body)
    assert got == status
    assert list(answer["error"]["fields"]) == [field]
    assert answer["error"]["fields"][field]


async def test_a_status_a_reply_cannot_leave_is_refused_in_words(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    url = f"/api/console/tickets/{ticket.number}/messages"
    status, answer = await laura.post(url, {"body": "Nota.", "internal": True, "status": "closed"})
    assert status == 422
    assert answer["error"]["fields"] == {"status": t("console.field.reply_status", "it")}
    assert "nota interna non cambia lo stato" in answer["error"]["fields"]["status"]
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "open" and len(stored.messages) == 1


async def test_a_reply_follows_the_students_rule_in_the_consoles_words(
    server: Server, signed_in: Factory
) -> None:
    # One rule for a message in a ticket, whoever writes it (bot.validate.validate_reply);
    # the operator reads it in the console's wording.
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    url = f"/api/console/tickets/{ticket.number}/messages"
    status, answer = await laura.post(url, {"body": "x" * (MESSAGE_MAX + 1)})
    assert status == 422
    assert answer["error"]["fields"] == {"body": t("console.field.body_long", "it")}
    assert f"{MESSAGE_MAX}" in answer["error"]["fields"]["body"]
    status, answer = await laura.post(url, {"body": " \x00\x0b\r\n\t"})
    assert status == 422
    assert answer["error"]["fields"] == {"body": "Scrivi il testo del messaggio."}
    body = " Gentile studente,\r\nla rata\x07 è pagata.\x0c "
    status, answer = await laura.post(url, {"body": body})
    assert status == 201
    assert answer["message"]["body"] == "Gentile studente,\nla rata è pagata."
    status, _ = await laura.post(url, {"body": "x" * MESSAGE_MAX})
    assert status == 201


async def test_requests_that_are_not_json_objects_are_400(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"{server.url}/api/console/tickets/{ticket.number}/messages"
    headers = {"X-CSRF-Token": laura.csrf}
    async with laura.http.post(path, data="body=ciao", headers=headers) as r:
        assert r.status == 400
    async with laura.http.post(
        path, data="[1, 2]", headers={**headers, "Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"]["message"] == "La richiesta non è valida."
    status, _ = await laura.post("/api/console/tickets/000000x/messages", {"body": "ciao"})
    assert status == 404


async def test_a_colleagues_ticket_takes_no_reply_and_no_status_change_until_taken(
    server: Server, signed_in: Factory
) -> None:
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}"
    assert (await laura.post(f"{path}/assign", {"username": ""}))[0] == 200
    status, body = await marco.post(f"{path}/messages", {"body": "Buongiorno, le rispondo io."})
    assert status == 409
    assert body["error"]["code"] == "held_by_other"
    assert body["error"]["message"].startswith("Questo ticket è in carico a Laura Bianchi")
    status, body = await marco.post(f"{path}/status", {"status": "closed"})
    assert status == 409
    # a note for the colleague is always welcome
    assert (
        await marco.post(f"{path}/messages", {"body": "Vedi anche il 000412", "internal": True})
    )[0] == 201
    # status on purpose, or take it over on purpose
    assert (await marco.post(f"{path}/status", {"status": "awaiting_user", "force": True}))[
        0
    ] == 200
    status, body = await marco.post(f"{path}/assign", {"username": ""})
    assert status == 409
    status, body = await marco.post(f"{path}/assign", {"username": "", "force": True})
    assert status == 200 and body["ticket"]["operator"]["username"] == "mverdi"
    assert (await marco.post(f"{path}/messages", {"body": "Buongiorno, le rispondo io."}))[0] == 201
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert sum(1 for m in stored.messages if m.author == "operator" and not m.internal) == 1


async def test_a_closed_ticket_takes_a_note_but_no_reply_until_reopened(
    server: Server, signed_in: Factory
) -> None:
    # The reply's mail would ask the student to answer where a closed ticket refuses it.
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}"
    assert (await laura.post(f"{path}/status", {"status": "closed"}))[0] == 200
    status, body = await laura.post(f"{path}/messages", {"body": "Un'ultima domanda: ..."})
    assert status == 409
    assert body["error"]["code"] == "closed_reply"
    assert body["error"]["message"].startswith("Questo ticket è chiuso")
    note = {"body": "Chiuso dopo la telefonata", "internal": True}
    assert (await laura.post(f"{path}/messages", note))[0] == 201
    assert (await laura.post(f"{path}/status", {"status": "open"}))[0] == 200
    assert (await laura.post(f"{path}/messages", {"body": "Un'ultima domanda: ..."}))[0] == 201
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None
    assert [m.body for m in stored.messages if m.author == "operator" and not m.internal] == [
        "Un'ultima domanda: ..."
    ]


async def test_a_reply_that_crossed_a_colleagues_answer_is_refused(
    server: Server, signed_in: Factory
) -> None:
    laura, marco = await signed_in(LAURA), await signed_in(MARCO)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}"
    _, view = await marco.get(path)
    seen = view["messages"][-1]["id"]  # Marco starts writing here
    assert (
        await laura.post(f"{path}/messages", {"body": "Le ho già risposto io.", "after": seen})
    )[0] == 201
    assert (await laura.post(f"{path}/assign", {"username": "mverdi"}))[0] == 200
    status, body = await marco.post(f"{path}/messages", {"body": "Ecco la risposta", "after": seen})
    assert status == 409
    assert body["error"]["code"] == "reply_conflict"
    assert body["error"]["message"] == (
        "Laura Bianchi ha appena risposto a questo ticket: "
        "leggi la sua risposta prima di inviare la tua."
    )
    _, view = await marco.get(path)
    status, _ = await marco.post(
        f"{path}/messages", {"body": "Aggiungo un dettaglio.", "after": view["messages"][-1]["id"]}
    )
    assert status == 201


async def test_a_closing_reply_that_crossed_the_students_message_is_refused(
    server: Server, signed_in: Factory
) -> None:
    """The student writes "wait, one more thing" while the operator writes the answer that
    closes the ticket: a closed ticket would take no answer from the student to say so."""
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}"
    _, view = await laura.get(path)
    seen = view["messages"][-1]["id"]  # Laura starts writing here
    await student_writes(server.url, ticket, "Aspetti, ho anche un problema con l'ISEE.")
    reply = {"body": "Risolto, chiudo il ticket.", "after": seen}
    for then in ("closed", "awaiting_user"):
        status, body = await laura.post(f"{path}/messages", {**reply, "status": then})
        assert status == 409
        assert body["error"]["code"] == "student_wrote"
        assert body["error"]["message"].startswith("Lo studente ha appena scritto")
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "open"
    assert [m.author for m in stored.messages] == ["student", "student"]
    # a reply that leaves the status alone is taken, as one sent after reading is
    assert (await laura.post(f"{path}/messages", reply))[0] == 201
    _, view = await laura.get(path)
    last = view["messages"][-1]["id"]
    assert (await laura.post(f"{path}/messages", {**reply, "after": last, "status": "closed"}))[
        0
    ] == 201


async def test_a_closing_pressed_as_the_student_writes_again_is_refused(
    server: Server, signed_in: Factory
) -> None:
    """"Chiudi ticket" pressed after the answer, as the student writes "wait, one more
    thing": with the last message the operator saw, the closing is refused, as a closing
    reply's is; reopening never is."""
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}"
    assert (await laura.post(f"{path}/messages", {"body": "Ecco come fare."}))[0] == 201
    _, view = await laura.get(path)
    seen = view["messages"][-1]["id"]
    await student_writes(server.url, ticket, "Aspetti, e per l'ISEE?")
    for then in ("closed", "awaiting_user"):
        status, body = await laura.post(f"{path}/status", {"status": then, "after": seen})
        assert (status, body["error"]["code"]) == (409, "student_wrote"), body
        assert body["error"]["message"].startswith("Lo studente ha appena scritto")
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and stored.status == "open"
    _, view = await laura.get(path)
    last = view["messages"][-1]["id"]
    assert (await laura.post(f"{path}/status", {"status": "closed", "after": last}))[0] == 200
    assert (await laura.post(f"{path}/status", {"status": "open", "after": seen}))[0] == 200
    status, body = await laura.post(f"{path}/status", {"status": "closed", "after": "nope"})
    assert (status, list(body["error"]["fields"])) == (422, ["after"])


async def test_status_changes_and_their_errors(server: Server, signed_in: Factory) -> None:
    laura = await signed_in(LAURA, lang="en")
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}/status"
    status, body = await laura.post(path, {"status": "awaiting_user"})
    assert status == 200 and body["ticket"]["status"] == "awaiting_user"
    assert body["ticket"]["operator"]["username"] == "lbianchi"
    seen = await student_view(server, ticket.number, ticket.token)
    assert seen["status"] == "awaiting_user"
    for bad in ({"status": "chiuso"}, {}, {"status": "closed", "force": "yes"}):
        status, body = await laura.post(path, bad)
        assert status == 422
        assert body["error"]["fields"]
    status, body = await laura.post(path, {"status": "pending"})
    assert body["error"]["fields"] == {
        "status": "Unknown status: use open, awaiting_user or closed."
    }


async def test_assign_take_and_transfer(server: Server, signed_in: Factory) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    path = f"/api/console/tickets/{ticket.number}/assign"
    status, body = await laura.post(path, {"username": ""})
    assert status == 200 and body["ticket"]["operator"] == {
        "username": "lbianchi",
        "name": "Laura Bianchi",
    }
    status, body = await laura.post(path, {"username": "MVerdi"})
    assert status == 200 and body["ticket"]["operator"]["name"] == "Marco Verdi"
    seen = await student_view(server, ticket.number, ticket.token)
    assert seen["operator"] == {"name": "Marco Verdi"}
    status, body = await laura.post(path, {"username": "nessuno", "force": True})
    assert status == 422
    assert body["error"]["fields"] == {"username": "Operatore sconosciuto o non attivo."}
    store = server.app[SERVICES].storage.operators
    anna = await store.get("aneri")
    assert anna is not None
    await store.put(replace(anna, active=False))
    status, _ = await laura.post(path, {"username": "aneri", "force": True})
    assert status == 422
    status, body = await laura.post(path, {"username": 42})
    assert status == 422


async def test_the_attachment_opens_for_an_operator_session_only(
    server: Server, signed_in: Factory
) -> None:
    form = aiohttp.FormData()
    for key, value in {
        "email": "allegato@example.org",
        "name": "Rossi Mario",
        "phone": "+393331234567",
        "topic": "immatricolazioni",
        "subtopic": "documenti",
        "message": "Allego la ricevuta del pagamento effettuato.",
    }.items():
        form.add_field(key, value)
    form.add_field("attachment", PNG, filename="ricevuta.png", content_type="image/png")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/tickets", data=form) as r,
    ):
        assert r.status == 201
        number = (await r.json())["number"]
    laura = await signed_in(LAURA)
    _, view = await laura.get(f"/api/console/tickets/{number}")
    attachment = view["messages"][0]["attachments"][0]
    assert attachment["filename"] == "ricevuta.png"
    url = f"/api/tickets/{number}/attachments/{attachment['id']}"
    async with laura.http.get(url) as r:
        assert r.status == 200
        assert await r.read() == PNG
        assert r.headers["Content-Disposition"].startswith("attachment")
    await laura.post("/api/console/logout")
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}{url}") as r:
        assert r.status == 404


# --- canned answers -------------------------------------------------------------------------


async def test_the_faq_search_gives_answers_to_insert_in_the_students_language(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    status, body = await laura.get("/api/console/faq", q="prima rata pagamento")
    assert status == 200 and body["faqs"]
    first = body["faqs"][0]
    assert set(first) == {"id", "question", "answer", "links"} and first["answer"]
    index = server.app[SERVICES].faq.index
    faq = index.get(first["id"])
    assert faq is not None and first["answer"] == faq.answer_in("it")
    _, english = await laura.get("/api/console/faq", q="prima rata pagamento", lang="en")
    assert english["faqs"][0]["answer"] == faq.answer_in("en")
    _, listing = await laura.get("/api/console/faq", topic="immatricolazioni", subtopic="scadenze")
    assert listing["faqs"] and all(
        index.get(f["id"]).subtopic == "scadenze"  # type: ignore[union-attr]
        for f in listing["faqs"]
    )
    _, empty = await laura.get("/api/console/faq")
    assert empty["faqs"] == []
    # the office's own texts: every one until the operator types, then those with its words
    assert [r["id"] for r in empty["replies"]] == [r.id for r in index.replies]
    _, found = await laura.get("/api/console/faq", q="prima rata", find="receipt", lang="en")
    assert found["replies"] == [{
        "id": "chiedi-ricevuta",
        "title": "Ask for the payment receipt",
        "text": index.replies[0].text_in("en"),
    }]
    # the student's words alone (what the console asks before the operator types) filter none
    _, student = await laura.get("/api/console/faq", q="ho pagato la seconda rata")
    assert len(student["replies"]) == len(index.replies)


# --- the team -------------------------------------------------------------------------------


async def test_everyone_sees_active_colleagues_and_admins_see_every_account(
    server: Server, signed_in: Factory
) -> None:
    store = server.app[SERVICES].storage.operators
    marco = await store.get("mverdi")
    assert marco is not None
    await store.put(replace(marco, active=False))
    laura, anna = await signed_in(LAURA), await signed_in(ANNA)
    _, body = await laura.get("/api/console/operators")
    assert sorted(o["username"] for o in body["operators"]) == ["aneri", "erossi", "lbianchi"]
    assert "password_hash" not in json.dumps(body)
    _, body = await anna.get("/api/console/operators")
    accounts = {o["username"]: o for o in body["operators"]}
    assert accounts["mverdi"]["active"] is False
    assert accounts["aneri"]["role"] == "admin"


async def test_an_admin_adds_an_operator_who_can_sign_in_at_once(
    server: Server, signed_in: Factory
) -> None:
    anna = await signed_in(ANNA)
    status, body = await anna.post(
        "/api/console/operators",
        {
            "username": "GFerri",
            "name": "  Giorgio   Ferri ",
            "role": "editor",
            "password": "password-di-giorgio",
        },
    )
    assert status == 201
    assert body["operator"] == {
        "username": "gferri",
        "name": "Giorgio Ferri",
        "role": "editor",
        "active": True,
        "created_at": body["operator"]["created_at"],
        "online": False,
    }
    stored = await server.app[SERVICES].storage.operators.get("gferri")
    assert stored is not None and verify_password(stored.password_hash, "password-di-giorgio")
    giorgio = Console(server)
    try:
        assert (await giorgio.login(Account("gferri", "", "editor", "password-di-giorgio")))[
            0
        ] == 200
    finally:
        await giorgio.close()
    status, body = await anna.post(
        "/api/console/operators",
        {"username": "gferri", "name": "Altro", "password": "password-di-giorgio"},
    )
    assert status == 409
    assert body["error"]["message"] == "Esiste già un operatore con questo nome utente."


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "g", "name": "Giorgio Ferri", "password": "password-lunga"}, "username"),
        (
            {"username": "g ferri", "name": "Giorgio Ferri", "password": "password-lunga"},
            "username",
        ),
        ({"username": "gferri", "name": "G", "password": "password-lunga"}, "name"),
        ({"username": "gferri", "name": "Giorgio Ferri", "password": "corta"}, "password"),
        ({"username": "gferri", "name": "Giorgio Ferri", "password": "gferri"}, "password"),
        (
            {
                "username": "gferri",
                "name": "Giorgio Ferri",
                "password": "password-lunga",
                "role": "capo",
            },
            "role",
        ),
        ({"name": "Giorgio Ferri", "password": "password-lunga"}, "username"),
        # words the queue filter uses
        ({"username": "me", "name": "Giorgio Ferri", "password": "password-lunga"}, "username"),
        ({"username": "None", "name": "Giorgio Ferri", "password": "password-lunga"}, "username"),
    ],
)
async def test_a_new_account_breaking_a_rule_is_refused_with_the_rule(
    signed_in: Factory, data: dict[str, str], field: str
) -> None:
    anna = await signed_in(ANNA)
    status, body = await anna.post("/api/console/operators", data)
    assert status == 422
    assert list(body["error"]["fields"]) == [field]
    assert body["error"]["fields"][field].endswith(".")


@pytest.mark.parametrize("weak", [" " * 10, "a" * 12, "1212121212"])
async def test_a_password_of_ten_spaces_or_one_repeated_key_is_refused(
    signed_in: Factory, weak: str
) -> None:
    anna, anna_en = await signed_in(ANNA), await signed_in(ANNA, "en")
    laura = await signed_in(LAURA)
    new = {"username": "gferri", "name": "Giorgio Ferri", "password": weak}
    status, body = await anna.post("/api/console/operators", new)
    assert status == 422
    assert body["error"]["fields"] == {
        "password": "La password è troppo semplice: usa almeno 5 caratteri diversi."
    }
    status, body = await anna_en.post("/api/console/operators/lbianchi", {"password": weak})
    assert status == 422
    assert body["error"]["fields"] == {
        "password": "The password is too simple: use at least 5 different characters."
    }
    mine = {"current": LAURA.password, "password": weak}
    status, body = await laura.post("/api/console/me/password", mine)
    assert status == 422 and list(body["error"]["fields"]) == ["password"]


async def test_deactivating_an_operator_ends_their_session_at_once(
    server: Server, signed_in: Factory
) -> None:
    anna, marco = await signed_in(ANNA), await signed_in(MARCO)
    status, body = await anna.post("/api/console/operators/mverdi", {"active": False})
    assert status == 200 and body["operator"]["active"] is False
    assert (await marco.get("/api/console/tickets"))[0] == 401
    assert (await marco.login(MARCO))[0] == 403
    status, body = await anna.post(
        "/api/console/operators/mverdi", {"active": True, "name": "Marco V."}
    )
    assert status == 200 and body["operator"]["name"] == "Marco V."
    assert (await marco.login(MARCO))[0] == 200
    entries = await server.app[SERVICES].storage.audit.recent(target="mverdi")
    assert [e.action for e in entries][:2] == ["operator.login", "operator.updated"]


async def test_a_deactivated_operators_open_tickets_go_back_to_the_unassigned_queue(
    server: Server, signed_in: Factory
) -> None:
    anna, laura, marco = await signed_in(ANNA), await signed_in(LAURA), await signed_in(MARCO)
    held = [await open_ticket(server) for _ in range(3)]
    for ticket in held:
        assert (await marco.post(f"/api/console/tickets/{ticket.number}/assign", {"username": ""}))[
            0
        ] == 200
    done = f"/api/console/tickets/{held[2].number}/status"
    assert (await marco.post(done, {"status": "closed"}))[0] == 200

    async def lauras_queue(status: str) -> list[str]:
        _, body = await laura.get("/api/console/tickets", assigned="me,none", status=status)
        return sorted(t["number"] for t in body["tickets"])

    assert await lauras_queue("open") == []
    assert (await anna.post("/api/console/operators/mverdi", {"active": False}))[0] == 200
    # what Marco still had to do is everyone's again; what he closed keeps his name
    assert await lauras_queue("open") == sorted(t.number for t in held[:2])
    closed = await server.app[SERVICES].storage.tickets.get(held[2].number)
    assert closed is not None and closed.operator == "mverdi"
    entries = await server.app[SERVICES].storage.audit.recent(target=held[0].number)
    assert entries[0].action == "ticket.released" and entries[0].actor == "aneri"


async def test_an_admin_changes_roles_and_passwords_but_cannot_lock_themselves_out(
    server: Server, signed_in: Factory
) -> None:
    anna, laura = await signed_in(ANNA), await signed_in(LAURA)
    status, body = await anna.post(
        "/api/console/operators/lbianchi", {"role": "admin", "password": "nuova-password-1"}
    )
    assert status == 200 and body["operator"]["role"] == "admin"
    assert (await laura.get("/api/console/me"))[0] == 401  # new password: sign in again
    assert (await laura.login(LAURA, "nuova-password-1"))[0] == 200
    for change in ({"active": False}, {"role": "operator"}):
        status, body = await anna.post("/api/console/operators/aneri", change)
        assert status == 409
        assert body["error"]["code"] == "own_account"
    status, body = await anna.post("/api/console/operators/lbianchi", {"role": "boss"})
    assert status == 422 and list(body["error"]["fields"]) == ["role"]
    status, body = await anna.post("/api/console/operators/lbianchi", {"password": "corta"})
    assert status == 422 and list(body["error"]["fields"]) == ["password"]
    status, _ = await anna.post("/api/console/operators/nessuno", {"active": False})
    assert status == 404


async def park_the_opening_mail(server: Server, number: str) -> str:
    """Let the outbox worker send the ticket's first mail, then pretend the server refused it
    every time; the mail's id."""
    storage = server.app[SERVICES].storage
    for _ in range(100):
        stored = await storage.tickets.get(number)
        if stored is not None and stored.outbox[0].state == "sent":
            break
        await asyncio.sleep(0.05)

    def park(t: Ticket) -> None:
        mail = t.outbox[0]
        mail.state, mail.attempts, mail.reason = "parked", 8, "refused"
        mail.last_error = "550 5.1.1 mailbox unavailable"

    parked, _ = await storage.tickets.update(number, park)
    return parked.outbox[0].id


async def test_parked_mail_is_listed_for_admins(server: Server, signed_in: Factory) -> None:
    ticket = await open_ticket(server)
    mail_id = await park_the_opening_mail(server, ticket.number)
    anna = await signed_in(ANNA)
    status, body = await anna.get("/api/console/mail/parked")
    assert status == 200
    assert body == {
        "mail": [
            {
                "number": ticket.number,
                "id": mail_id,
                "to": ticket.email,
                "subject": body["mail"][0]["subject"],
                "kind": "opened",
                "attempts": 8,
                "reason": "refused",
                "last_error": "550 5.1.1 mailbox unavailable",
                "created_at": body["mail"][0]["created_at"],
            }
        ],
        "server_problem": None,
    }


async def test_an_admin_sends_a_parked_mail_again(server: Server, signed_in: Factory) -> None:
    ticket = await open_ticket(server)
    mail_id = await park_the_opening_mail(server, ticket.number)
    storage = server.app[SERVICES].storage
    outbox = server.config.data_dir / "outbox"
    written = len(list(outbox.glob("*.eml")))
    anna, laura = await signed_in(ANNA), await signed_in(LAURA)
    retry = f"/api/console/mail/parked/{ticket.number}/{mail_id}/retry"

    assert (await laura.post(retry))[0] == 403
    unknown = "000000" if await storage.tickets.summary("000000") is None else "000001"
    for path in (
        f"/api/console/mail/parked/{ticket.number}/nessuna/retry",
        f"/api/console/mail/parked/{unknown}/{mail_id}/retry",
        f"/api/console/mail/parked/abc/{mail_id}/retry",
    ):
        status, body = await anna.post(path)
        assert status == 404 and body["error"]["code"] == "not_found", path

    status, body = await anna.post(retry.replace(ticket.number, str(int(ticket.number))))
    assert status == 200
    assert body == {"number": ticket.number, "id": mail_id, "state": "queued"}
    for _ in range(100):  # the worker sends it again, at once
        if len(list(outbox.glob("*.eml"))) > written:
            break
        await asyncio.sleep(0.05)
    stored = await storage.tickets.get(ticket.number)
    assert stored is not None
    assert (stored.outbox[0].state, stored.outbox[0].reason) == ("sent", None)
    assert (await anna.get("/api/console/mail/parked"))[1]["mail"] == []
    # Sent is no longer parked: a second click finds nothing to retry.
    assert (await anna.post(retry))[0] == 404
    entries = await storage.audit.recent(target=ticket.number)
    [entry] = [e for e in entries if e.action == "mail.retried"]
    assert (entry.actor, entry.detail) == ("aneri", {"mail_id": mail_id})


async def test_an_admin_sends_every_parked_mail_again_at_once(
    server: Server, signed_in: Factory
) -> None:
    tickets = [await open_ticket(server) for _ in range(3)]
    for ticket in tickets[:2]:
        await park_the_opening_mail(server, ticket.number)
    storage = server.app[SERVICES].storage
    anna, laura = await signed_in(ANNA), await signed_in(LAURA)
    assert (await laura.post("/api/console/mail/parked/retry"))[0] == 403

    status, body = await anna.post("/api/console/mail/parked/retry")
    assert (status, body) == (200, {"queued": 2})
    async def states() -> list[str]:
        return [(await storage.tickets.get(t.number)).outbox[0].state  # type: ignore[union-attr]
                for t in tickets]

    for _ in range(100):  # the worker sends them again, at once
        if await states() == ["sent"] * 3:
            break
        await asyncio.sleep(0.05)
    assert await states() == ["sent"] * 3
    assert (await anna.get("/api/console/mail/parked"))[1]["mail"] == []
    # nothing left to retry
    assert await anna.post("/api/console/mail/parked/retry") == (200, {"queued": 0})
    retried = [e.target for e in await storage.audit.recent() if e.action == "mail.retried"]
    assert sorted(retried) == sorted(t.number for t in tickets[:2])


async def test_the_parked_list_says_when_the_mail_server_is_down(data_dir: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    config = replace(make_config(data_dir), smtp_host="127.0.0.1", smtp_port=closed)
    server = await start_server(config)
    anna = Console(server)
    try:
        await create_account(server, ANNA)
        assert (await anna.login(ANNA))[0] == 200
        await open_ticket(server)
        for _ in range(100):
            status, body = await anna.get("/api/console/mail/parked")
            if body["server_problem"]:
                break
            await asyncio.sleep(0.05)
        assert status == 200 and body["mail"] == []
        assert "SMTPConnect" in body["server_problem"]
    finally:
        await anna.close()
        await server.stop()


# --- the editors' FAQ report ----------------------------------------------------------------


async def test_the_faq_report_is_for_editors_and_admins(server: Server, signed_in: Factory) -> None:
    laura = await signed_in(LAURA)
    status, body = await laura.get("/api/console/faq-report")
    assert status == 403
    assert body["error"] == {
        "code": "forbidden",
        "message": "Non hai il permesso di fare questa operazione.",
    }
    english = await signed_in(MARCO, "en")
    status, body = await english.get("/api/console/faq-report", days="7")
    assert status == 403 and body["error"]["message"] == "You don't have permission to do this."
    for account in (ELENA, ANNA):
        console = await signed_in(account)
        status, body = await console.get("/api/console/faq-report")
        assert status == 200, account
        assert body["window"]["days"] == 30
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/console/faq-report") as response,
    ):
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"


async def test_the_faq_report_keeps_a_question_without_the_contact_details_typed_in_it(
    server: Server, signed_in: Factory
) -> None:
    """The questions outlive their chat by the retention (730 days against 30), and the privacy
    notice says they are kept without the student's contact details: those typed into the
    question itself go too, the question stays."""
    student = Student(server)
    await student.connect()
    await student.hello()
    await student.say(
        "Non trovo il PIN della smart card, sono Mario Rossi: scrivetemi a"
        " mario.rossi@studenti.unipg.it o chiamate il +39 333 123 4567, matricola 312456"
    )
    await student.close()
    elena = await signed_in(ELENA)
    status, body = await elena.get("/api/console/faq-report")
    assert status == 200
    asked = [*(u["example"] for u in body["unanswered"]),
             *(e.query for e in await server.app[SERVICES].storage.faq_events.recent())]
    assert asked and all("smart card" in question for question in asked)
    for question in asked:
        assert "mario.rossi@" not in question and "123 4567" not in question, question
        assert "<email>" in question and "<tel>" in question and "312456" in question


async def test_the_faq_report_counts_what_the_chat_recorded(
    server: Server, signed_in: Factory
) -> None:
    log = server.app[SERVICES].storage.faq_events
    old = (datetime.now(UTC) - timedelta(days=10)).isoformat(timespec="milliseconds")
    for event in (
        FaqEvent(kind="no_match", query="Orari della biblioteca?", lang="it"),
        FaqEvent(kind="no_match", query="orari della BIBLIOTECA", lang="it"),
        FaqEvent(kind="no_match", query="Parcheggio per le bici", lang="it", at=old),
        *[
            FaqEvent(
                kind="suggested", query="numero programmato", lang="it", faq_ids=["accesso-001"]
            )
            for _ in range(3)
        ],
        FaqEvent(kind="not_solved", query="numero programmato", lang="it", faq_ids=["accesso-001"]),
        FaqEvent(kind="solved", query="numero programmato", lang="it", faq_ids=["accesso-001"]),
    ):
        await log.append(event)
    elena = await signed_in(ELENA, "en")
    status, week = await elena.get("/api/console/faq-report", days="7")
    assert status == 200
    assert week["totals"] == {
        "questions": 5,
        "solved": 1,
        "not_solved": 1,
        "no_match": 2,
        "middle": 0,
        "inserted": 0,
    }
    [library] = week["unanswered"]
    assert library["text"] == "orari della biblioteca" and library["count"] == 2
    assert library["example"] == "orari della BIBLIOTECA" and library["lang"] == "it"
    question = "Which courses have limited access (numero programmato)?"
    assert week["not_helpful"] == [
        {
            "id": "accesso-001",
            "question": question,
            "exists": True,
            "suggested": 3,
            "not_solved": 1,
            "ratio": 0.333,
        }
    ]
    assert week["helpful"] == [
        {"id": "accesso-001", "question": question, "exists": True, "solved": 1}
    ]
    assert week["window"]["covered_from"] == week["window"]["since"]
    status, month = await elena.get("/api/console/faq-report", days="30", lang="it")
    assert [u["text"] for u in month["unanswered"]] == [
        "orari della biblioteca",
        "parcheggio per le bici",
    ]
    assert month["helpful"][0]["question"] == "Quali corsi sono a numero programmato?"
    for days in ("0", "366", "sette", "7.5"):
        status, body = await elena.get("/api/console/faq-report", days=days)
        assert status == 422, days
        assert body["error"]["fields"] == {"days": "Must be a whole number of days from 1 to 365."}


async def test_ready_answers_sent_in_replies_count_in_the_faq_report(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    ticket = await open_ticket(server)
    url = f"/api/console/tickets/{ticket.number}/messages"
    sent = [
        {"body": "La prima rata si paga con pagoPA.", "faq_ids": ["tasse-001"]},
        # one id twice in a reply is one insertion; a FAQ since removed still counts
        {"body": "Ecco le due risposte.", "faq_ids": ["tasse-001", "tasse-002", "tasse-001"]},
        {"body": "Una FAQ tolta nel frattempo.", "faq_ids": ["tasse-999"]},
        {"body": "Una risposta scritta a mano."},  # CONTRACT section 4: {body} alone
        {"body": "Nessuna FAQ inserita.", "faq_ids": None},
        {"body": "Nota: copiata dalla FAQ.", "internal": True, "faq_ids": ["tasse-002"]},
    ]
    for body in sent:
        status, _ = await laura.post(url, body)
        assert status == 201, body
    await server.app[SERVICES].storage.faq_events.append(
        FaqEvent(kind="suggested", query="rata", lang="it", faq_ids=["tasse-002"], band="middle")
    )
    elena = await signed_in(ELENA)
    status, report = await elena.get("/api/console/faq-report", days="7")
    assert status == 200
    assert (report["totals"]["inserted"], report["totals"]["middle"]) == (3, 1)
    assert [
        (u["id"], u["exists"], u["confident"], u["middle"], u["inserted"]) for u in report["uses"]
    ] == [
        ("tasse-002", True, 0, 1, 1),
        ("tasse-001", True, 0, 0, 2),
        ("tasse-999", False, 0, 0, 1),
    ]


# --- python -m web add-operator -------------------------------------------------------------


def run_cli(args: list[str], data_dir: Path, stdin: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = add_operator_command(
        args, Config(data_dir=data_dir), stdin=io.StringIO(stdin), stdout=out, stderr=err
    )
    return code, out.getvalue(), err.getvalue()


def test_the_command_creates_and_updates_accounts(tmp_path: Path) -> None:
    code, out, _ = run_cli(
        ["MRossi", "--name", "Mario Rossi", "--role", "admin", "--password-stdin"],
        tmp_path,
        " con spazi e lunga \n",
    )
    assert code == 0
    assert out.startswith("Operatore mrossi (Mario Rossi, ruolo admin) creato")
    stored = OperatorStore(tmp_path).get_sync("mrossi")
    assert stored is not None and stored.role == "admin"
    assert stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, " con spazi e lunga ")
    # an update keeps what is not given, changes the password and reactivates
    OperatorStore(tmp_path).put_sync(replace(stored, active=False))
    code, out, _ = run_cli(["mrossi", "--password-stdin"], tmp_path, "password-nuova\n")
    assert code == 0 and "aggiornato" in out
    updated = OperatorStore(tmp_path).get_sync("mrossi")
    assert updated is not None
    assert (updated.name, updated.role, updated.active) == ("Mario Rossi", "admin", True)
    assert updated.created_at == stored.created_at
    assert verify_password(updated.password_hash, "password-nuova")


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["nuovo", "--password-stdin"], "password-lunga\n", 1, "name: Per un nuovo account"),
        (["nuovo", "--name", "Nuovo", "--password-stdin"], "corta\n", 1, "password: La password"),
        (["Nuovo Utente", "--name", "N U", "--password-stdin"], "password-lunga\n", 1, "username:"),
        (["nuovo", "--name", "Nuovo Utente"], "", 2, "Nessuna password"),
    ],
)
def test_the_command_explains_what_is_wrong(
    tmp_path: Path, args: list[str], stdin: str, code: int, message: str
) -> None:
    got, out, err = run_cli(args, tmp_path, stdin)
    assert got == code
    assert out == "" and message in err


def test_the_command_rejects_an_unknown_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_cli(["nuovo", "--name", "Nuovo", "--role", "boss", "--password-stdin"], tmp_path, "x\n")
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


async def test_an_account_added_while_the_server_runs_signs_in_at_once(
    server: Server, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web",
        "add-operator",
        "fbarbieri",
        "--name",
        "Franca Barbieri",
        "--password-stdin",
        cwd=ROOT,
        env={"HELPDESK_DATA_DIR": str(server.config.data_dir), "PATH": "/usr/bin:/bin"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(b"la-password-di-franca\n")
    assert process.returncode == 0, err.decode()
    console = Console(server)
    try:
        status, body = await console.login(
            Account("fbarbieri", "", "operator", "la-password-di-franca")
        )
        assert status == 200 and body["name"] == "Franca Barbieri" and body["role"] == "operator"
    finally:
        await console.close()


def test_every_error_the_console_can_give_has_its_italian_and_english_text() -> None:
    from bot.i18n import has, t

    console = sorted((ROOT / "web" / "console").glob("*.py"))
    files = [*console, ROOT / "web" / "desk" / "accounts.py"]
    source = "".join(path.read_text() for path in files)
    codes = set(re.findall(r'ApiError\(\s*\d{3},\s*"([a-z_]+)"', source))
    keys = set(re.findall(r'"((?:console\.(?:field|account|cli)|error)\.[a-z_]+)"', source))
    assert {"held_by_other", "reply_conflict", "csrf", "login_failed"} <= codes
    assert {"console.field.body_empty", "console.account.short_password"} <= keys
    for key in {f"error.{code}" for code in codes} | keys:
        assert has(key), key
        assert t(key, "it") != key and t(key, "en") != key, key


def test_the_console_page_says_everything_in_italian_and_in_english() -> None:
    static = ROOT / "web" / "static"
    module = (static / "console" / "texts.js").read_text(encoding="utf-8")
    texts = module[module.index("const TEXTS = {") : module.index("const STATUS = {")]
    italian = texts[texts.index("\n  it: {") : texts.index("\n  en: {")]
    english = texts[texts.index("\n  en: {") :]
    keys_it = re.findall(r"^ {4}(\w+):", italian, re.M)
    keys_en = re.findall(r"^ {4}(\w+):", english, re.M)
    assert len(keys_it) > 100 and len(set(keys_it)) == len(keys_it)
    assert sorted(keys_it) == sorted(keys_en)
    scripts = [static / "console.js", *sorted((static / "console").glob("*.js"))]
    assert len(scripts) > 10
    used = {key for s in scripts for key in re.findall(r'\bT\("(\w+)"', s.read_text("utf-8"))}
    assert used <= set(keys_it), used - set(keys_it)


def test_the_command_reports_a_damaged_accounts_file_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "operators.json").write_text("{not json")
    code, out, err = run_cli(
        ["nuovo", "--name", "Nuovo Utente", "--password-stdin"], tmp_path, "password-lunga\n"
    )
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "operators.json" in err
    assert "Traceback" not in err
