"""The widget and the console across an outage: of the database on PostgreSQL (a socket that
connected while the database was out of reach picks its work up again once it is back), and of
Redis between two processes (what one pushed while the other did not hear it shows once Redis
is back); no reload in either."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests import servers
from tests.browser.conftest import NewPage
from tests.browser.test_console import page_of, sign_in
from tests.browser.widget import Chat
from tests.conftest import make_config, start_server
from tests.servers import PostgresServer
from tests.web.cluster.test_live import StartPair, listening_again, start_pair  # noqa: F401
from tests.web.conftest import ANNA, LAURA, Console, create_account, open_ticket, student_writes
from web.console.namespace import CONSOLE

pytestmark = pytest.mark.browser


async def test_a_chat_opened_while_the_database_is_out_starts_once_it_is_back(
    tmp_path: Path, own_postgres: PostgresServer, new_page: NewPage
) -> None:
    server = await start_server(make_config(tmp_path / "var", database_url=own_postgres.url(
        "helpdesk")))
    try:
        page = await new_page()
        await asyncio.to_thread(own_postgres.halt)
        await page.goto(server.url + "/")
        chat = Chat(page)
        # the hello waits for the database, then is refused: the student is told
        await expect(chat.alert).to_contain_text("momentaneamente", timeout=15_000)
        await asyncio.to_thread(own_postgres.start)
        # no reload: the widget says hello again and the chat begins
        await expect(chat.bot().last).to_contain_text("Scrivimi la tua domanda", timeout=40_000)
        await chat.choose("Apri un nuovo ticket")
        await chat.expect_said("argomento")
    finally:
        await server.stop()


async def test_a_console_refused_while_the_database_is_out_reconnects_once_it_is_back(
    tmp_path: Path, own_postgres: PostgresServer, browser: Browser
) -> None:
    server = await start_server(make_config(tmp_path / "var", database_url=own_postgres.url(
        "helpdesk")))
    try:
        await create_account(server, ANNA)
        page = await page_of(browser)
        await sign_in(page, server, ANNA)
        live = page.locator(".c-live")
        await expect(live).to_have_class(re.compile("c-live-on"))
        await asyncio.to_thread(own_postgres.halt)
        # a rolling restart: the connection closed, the console reconnects and is refused
        await server.app[CONSOLE].server.eio.hang_up_all()
        await expect(live).to_have_class(re.compile("c-live-off"))
        await asyncio.sleep(8)  # refused, at least once
        await asyncio.to_thread(own_postgres.start)
        await expect(live).to_have_class(re.compile("c-live-on"), timeout=40_000)
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        await server.stop()


async def test_what_the_other_process_said_while_redis_was_away_shows_once_it_is_back(
    start_pair: StartPair, browser: Browser  # noqa: F811 - the fixture imported above
) -> None:
    with servers.redis_server() as redis:
        pair = await start_pair(redis.url())
        ticket = await open_ticket(pair.a)
        student = await page_of(browser, 900, 900)
        await student.goto(f"{pair.a.url}/ticket?number={ticket.number}")
        await student.locator("#uh-lk-email").fill(ticket.email)
        await student.get_by_role("button", name="Cerca il ticket").click()
        await expect(student.locator(".uh-thread")).to_contain_text("pagoPA")
        laura = await page_of(browser)
        await sign_in(laura, pair.b, LAURA)
        await laura.locator(".c-item", has_text=ticket.number).click()
        await expect(laura.locator(".c-composer")).to_contain_text("Lo studente è collegato")

        # Laura, on B, answers the student, whose page is connected to A
        redis.kill()
        await laura.get_by_label("Risposta allo studente").fill("Risposta durante il guasto.")
        await laura.get_by_role("button", name="Invia risposta").click()
        await expect(laura.locator(".c-thread")).to_contain_text("Risposta durante il guasto.")
        redis.start()
        await listening_again(pair)
        await expect(student.locator(".uh-thread")).to_contain_text("Risposta durante il guasto.")

        # the student, on A, writes to Laura, whose console is connected to B
        redis.kill()
        await student_writes(pair.a.url, ticket, "Ho pagato durante il guasto.")
        opened = await open_ticket(pair.a, name="Riva Ugo")  # news too, marked as such
        redis.start()
        await listening_again(pair)
        await expect(laura.locator(".c-thread")).to_contain_text("Ho pagato durante il guasto.")
        opened_item = laura.locator(".c-item", has_text=opened.number)
        await expect(opened_item.locator(".c-badge-new")).to_have_text("Nuovo")
        assert not laura.errors and not student.errors  # type: ignore[attr-defined]


async def test_a_ticket_page_refused_while_the_database_is_out_follows_the_ticket_once_it_is_back(
    tmp_path: Path, own_postgres: PostgresServer, browser: Browser
) -> None:
    server = await start_server(make_config(tmp_path / "var", database_url=own_postgres.url(
        "helpdesk")))
    try:
        await create_account(server, LAURA)
        ticket = await open_ticket(server)
        student = await page_of(browser, 900, 900)
        await student.goto(f"{server.url}/ticket?number={ticket.number}")
        await student.locator("#uh-lk-email").fill(ticket.email)
        await student.get_by_role("button", name="Cerca il ticket").click()
        await expect(student.locator(".uh-thread")).to_contain_text("pagoPA")
        await asyncio.to_thread(own_postgres.halt)
        # a rolling restart: the page reconnects and asks to follow its ticket, refused
        await server.app[CONSOLE].server.eio.hang_up_all()
        refused = student.get_by_role("alert").filter(has_text="momentaneamente")
        await expect(refused).to_be_visible(timeout=15_000)
        await asyncio.to_thread(own_postgres.start)
        console = Console(server)
        try:
            for _ in range(30):  # the pool reconnects within seconds
                if (await console.login(LAURA))[0] == 200:
                    break
                await asyncio.sleep(0.5)
            for _ in range(40):  # until the page follows its ticket again
                status, body = await console.get(f"/api/console/tickets/{ticket.number}")
                if status == 200 and body["student_online"]:
                    break
                await asyncio.sleep(0.5)
            status, body = await console.post(
                f"/api/console/tickets/{ticket.number}/messages", {"body": "Eccomi di nuovo."}
            )
            assert status == 201
            assert body["mailed"] is False
        finally:
            await console.close()
        await expect(student.locator(".uh-thread")).to_contain_text("Eccomi di nuovo.")
        await expect(refused).to_have_count(0)
        assert not student.errors  # type: ignore[attr-defined]
    finally:
        await server.stop()
