"""The service on PostgreSQL (HELPDESK_DATABASE_URL, CONTRACT.md section 7): two servers, each
with its own empty data folder, on one database, are one help desk."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp
import psycopg
import pytest

from storage.postgres.database import shown
from tests.conftest import ROOT, Server, make_config, start_server
from tests.processes import WebProcess
from tests.servers import PostgresServer
from tests.web.conftest import LAURA, Account, Console, OperatorSocket, create_account
from tests.web.student.test_api import PNG, VALID, form
from tests.web.student.test_chat import Student, to_attachment_step
from web.config import Config
from web.console import namespace as console_module


def test_the_database_url_comes_from_the_environment() -> None:
    url = "postgresql://helpdesk:secret@db.unipg.it:5432/helpdesk"
    assert Config.from_env({"HELPDESK_DATABASE_URL": f" {url} "}).database_url == url
    assert Config.from_env({}).database_url is None  # the data folder, as always


async def test_a_ticket_opened_on_one_server_is_read_on_the_other(
    tmp_path: Path, database_url: str
) -> None:
    one = await start_server(make_config(tmp_path / "one", database_url=database_url))
    other = await start_server(make_config(tmp_path / "other", database_url=database_url))
    try:
        async with aiohttp.ClientSession(base_url=one.url) as http:
            data = form(VALID, ("schermata.png", PNG, "image/png"))
            async with http.post("/api/tickets", data=data) as response:
                assert response.status == 201, await response.text()
                created = await response.json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        async with aiohttp.ClientSession(base_url=other.url) as http:
            async with http.get(f"/api/tickets/{created['number']}", headers=headers) as response:
                assert response.status == 200
                [message] = (await response.json())["messages"]
            [attachment] = message["attachments"]
            url = f"/api/tickets/{created['number']}/attachments/{attachment['id']}"
            async with http.get(url, headers=headers) as response:
                assert response.status == 200 and await response.read() == PNG
    finally:
        await one.stop()
        await other.stop()
    # Nothing of the ticket is kept in either data folder.
    for folder in (tmp_path / "one", tmp_path / "other"):
        assert not (folder / "tickets").exists() and not (folder / "attachments").exists()


async def signs_in(server: Server, account: Account) -> bool:
    console = Console(server)
    try:
        return (await console.login(account))[0] == 200
    finally:
        await console.close()


async def test_add_operator_writes_the_database_and_the_account_signs_in_everywhere(
    tmp_path: Path, database_url: str
) -> None:
    one = await start_server(make_config(tmp_path / "one", database_url=database_url))
    other = await start_server(make_config(tmp_path / "other", database_url=database_url))
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "web", "add-operator", "fbarbieri", "--name", "Franca Barbieri",
            "--password-stdin",
            cwd=ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "HELPDESK_DATABASE_URL": database_url,
                "HELPDESK_DATA_DIR": str(tmp_path / "cli"),
            },
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(b"la-password-di-franca\n")
        assert process.returncode == 0, err.decode()
        assert f"creato in {shown(database_url)}" in out.decode()
        franca = Account("fbarbieri", "Franca Barbieri", "operator", "la-password-di-franca")
        assert await signs_in(one, franca) and await signs_in(other, franca)
    finally:
        await one.stop()
        await other.stop()
    assert not (tmp_path / "cli").exists()


@pytest.mark.parametrize("place", ["folder", "database"])
async def test_the_demo_operator_of_a_first_start_is_made_where_the_data_is(
    tmp_path: Path, place: str, request: pytest.FixtureRequest
) -> None:
    env = {"HELPDESK_SECRET_KEY": "demo-test-key-0123456789abcdefghij"}
    config = make_config(tmp_path / "demo")
    if place == "database":
        env["HELPDESK_DATABASE_URL"] = request.getfixturevalue("database_url")
        config = make_config(tmp_path / "other", database_url=env["HELPDESK_DATABASE_URL"])
    process = WebProcess("demo", tmp_path / "demo", env)
    process.start()
    try:
        await asyncio.to_thread(process.wait_ready)
        for _ in range(100):  # the banner is printed once the server listens
            if "Press Ctrl+C" in process.log():
                break
            await asyncio.sleep(0.05)
    finally:
        process.stop()
    demo = re.search(r"Demo operator .*: demo / password (\S+)", process.log())
    assert demo is not None, process.log()
    server = await start_server(config)
    try:
        assert await signs_in(server, Account("demo", "Operatore demo", "admin", demo[1]))
    finally:
        await server.stop()
    assert (tmp_path / "demo" / "operators.json").exists() == (place == "folder")


async def test_a_console_session_works_on_every_server_and_outlives_a_restart(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_module, "SWEEP_SECONDS", 0.05)
    one = await start_server(make_config(tmp_path / "one", database_url=database_url))
    other = await start_server(make_config(tmp_path / "other", database_url=database_url))
    await create_account(one, LAURA)
    laura = Console(one)
    socket = OperatorSocket()
    try:
        assert (await laura.login(LAURA))[0] == 200
        headers = {"Cookie": laura.cookie_header, "X-CSRF-Token": laura.csrf}
        await socket.connect(one, cookie=laura.cookie_header, auth={"csrf_token": laura.csrf})
        await socket.next("presence")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{other.url}/api/console/me", headers=headers) as response:
                assert response.status == 200
                assert (await response.json())["csrf_token"] == laura.csrf
            await other.stop()  # a restart: signs nobody out
            other = await start_server(make_config(tmp_path / "other", database_url=database_url))
            async with http.post(f"{other.url}/api/console/logout", headers=headers) as response:
                assert response.status == 204
            # the logout on one process ends the session on the other, and closes its console
            async with http.get(f"{one.url}/api/console/me", headers=headers) as response:
                assert response.status == 401
        assert await socket.next("session_expired") == {"reason": "expired"}
        await asyncio.wait_for(socket.disconnected.wait(), 5)
    finally:
        if socket.client.connected:
            await socket.close()
        await laura.close()
        await one.stop()
        await other.stop()


async def test_a_chat_saved_elsewhere_while_its_ticket_opens_keeps_one_ticket(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """Another process saves the chat in the very moment its ticket is opened (the student's
    other tab): played by a trigger, in a database of this test's own, at the ticket's insert."""
    name = postgres.new_database()
    database_url = postgres.url(name)
    server = await start_server(make_config(tmp_path / "one", database_url=database_url))
    student = Student(server)
    try:
        await student.connect()
        await student.hello()
        await to_attachment_step(student)
        await student.choose("skip_attachment")
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute(
                "CREATE FUNCTION other_tab() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " UPDATE conversations SET version = version + 1"
                " WHERE id = NEW.conversation_id; RETURN NEW; END $$"
            )
            db.execute(
                "CREATE TRIGGER other_tab AFTER INSERT ON tickets"
                " FOR EACH ROW EXECUTE FUNCTION other_tab()"
            )
        done = await student.choose("confirm")
        [ticket] = [e for e in done if e["kind"] == "ticket"]
        with psycopg.connect(database_url) as db:
            opened = db.execute(
                "SELECT number FROM tickets WHERE conversation_id = %s",
                (student.conversation_id,),
            ).fetchall()
        assert opened == [(ticket["data"]["number"],)]
        # and the chat remembers it: a reload shows the ticket, not the summary again
        again = Student(server)
        await again.connect()
        try:
            state = await again.hello(student.conversation_id)
        finally:
            await again.close()
        assert any(e["kind"] == "ticket" for e in state["transcript"])
    finally:
        await student.close()
        await server.stop()
        postgres.drop_database(name)
