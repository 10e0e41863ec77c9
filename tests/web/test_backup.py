"""`python -m web backup DEST` beside a server that students keep writing to, and a server
started on the copy: the disaster-recovery drill of the university's IT."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from storage import Conversation, Storage, check_data
from tests.conftest import ROOT, make_config, start_server
from tests.web.test_cli import run_web
from web.desk.secret import load_or_create_secret

PDF = b"%PDF-1.4 ricevuta di pagamento della prima rata"
CHATS = 1500  # a season's folder takes a while to copy: students write meanwhile
FIELDS = {
    "name": "Rossi Mario",
    "phone": "3331234567",
    "topic": "immatricolazioni",
    "subtopic": "tasse-pagamenti",
    "message": "Ho pagato la prima rata ma il portale non la registra.",
}


async def seed_chats(data_dir: Path) -> None:
    storage = await Storage.open(data_dir)
    async with storage:
        for n in range(CHATS):
            await storage.conversations.save(Conversation(id=f"chat-{n:012d}", step="welcome"))


async def write_tickets(url: str, stop: asyncio.Event, acked: list[tuple[float, Any]]) -> None:
    async with aiohttp.ClientSession() as http:
        n = 0
        while not stop.is_set():
            n += 1
            data = aiohttp.FormData()
            for key, value in {**FIELDS, "email": f"s{id(acked)}-{n}@example.org"}.items():
                data.add_field(key, value)
            data.add_field("attachment", io.BytesIO(PDF), filename="ricevuta.pdf",
                           content_type="application/pdf")
            async with http.post(f"{url}/api/tickets", data=data) as response:
                assert response.status == 201, await response.text()
                acked.append((time.monotonic(), await response.json()))


async def test_a_backup_taken_while_students_write_restores_every_ticket_with_its_files(
    tmp_path: Path,
) -> None:
    live, dest = tmp_path / "var", tmp_path / "backup"
    await seed_chats(live)
    # the key the folder draws for itself (secret_key), as `make run` and a single process keep it;
    # the writers all come from one address, as a load test does, past its limits on tickets and
    # on the files that come with them
    server = await start_server(make_config(
        live, secret_key=None, create_per_ip_per_minute=0, uploads_per_ip_per_hour=0
    ))
    stop, acked = asyncio.Event(), []
    writers = [asyncio.create_task(write_tickets(server.url, stop, [])) for _ in range(3)]
    writers.append(asyncio.create_task(write_tickets(server.url, stop, acked)))
    try:
        await asyncio.sleep(0.5)
        started = time.monotonic()
        backup = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "web", "backup", str(dest), cwd=ROOT,
            env={"PATH": os.environ.get("PATH", ""), "HELPDESK_DATA_DIR": str(live)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output = (await backup.communicate())[0].decode()
    finally:
        stop.set()
        await asyncio.gather(*writers)
        await server.stop()
    assert backup.returncode == 0, output
    assert output.endswith(f"{dest}: ok\n"), output
    assert check_data(dest) == []
    assert not (dest / ".lock").exists()

    restored = await start_server(make_config(dest, secret_key=None))
    try:
        async with aiohttp.ClientSession(base_url=restored.url) as http:
            before = [ticket for at, ticket in acked if at < started]
            assert before
            for ticket in before:
                auth = {"Authorization": f"Bearer {ticket['token']}"}  # the student's link
                async with http.get(f"/api/tickets/{ticket['number']}", headers=auth) as r:
                    assert r.status == 200, await r.text()
                    [file] = (await r.json())["messages"][0]["attachments"]
                path = f"/api/tickets/{ticket['number']}/attachments/{file['id']}"
                async with http.get(path, headers=auth) as r:
                    assert r.status == 200 and await r.read() == PDF
    finally:
        await restored.stop()


def test_backup_leaves_out_writes_in_flight_and_never_overwrites(tmp_path: Path) -> None:
    live, dest = tmp_path / "var", tmp_path / "backup"
    asyncio.run(seed_chats(live))
    load_or_create_secret(live, None)
    audit = live / "audit" / "2026-09-14.jsonl"
    whole = b'{"actor": "anna", "action": "ticket.closed", "target": "123456", "detail": {}}\n'
    audit.write_bytes(whole + b'{"actor": "an')  # an append in flight
    (live / "tickets" / ".tmp-123456.json.0a1b2c3d").write_bytes(b'{"ticket": {"1"')

    done = run_web("backup", str(dest), data_dir=live)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "audit" / audit.name).read_bytes() == whole
    assert not list(dest.rglob(".tmp-*"))
    assert (dest / "secret_key").read_bytes() == (live / "secret_key").read_bytes()
    assert {p.stat().st_mode & 0o777 for p in dest.rglob("*")} <= {0o600, 0o700}

    again = run_web("backup", str(dest), data_dir=live)
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    database = run_web("backup", str(tmp_path / "other"), data_dir=live,
                       settings={"HELPDESK_DATABASE_URL": "postgresql://h@127.0.0.1:1/h",
                                 "HELPDESK_SECRET_KEY": "backup-test-key-0123456789abcdef"})
    assert database.returncode == 2 and "pg_dump" in database.stderr


def test_a_backup_into_the_data_folder_itself_is_refused_and_writes_nothing_there(
    tmp_path: Path,
) -> None:
    live = tmp_path / "var"
    asyncio.run(seed_chats(live))
    before = sorted(p.relative_to(live) for p in live.rglob("*"))
    for dest in (live / "backup", live / "tickets" / "copy", live):
        done = run_web("backup", str(dest), data_dir=live)
        assert done.returncode == 2 and "inside the data folder" in done.stderr, done.stderr
    assert sorted(p.relative_to(live) for p in live.rglob("*")) == before
