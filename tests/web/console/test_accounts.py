"""The admins' account management over a season, against the real server: accounts created
together, colleagues away with tickets in hand, what the audit tells the head of the office."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import psycopg
import pytest
from tinydb import Query, TinyDB

from storage.tinyfile import AtomicJSONStorage
from tests.conftest import Server
from tests.web.conftest import (
    ANNA,
    LAURA,
    MARCO,
    Account,
    Console,
    Factory,
    OperatorSocket,
    create_account,
    open_ticket,
    place_of,
)
from web.desk.accounts import verify_password
from web.http.keys import SERVICES


@pytest.fixture
def server(either_server: Server) -> Server:
    # The folder and the database each settle a taken username their own way.
    return either_server


async def test_two_admins_creating_one_username_together_get_one_account_and_one_409(
    server: Server, signed_in: Factory
) -> None:
    anna, other_tab = await signed_in(ANNA), await signed_in(ANNA)
    answers = await asyncio.gather(
        *(
            console.post(
                "/api/console/operators",
                {"username": "gferri", "name": name, "password": f"password-di-{first}"},
            )
            for console, name, first in (
                (anna, "Giorgio Ferri", "giorgio"),
                (other_tab, "Gianna Ferri", "gianna"),
            )
        )
    )
    assert sorted(status for status, _ in answers) == [201, 409]
    created = next(body["operator"] for status, body in answers if status == 201)
    refused = next(body for status, body in answers if status == 409)
    assert refused["error"]["code"] == "username_taken"
    stored = await server.app[SERVICES].storage.operators.get("gferri")
    # whoever was told "created" has the account: their name, their password
    assert stored is not None and stored.name == created["name"]
    first = "giorgio" if created["name"] == "Giorgio Ferri" else "gianna"
    assert verify_password(stored.password_hash, f"password-di-{first}")
    entries = await server.app[SERVICES].storage.audit.recent(target="gferri")
    assert [e.action for e in entries] == ["operator.added"]
    newcomer = Console(server)
    try:
        account = Account("gferri", created["name"], "operator", f"password-di-{first}")
        assert (await newcomer.login(account))[0] == 200
    finally:
        await newcomer.close()


async def test_an_admin_sees_who_holds_open_tickets_and_frees_them_for_a_colleague_away(
    server: Server, signed_in: Factory
) -> None:
    anna, laura, marco = await signed_in(ANNA), await signed_in(LAURA), await signed_in(MARCO)
    held = [await open_ticket(server) for _ in range(3)]
    for ticket in held:
        take = f"/api/console/tickets/{ticket.number}/assign"
        assert (await marco.post(take, {"username": ""}))[0] == 200
    closed = f"/api/console/tickets/{held[2].number}/status"
    assert (await marco.post(closed, {"status": "closed"}))[0] == 200

    _, body = await anna.get("/api/console/operators")
    assert {o["username"]: o["held"] for o in body["operators"]} == {
        "aneri": 0, "erossi": 0, "lbianchi": 0, "mverdi": 2
    }
    _, body = await laura.get("/api/console/operators")
    assert all("held" not in o for o in body["operators"])  # the admins' view only
    assert (await laura.post("/api/console/operators/mverdi/release", {}))[0] == 403

    status, body = await anna.post("/api/console/operators/mverdi/release", {})
    assert status == 200 and body == {"released": 2}
    _, body = await laura.get("/api/console/tickets", assigned="me,none", status="open")
    assert sorted(t["number"] for t in body["tickets"]) == sorted(t.number for t in held[:2])
    # Marco is on leave, not gone: still signed in, and what he closed keeps his name
    assert (await marco.get("/api/console/me"))[0] == 200
    stored = await server.app[SERVICES].storage.tickets.get(held[2].number)
    assert stored is not None and stored.operator == "mverdi"
    audit = server.app[SERVICES].storage.audit
    entries = await audit.recent(target="mverdi")
    assert entries[0].action == "operator.tickets_released" and entries[0].actor == "aneri"
    assert entries[0].detail == {"released": 2}
    assert (await audit.recent(target=held[0].number))[0].action == "ticket.released"
    assert (await anna.post("/api/console/operators/nessuno/release", {}))[0] == 404


async def test_an_operator_refused_for_too_many_tries_signs_in_with_the_password_an_admin_set(
    server: Server, signed_in: Factory
) -> None:
    anna, marco = await signed_in(ANNA), Console(server)
    try:
        for _ in range(5):
            assert (await marco.login(MARCO, "quella-di-prima?"))[0] == 401
        assert (await marco.login(MARCO))[0] == 429  # even the right one, for 15 minutes
        reset = {"password": "nuova-password-di-marco"}
        assert (await anna.post("/api/console/operators/mverdi", reset))[0] == 200
        status, _ = await marco.login(MARCO, "nuova-password-di-marco")
        assert status == 200
        # guessing goes on being counted against the new password
        for _ in range(5):
            assert (await marco.login(MARCO, "indovina"))[0] == 401
        assert (await marco.login(MARCO, "nuova-password-di-marco"))[0] == 429
    finally:
        await marco.close()


async def test_the_head_of_the_office_reads_who_did_what_to_an_account(
    server: Server, signed_in: Factory
) -> None:
    anna, laura = await signed_in(ANNA), await signed_in(LAURA)
    new = {"username": "gferri", "name": "Giorgio Ferri", "role": "editor"}
    assert (await anna.post("/api/console/operators", {**new, "password": "pw-di-giorgio"}))[
        0
    ] == 201
    path = "/api/console/operators/gferri"
    for change in (
        {"role": "admin"},
        {"active": False},
        {"active": True, "name": "Giorgio M. Ferri", "password": "nuova-pw-giorgio"},
    ):
        assert (await anna.post(path, change))[0] == 200
    assert (await laura.get(f"{path}/history"))[0] == 403
    status, body = await anna.get(f"{path}/history")
    assert status == 200
    assert [(e["actor"], e["action"], e["detail"]) for e in body["entries"]] == [
        (
            "aneri",
            "operator.updated",
            {
                "changes": ["active", "name", "password"],
                "active": [False, True],
                "name": ["Giorgio Ferri", "Giorgio M. Ferri"],
            },
        ),
        ("aneri", "operator.updated", {"changes": ["active"], "active": [True, False]}),
        ("aneri", "operator.updated", {"changes": ["role"], "role": ["editor", "admin"]}),
        ("aneri", "operator.added", {"role": "editor"}),
    ]
    assert (await anna.get("/api/console/operators/nessuno/history"))[0] == 404


async def test_a_save_that_changes_nothing_writes_no_line_in_the_history(
    server: Server, signed_in: Factory
) -> None:
    anna = await signed_in(ANNA)
    path = f"/api/console/operators/{LAURA.username}"
    for unchanged in ({}, {"name": LAURA.name, "role": LAURA.role, "active": True}):
        status, body = await anna.post(path, unchanged)
        assert status == 200 and body["operator"]["name"] == LAURA.name
    status, body = await anna.get(f"{path}/history")
    # an entry would read "aneri ·" and nothing after it, as if something were hidden
    assert status == 200 and body["entries"] == []


async def test_two_admins_taking_each_other_s_role_at_once_leave_the_office_an_admin(
    server: Server, signed_in: Factory
) -> None:
    laura_admin = replace(LAURA, role="admin")
    await create_account(server, laura_admin)
    anna, laura = await signed_in(ANNA), await signed_in(laura_admin, "en")
    answers = await asyncio.gather(
        anna.post(f"/api/console/operators/{LAURA.username}", {"role": "operator"}),
        laura.post(f"/api/console/operators/{ANNA.username}", {"active": False}),
    )
    operators = await server.app[SERVICES].storage.operators.list()
    assert [o.username for o in operators if o.active and o.role == "admin"]
    # (one request done before the other starts: its caller is no admin by then)
    refused = [body["error"]["code"] for status, body in answers if status != 200]
    assert refused and set(refused) <= {"last_admin", "forbidden"}, answers


async def test_an_operator_changes_the_password_an_admin_gave_them(
    server: Server, signed_in: Factory
) -> None:
    laura, other_device = await signed_in(LAURA), await signed_in(LAURA)
    change = "/api/console/me/password"
    status, body = await laura.post(change, {"current": "non-questa", "password": "tutta-mia-1"})
    assert status == 422
    assert body["error"]["fields"] == {"current": "La password attuale non è corretta."}
    status, body = await laura.post(change, {"current": LAURA.password, "password": "corta"})
    assert status == 422 and "password" in body["error"]["fields"]
    status, body = await laura.post(change, {"current": LAURA.password})
    assert (status, body["error"]["fields"]) == (422, {"password": "Campo obbligatorio."})
    # a bad new password changed nothing: both sessions still work
    assert (await other_device.get("/api/console/me"))[0] == 200

    assert await laura.post(change, {"current": LAURA.password, "password": "tutta-mia-1"}) == (
        200, {}
    )
    # every session of the account ends, this one too
    for console in (laura, other_device):
        assert (await console.get("/api/console/me"))[0] == 401
    storage = server.app[SERVICES].storage
    stored = await storage.operators.get(LAURA.username)
    assert stored is not None and verify_password(stored.password_hash, "tutta-mia-1")
    old, new = Console(server), Console(server)
    try:
        assert (await old.login(LAURA))[0] == 401
        assert (await new.login(LAURA, "tutta-mia-1"))[0] == 200
    finally:
        await old.close()
        await new.close()
    entries = await storage.audit.recent(target=LAURA.username)
    assert [(e.actor, e.detail) for e in entries if e.action == "operator.updated"] == [
        (LAURA.username, {"changes": ["password"]})
    ]


async def test_guessing_the_current_password_meets_the_sign_in_limits(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    answers = [
        (await laura.post("/api/console/me/password",
                          {"current": f"tentativo-{n}", "password": "tutta-mia-1"}))[0]
        for n in range(12)
    ]
    assert 429 in answers and answers[0] == 422


async def test_a_new_role_signs_the_account_out_so_its_page_is_drawn_for_it(
    server: Server, signed_in: Factory
) -> None:
    anna, marco = await signed_in(ANNA), await signed_in(MARCO)
    socket = OperatorSocket()
    await socket.connect(server, cookie=marco.cookie_header, auth={"csrf_token": marco.csrf})
    try:
        account = f"/api/console/operators/{MARCO.username}"
        status, _ = await anna.post(account, {"name": "Marco V."})
        assert status == 200
        assert (await marco.get("/api/console/me"))[0] == 200  # a new name is no new page
        status, _ = await anna.post(account, {"role": "editor"})
        assert status == 200
        assert (await marco.get("/api/console/me"))[0] == 401
        assert await socket.next("session_expired") == {"reason": "role_changed"}
    finally:
        await socket.close()


Change = Callable[[dict[str, object]], Awaitable[None]]


@contextlib.asynccontextmanager
async def another_writer(server: Server) -> AsyncIterator[Change]:
    """Another process's write of an account (an admin elsewhere, the command line): holds the
    account while the test makes its change, so that the server's own write waits behind it."""
    place = place_of(server)
    if place.database_url:
        async with await psycopg.AsyncConnection.connect(place.database_url) as db:

            async def change(values: dict[str, object]) -> None:
                for key, value in values.items():
                    await db.execute(
                        "UPDATE operators SET record = jsonb_set(record::jsonb, %s, %s)::json"
                        " WHERE username = %s",
                        ([key], psycopg.types.json.Jsonb(value), LAURA.username),
                    )

            # row-locked until the commit, as an admin's write in progress would hold it
            await db.execute("SELECT 1 FROM operators WHERE username = %s FOR UPDATE",
                             (LAURA.username,))
            yield change
            await db.commit()
        return
    lock = os.open(place.data_dir / "operators.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)

        async def change_file(values: dict[str, object]) -> None:
            with TinyDB(place.data_dir / "operators.json", storage=AtomicJSONStorage) as db:
                db.table("operators").update(values, Query().username == LAURA.username)

        yield change_file
    finally:
        os.close(lock)


async def test_a_password_change_under_way_does_not_undo_a_deactivation_meanwhile(
    server: Server, signed_in: Factory
) -> None:
    laura = await signed_in(LAURA)
    async with another_writer(server) as change:
        mine = asyncio.create_task(laura.post(
            "/api/console/me/password", {"current": LAURA.password, "password": "tutta-mia-1"}
        ))
        await asyncio.sleep(1.5)  # it has read the account, checked and hashed: now it writes
        await change({"active": False})  # Laura left the office: an admin deactivates her
    status, body = await mine
    assert status == 409 and body["error"]["code"] == "conflict", body
    stored = await server.app[SERVICES].storage.operators.get(LAURA.username)
    assert stored is not None and not stored.active
    assert verify_password(stored.password_hash, LAURA.password)


async def test_a_password_an_admin_sets_does_not_undo_a_deactivation_meanwhile(
    server: Server, signed_in: Factory
) -> None:
    anna = await signed_in(ANNA)
    async with another_writer(server) as change:
        reset = asyncio.create_task(anna.post(
            f"/api/console/operators/{LAURA.username}", {"password": "nuova-di-laura"}
        ))
        await asyncio.sleep(1.5)
        await change({"active": False})  # another admin, at the same moment
    status, body = await reset
    assert status == 409 and body["error"]["code"] == "conflict", body
    stored = await server.app[SERVICES].storage.operators.get(LAURA.username)
    assert stored is not None and not stored.active
