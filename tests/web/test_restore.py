"""A data folder restored from a backup, served by a new process: what the students who wrote
after the backup hold must not open what others write after the restore."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import storage.tickets
from storage import Operator
from tests.conftest import make_config, start_server
from tests.web.conftest import ANNA, Console, password_hash
from tests.web.console.test_undelivered_mail import until_received
from tests.web.desk.test_mail import SmtpServer, free_port, smtp  # noqa: F401 - the fixture
from web.http.keys import SERVICES

HOUR = 3600
TICKET = {
    "name": "Rossi Mario",
    "phone": "+39 333 123 4567",
    "topic": "immatricolazioni",
    "subtopic": "tasse-pagamenti",
    "message": "Ho pagato la prima rata ma il portale non la registra ancora.",
}


async def create(url: str, email: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        f"{url}/api/tickets", json={**TICKET, "email": email}
    ) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def read(url: str, number: str, token: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(
        f"{url}/api/tickets/{number}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, dict(await response.json())


async def test_a_link_to_a_ticket_lost_in_a_restore_opens_no_ticket_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, backup = tmp_path / "var", tmp_path / "backup"
    old = await start_server(make_config(live))
    await create(old.url, "prima@example.org")
    await old.stop()
    shutil.copytree(live, backup)  # last night's backup
    old = await start_server(make_config(live))
    lost = await create(old.url, "mario.rossi@example.org")
    # the link the old machine mailed Mario an hour before it failed
    link = old.app[SERVICES].signer.issue(lost["number"], now=time.time() - HOUR)
    await old.stop()

    restored = await start_server(make_config(backup))  # same folder key: links keep working
    try:
        # the restored machine does not know the lost number and may draw it again
        monkeypatch.setattr(storage.tickets.secrets, "randbelow", lambda _: int(lost["number"]))
        giulia = await create(restored.url, "giulia.verdi@example.org")
        monkeypatch.undo()
        assert giulia["number"] == lost["number"]

        status, body = await read(restored.url, giulia["number"], link)
        assert status == 401, body  # not Giulia's ticket
        status, body = await read(restored.url, giulia["number"], giulia["token"])
        assert status == 200 and body["number"] == giulia["number"]
    finally:
        await restored.stop()


async def test_mail_held_while_the_erasures_are_redone_goes_only_to_the_students_kept(
    tmp_path: Path, smtp: SmtpServer  # noqa: F811 - the fixture imported above
) -> None:
    """docs/backup.md: the restored desk starts with the mail server set to a closed port, so
    that the mail sent after the backup (queued again in the copy) waits, and none reaches a
    student erased since the backup before the admin erases them again."""
    backup = tmp_path / "backup"
    held = {"smtp_host": "127.0.0.1", "smtp_port": free_port()}  # nothing listens there
    restored = await start_server(make_config(backup, **held))
    erased, kept = "cancellami@example.org", "resto@example.org"
    await create(restored.url, erased)
    await create(restored.url, kept)
    await restored.app[SERVICES].storage.operators.put(
        Operator(username=ANNA.username, name=ANNA.name, role="admin",
                 password_hash=password_hash(ANNA.password))
    )
    anna = Console(restored)
    try:
        assert (await anna.login(ANNA))[0] == 200
        assert await anna.post("/api/console/privacy/erase", {"email": erased}) == (
            200, {"tickets": 1}
        )
    finally:
        await anna.close()
        await restored.stop()
    assert smtp.inbox.envelopes == []

    reopened = await start_server(
        make_config(backup, smtp_host="127.0.0.1", smtp_port=smtp.port)
    )
    try:
        await until_received(smtp, 1)
        await asyncio.sleep(0.5)  # and no other
        assert [e.rcpt_tos for e in smtp.inbox.envelopes] == [[kept]]
    finally:
        await reopened.stop()
