"""The service on PostgreSQL (HELPDESK_DATABASE_URL, CONTRACT.md section 7): two servers, each
with its own empty data folder, on one database, are one help desk."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.conftest import make_config, start_server
from tests.web.student.test_api import PNG, VALID, form
from web.config import Config


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
