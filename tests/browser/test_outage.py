"""The widget and the console across a database outage on PostgreSQL: a socket that connected
while the database was out of reach picks its work up again once it is back, with no reload."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import NewPage
from tests.browser.test_console import page_of, sign_in
from tests.browser.widget import Chat
from tests.conftest import make_config, start_server
from tests.servers import PostgresServer
from tests.web.conftest import ANNA, create_account
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
