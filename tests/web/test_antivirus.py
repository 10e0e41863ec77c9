"""Attachments scanned by a real clamd (tests/servers.py: one signature of our own) before they
are kept: a student's file in the chat and on a new ticket, an operator's on a reply. A file
clamd flags is refused in the sender's language and leaves nothing behind; a clamd that cannot
answer gets the file refused with a 503 the student can act on, never kept unchecked."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Server, make_config, start_server
from tests.servers import VIRUS_MARKER, ClamdServer, clamd_server, free_port
from tests.web.conftest import LAURA, Factory, open_ticket
from tests.web.console.test_attachments import post_reply, stored_files
from tests.web.student.test_api import PDF, PNG, VALID, attachment_files, form
from tests.web.student.test_chat import Student, to_attachment_step, upload
from web import config as web_config
from web.config import ConfigError
from web.desk import antivirus
from web.desk.antivirus import Antivirus
from web.desk.errors import ApiError
from web.http.keys import SERVICES

INFECTED_PDF = PDF + VIRUS_MARKER + b"\n%%EOF\n"


@pytest.fixture
async def server(data_dir: Path, clamd: ClamdServer) -> AsyncIterator[Server]:
    running = await start_server(make_config(data_dir, clamd=str(clamd.socket)))
    yield running
    await running.stop()


@pytest.fixture
def silent_clamd() -> Iterator[str]:
    """A clamd that takes the connection and never answers (hung, or swamped)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("address", ["socket", "tcp"])
async def test_clamd_passes_a_clean_file_and_names_a_flagged_one(
    clamd: ClamdServer, address: str
) -> None:
    scanner = Antivirus(str(clamd.socket) if address == "socket" else clamd.tcp)
    assert await scanner.answers()
    await scanner.check(PDF)
    await scanner.check(PNG + b"\x00" * (2 * 1024 * 1024 - len(PNG)))  # the largest allowed
    with pytest.raises(ApiError) as refused:
        await scanner.check(INFECTED_PDF)
    assert (refused.value.status, refused.value.code) == (422, "infected_file")


async def test_a_clamd_that_is_gone_or_hangs_refuses_the_file_as_unavailable(
    tmp_path: Path, silent_clamd: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(antivirus, "SCAN_SECONDS", 0.5)
    for address in (str(tmp_path / "clamd.ctl"), f"127.0.0.1:{free_port()}", silent_clamd):
        scanner = Antivirus(address)
        assert not await scanner.answers()
        with pytest.raises(ApiError) as refused:
            await scanner.check(PDF)
        assert (refused.value.status, refused.value.code) == (503, "antivirus_unavailable")


async def test_a_clamd_that_takes_smaller_files_than_ours_is_named_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with clamd_server("StreamMaxLength 1M\n") as small, pytest.raises(ApiError) as refused:
        await Antivirus(str(small.socket)).check(PDF + b"\0" * 1_500_000)
    assert refused.value.code == "antivirus_unavailable"
    assert "StreamMaxLength" in caplog.text


async def test_a_new_ticket_with_a_flagged_file_is_refused_whole_and_keeps_nothing(
    server: Server,
) -> None:
    async with aiohttp.ClientSession(server.url) as http:
        async with http.post(
            "/api/tickets", data=form(VALID, ("ricevuta.pdf", INFECTED_PDF, "application/pdf"))
        ) as response:
            assert response.status == 422
            error = (await response.json())["error"]
        assert error["code"] == "infected_file"
        assert "antivirus" in error["message"] and "senza allegato" in error["message"]
        assert attachment_files(server) == []
        assert await server.app[SERVICES].storage.tickets.of_email(VALID["email"].lower()) == []
        # the same request with a clean file goes through
        async with http.post(
            "/api/tickets", data=form(VALID, ("ricevuta.pdf", PDF, "application/pdf"))
        ) as response:
            assert response.status == 201, await response.text()
    assert len(attachment_files(server)) == 1
    assert len(await server.app[SERVICES].storage.tickets.of_email(VALID["email"].lower())) == 1


async def test_in_the_chat_a_flagged_file_is_refused_and_the_student_goes_on(
    server: Server,
) -> None:
    student = Student(server)
    await student.connect()
    try:
        await student.hello()
        await to_attachment_step(student)
        assert student.conversation_id
        refused = await upload(server, student.conversation_id, "foto.pdf", INFECTED_PDF)
        assert refused.status == 422
        assert (await refused.json())["error"]["code"] == "infected_file"
        assert attachment_files(server) == []
        # what the student typed so far stands: the chat still offers the file, or none
        assert student.prompt["input"] == "file"
        clean = await upload(server, student.conversation_id, "ricevuta.pdf", PDF)
        assert clean.status == 201
    finally:
        await student.close()


async def test_a_student_in_english_reads_the_refusal_in_english(server: Server) -> None:
    async with aiohttp.ClientSession(server.url) as http, http.post(
        "/api/tickets",
        data=form(VALID, ("receipt.pdf", INFECTED_PDF, "application/pdf")),
        headers={"Accept-Language": "en"},
    ) as response:
        assert response.status == 422
        assert "virus check" in (await response.json())["error"]["message"]


async def test_while_clamd_is_down_a_file_waits_and_the_ticket_does_not(
    data_dir: Path, tmp_path: Path
) -> None:
    running = await start_server(make_config(data_dir, clamd=str(tmp_path / "gone.ctl")))
    try:
        async with aiohttp.ClientSession(running.url) as http:
            async with http.post(
                "/api/tickets", data=form(VALID, ("ricevuta.pdf", PDF, "application/pdf"))
            ) as response:
                assert response.status == 503
                error = (await response.json())["error"]
            assert error["code"] == "antivirus_unavailable"
            assert "Riprova" in error["message"] and "senza allegato" in error["message"]
            assert attachment_files(running) == []
            # without the file, the student's request is taken at once
            async with http.post("/api/tickets", json=VALID) as response:
                assert response.status == 201
    finally:
        await running.stop()


async def test_an_operators_flagged_file_is_refused_with_the_reply(
    server: Server, signed_in: Factory
) -> None:
    ticket = await open_ticket(server)
    laura = await signed_in(LAURA)
    status, body = await post_reply(
        laura, ticket.number, {"body": "Ecco il modulo."}, ("modulo.pdf", INFECTED_PDF)
    )
    assert (status, body["error"]["code"]) == (422, "infected_file")
    assert await stored_files(server.app[SERVICES].storage) == []
    stored = await server.app[SERVICES].storage.tickets.get(ticket.number)
    assert stored is not None and [m.author for m in stored.messages] == ["student"]


@pytest.mark.parametrize("value", ["clamd", "127.0.0.1", "127.0.0.1:abc", ":3310", "h:70000"])
def test_a_clamd_address_that_is_neither_a_socket_nor_host_port_stops_the_start(
    value: str,
) -> None:
    with pytest.raises(ConfigError, match="HELPDESK_CLAMD"):
        web_config.Config.from_env({"HELPDESK_CLAMD": value})


def test_clamd_addresses_as_debian_and_a_tcp_socket_give_them() -> None:
    for value in ("/run/clamav/clamd.ctl", "127.0.0.1:3310", "clamav.unipg.it:3310"):
        assert web_config.Config.from_env({"HELPDESK_CLAMD": value}).clamd == value
    assert web_config.Config.from_env({}).clamd is None

