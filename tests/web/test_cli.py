"""python -m web: the commands an administrator runs, as processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from storage import Message, Storage, Ticket
from storage.postgres.database import shown
from tests.conftest import FAQ_DIR, ROOT, Server, free_port
from tests.servers import PG_USER, PostgresServer
from web.http.keys import SERVICES

KEY = "cli-test-key-0123456789abcdefghij"
VALID = {
    "email": "mario.rossi@example.com",
    "name": "Rossi Mario",
    "phone": "3331234567",
    "topic": "immatricolazioni",
    "subtopic": "scadenze",
    "message": "Posso ancora immatricolarmi dopo la scadenza?",
}


def run_web(
    *args: str, data_dir: Path, timeout: float = 30, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HELPDESK_DATA_DIR": str(data_dir),
        "HELPDESK_PORT": str(free_port()),
        **(settings or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "web", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def make_folder(data_dir: Path) -> None:
    storage = await Storage.open(data_dir)
    await storage.close()


async def damage_one_ticket(server: Server) -> Path:
    desk_fields = {**VALID, "lang": "it"}
    from web.desk.tickets import Desk

    ticket = await Desk(server.app[SERVICES]).open(desk_fields, None)
    await server.stop()
    [path] = list((server.config.data_dir / "tickets").rglob(f"{ticket.number}.json"))
    path.write_text('{"_default": {"1": {"number": "' + ticket.number + '", "ema')
    return path


async def test_check_data_on_a_healthy_folder(server: Server) -> None:
    await server.stop()
    result = await asyncio.to_thread(run_web, "check-data", data_dir=server.config.data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": ok")


async def test_a_damaged_file_is_reported_and_never_overwritten(server: Server) -> None:
    path = await damage_one_ticket(server)
    damaged = path.read_bytes()
    check = await asyncio.to_thread(run_web, "check-data", data_dir=server.config.data_dir)
    assert check.returncode == 1
    assert str(path.name) in check.stdout
    serve = await asyncio.to_thread(run_web, data_dir=server.config.data_dir)
    assert serve.returncode == 2
    assert path.name in serve.stderr and "Student page" not in serve.stdout
    assert path.read_bytes() == damaged


async def test_a_second_server_on_the_same_folder_is_refused(server: Server) -> None:
    result = await asyncio.to_thread(run_web, data_dir=server.config.data_dir)
    assert result.returncode == 2
    assert str(server.config.data_dir) in result.stderr
    # the running server is untouched
    assert await server.app[SERVICES].storage.tickets.summaries() == []


def test_a_bad_setting_is_named(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "web", "check-data"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "HELPDESK_PORT": "ottanta"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "HELPDESK_PORT" in result.stderr


def test_a_broken_faq_folder_at_a_first_start_is_named(tmp_path: Path) -> None:
    faq = tmp_path / "faq_data"
    shutil.copytree(FAQ_DIR, faq)
    (faq / "faq" / "scadenze.json").write_text("\ufeff" + '{"faqs": [')
    result = run_web(data_dir=tmp_path / "var", settings={"HELPDESK_FAQ_DIR": str(faq)})
    assert result.returncode == 2
    # after the log lines of the storage opened before the FAQ
    assert result.stderr[result.stderr.index("error:") :].splitlines() == [
        f"error: the FAQ folder {faq} cannot be loaded:",
        "  faq/scadenze.json: -: -: JSON non valido alla riga 1, colonna 11: il file finisce a"
        " metà, manca la chiusura (per esempio ] e }): forse la fine è stata cancellata per"
        " sbaglio",
        f"Fix it (check with: python -m bot.faq validate {faq}), then start again.",
    ]
    assert "Student page" not in result.stdout and "Traceback" not in result.stderr


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the administrator is told, among the start's log lines, with no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_web(data_dir=tmp_path, settings={"HELPDESK_PORT": str(port)})
    assert result.returncode == 2
    [line] = error_lines(result)
    assert line.startswith(f"error: port {port} on 127.0.0.1 is in use by another program")
    assert "HELPDESK_PORT" in line and "Student page" not in result.stdout


def test_a_port_past_65535_is_named(tmp_path: Path) -> None:
    result = run_web(data_dir=tmp_path, settings={"HELPDESK_PORT": "99999"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: HELPDESK_PORT must be at most 65535, not 99999"]


def test_a_host_that_does_not_resolve_is_named(tmp_path: Path) -> None:
    result = run_web(data_dir=tmp_path, settings={"HELPDESK_HOST": "no-such-host.invalid"})
    assert result.returncode == 2
    [line] = error_lines(result)
    assert line.startswith("error: HELPDESK_HOST 'no-such-host.invalid'")
    assert "Student page" not in result.stdout


def test_a_host_that_is_not_this_machines_is_named(tmp_path: Path) -> None:
    # 192.0.2.0/24 is kept for documentation: never an address of this machine.
    result = run_web(data_dir=tmp_path, settings={"HELPDESK_HOST": "192.0.2.1"})
    assert result.returncode == 2
    [line] = error_lines(result)
    assert line.startswith("error: cannot listen on 192.0.2.1 port ")
    assert line.endswith("check HELPDESK_HOST and HELPDESK_PORT")


def test_a_redis_url_with_a_wrong_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    # check-data never uses Redis: the setting is refused as the configuration is read.
    result = run_web(
        "check-data", data_dir=tmp_path,
        settings={"HELPDESK_REDIS_URL": "redis://127.0.0.1:abc/0"},
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: HELPDESK_REDIS_URL is not a usable Redis URL")
    assert "'abc'" in line


def closed_on(moment: str) -> Callable[[str], Ticket]:
    """A ticket closed, and untouched since, at moment: for tickets.create."""
    return lambda number: Ticket(
        number=number, email="m@example.com", name="Rossi Mario", phone="+393331234567",
        topic="immatricolazioni", subtopic="scadenze", status="closed", updated_at=moment,
        messages=[Message(id="1", author="student", name="Rossi Mario", body="Scadenza?")],
    )


async def test_check_data_reports_data_kept_past_the_retention(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from storage import Storage
    from storage.retention import stamp

    closed = stamp(datetime.now(UTC) - timedelta(days=100))
    async with await Storage.open(tmp_path) as storage:
        ticket = await storage.tickets.create(closed_on(closed))
    kept = await asyncio.to_thread(run_web, "check-data", data_dir=tmp_path)
    assert kept.returncode == 0, kept.stdout
    short = await asyncio.to_thread(
        run_web, "check-data", data_dir=tmp_path, settings={"HELPDESK_RETENTION_DAYS": "90"}
    )
    assert short.returncode == 1
    assert short.stdout.splitlines() == [
        f"{storage.layout.ticket(ticket.number)}: closed and unchanged since {closed}: "
        "past the 90-day retention, and not anonymised",
        f"{tmp_path}: 1 problem(s)",
    ]


def test_a_retention_past_a_hundred_years_is_named(tmp_path: Path) -> None:
    refused = run_web(
        "check-data", data_dir=tmp_path, settings={"HELPDESK_RETENTION_DAYS": "1000000"}
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "error: HELPDESK_RETENTION_DAYS must be at most 36500, not 1000000"
    ]
    asyncio.run(make_folder(tmp_path / "var"))
    longest = run_web(
        "check-data", data_dir=tmp_path / "var", settings={"HELPDESK_RETENTION_DAYS": "36500"}
    )
    assert longest.returncode == 0, longest.stderr


def test_a_database_without_a_shared_secret_key_is_refused(tmp_path: Path) -> None:
    # Refused before the database is even tried: this one does not exist.
    url = f"postgresql://helpdesk@127.0.0.1:{free_port()}/helpdesk"
    result = run_web(data_dir=tmp_path, settings={"HELPDESK_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith("error: HELPDESK_SECRET_KEY must be set")
    assert "Student page" not in result.stdout
    assert not (tmp_path / "secret_key").exists()


def test_check_data_on_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"postgresql://helpdesk:pw-{os.getpid()}@127.0.0.1:{free_port()}/helpdesk"
    result = run_web(
        "check-data", data_dir=tmp_path,
        settings={"HELPDESK_DATABASE_URL": url, "HELPDESK_SECRET_KEY": KEY},
    )
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach the database postgresql://helpdesk@127.0.0.1:")
    assert f"pw-{os.getpid()}" not in line


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"postgresql://helpdesk:pw-{os.getpid()}@127.0.0.1:{free_port()}/helpdesk"
    result = run_web(
        data_dir=tmp_path,
        settings={"HELPDESK_DATABASE_URL": url, "HELPDESK_SECRET_KEY": KEY},
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach the database postgresql://helpdesk@127.0.0.1:")
    assert "Check that PostgreSQL is running" in line and f"pw-{os.getpid()}" not in line
    assert "Student page" not in result.stdout


def test_a_role_that_may_not_create_tables_is_one_line_and_exit_2(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    name = postgres.new_database()
    role = f"limited_{name}"
    try:
        postgres.execute(f'CREATE ROLE "{role}" LOGIN')  # no CREATE on schema public
        url = postgres.url(name).replace(f"//{PG_USER}@", f"//{role}@")
        result = run_web(
            data_dir=tmp_path, settings={"HELPDESK_DATABASE_URL": url, "HELPDESK_SECRET_KEY": KEY}
        )
        assert result.returncode == 2
        [line] = result.stderr.splitlines()
        assert line.startswith(f"error: the role {role} may not create tables in the database")
        assert f"GRANT CREATE ON SCHEMA public TO {role}" in line
        assert "Student page" not in result.stdout
    finally:
        postgres.drop_database(name)
        postgres.execute(f'DROP ROLE IF EXISTS "{role}"')


async def test_check_data_on_a_database_reports_data_kept_past_the_retention(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    from datetime import UTC, datetime, timedelta

    import psycopg

    from storage import Conversation
    from storage.postgres import PostgresStorage
    from storage.retention import stamp

    name = postgres.new_database()
    url = postgres.url(name)
    settings = {"HELPDESK_DATABASE_URL": url, "HELPDESK_SECRET_KEY": KEY}
    try:
        clean = await asyncio.to_thread(run_web, "check-data", data_dir=tmp_path, settings=settings)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert clean.stdout.splitlines() == [f"{shown(url)}: ok"]

        closed = stamp(datetime.now(UTC) - timedelta(days=100))
        idle = stamp(datetime.now(UTC) - timedelta(days=40))
        async with await PostgresStorage.open(url) as storage:
            ticket = await storage.tickets.create(closed_on(closed))
            chat = Conversation(id="c" * 22, step="describe")
            await storage.conversations.save(chat)
        with psycopg.connect(url) as db:  # a chat left 40 days ago
            db.execute("UPDATE conversations SET updated_at = %s", (idle,))

        kept = await asyncio.to_thread(run_web, "check-data", data_dir=tmp_path, settings=settings)
        assert kept.returncode == 1
        assert kept.stdout.splitlines() == [
            f"chat {chat.id}: a chat untouched since {idle} that led to no ticket: past 30 days,"
            " and not deleted",
            f"{shown(url)}: 1 problem(s)",
        ]
        short = await asyncio.to_thread(
            run_web, "check-data", data_dir=tmp_path,
            settings={**settings, "HELPDESK_RETENTION_DAYS": "90"},
        )
        assert short.stdout.splitlines()[0] == (
            f"ticket {ticket.number}: closed and unchanged since {closed}: past the 90-day"
            " retention, and not anonymised"
        )
    finally:
        postgres.drop_database(name)


def test_a_mistyped_setting_is_named_with_the_one_it_resembles(tmp_path: Path) -> None:
    # A typo in the env file would otherwise leave the process on the data folder, unsaid.
    typo = run_web("check-data", data_dir=tmp_path / "var", settings={
        "HELPDESK_DATABSE_URL": "postgresql://helpdesk@127.0.0.1/helpdesk",
        "HELPDESK_SMTP_SECURITY": "starttls",
        "HELPDESK_SHOE_SIZE": "42",
    })
    assert [line for line in typo.stderr.splitlines() if line.startswith("warning:")] == [
        "warning: HELPDESK_DATABSE_URL is not a setting of this version and is ignored "
        "(did you mean HELPDESK_DATABASE_URL?)",
        "warning: HELPDESK_SHOE_SIZE is not a setting of this version and is ignored "
        "(README.md lists the settings)",
    ]
    assert typo.stdout.splitlines()[0] == f"{tmp_path / 'var'}: no such folder"  # not refused


def test_an_allowed_origin_that_is_no_origin_is_named(tmp_path: Path) -> None:
    # As written, it would match no browser's Origin: the widget on the university's pages
    # would never connect, and nothing would say why.
    for written in ("www.unipg.it", "https://www.unipg.it/immatricolazioni"):
        result = run_web(data_dir=tmp_path, settings={
            "HELPDESK_ALLOWED_ORIGINS": f"https://www.unistrapg.it, {written}"
        })
        assert result.returncode == 2
        assert error_lines(result) == [
            f"error: HELPDESK_ALLOWED_ORIGINS: {written!r} is not an origin; expected "
            "scheme://host[:port] as the browser sends it, e.g. https://www.unipg.it"
        ]
    fine = run_web("check-data", data_dir=tmp_path / "var", settings={
        "HELPDESK_ALLOWED_ORIGINS": "https://www.unipg.it/, http://localhost:8000"
    })
    assert not error_lines(fine)


def test_a_backup_copied_into_the_data_folder_instead_of_in_its_place_is_named(
    tmp_path: Path,
) -> None:
    # `cp -a /srv/backup/helpdesk-DATE /var/lib/helpdesk/8081` over the existing folder
    data_dir = tmp_path / "8081"
    asyncio.run(make_folder(data_dir / "helpdesk-2026-12-06"))
    reason = (
        f"holds no data of its own but a data folder inside it, {data_dir / 'helpdesk-2026-12-06'}"
        ": a copy put into the folder instead of in its place? Move that folder's content up "
        "one level"
    )
    check = run_web("check-data", data_dir=data_dir)
    assert check.returncode == 1
    assert check.stdout.splitlines()[0] == f"{data_dir}: {reason}"
    serve = run_web(data_dir=data_dir)
    assert serve.returncode == 2 and "Student page" not in serve.stdout
    assert error_lines(serve) == [f"error: the data folder {data_dir} {reason}"]
    assert not (data_dir / "tickets").exists()  # nothing started over it

    empty = tmp_path / "empty"
    empty.mkdir()
    check = run_web("check-data", data_dir=empty)
    assert check.returncode == 1
    assert check.stdout.splitlines()[0] == (
        f"{empty}: not a data folder (it has no tickets folder); a server would start on it empty"
    )


def test_a_secret_key_left_as_the_guide_s_placeholder_is_refused(tmp_path: Path) -> None:
    # docs/deploy.md's env file shows HELPDESK_SECRET_KEY=... under the command that draws one:
    # pasted as it is, every student's ticket would open to a link anyone can sign.
    result = run_web(data_dir=tmp_path, settings={"HELPDESK_SECRET_KEY": "..."})
    assert result.returncode == 2 and "Student page" not in result.stdout
    assert error_lines(result) == [
        "error: HELPDESK_SECRET_KEY is the guide's placeholder: whoever reads the guide could "
        "open every student's ticket. Draw one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
    ]


def test_a_short_secret_key_is_warned_about_and_served_with(tmp_path: Path) -> None:
    # CONTRACT.md sets no length: a word is weak, not invalid
    result = run_web("check-data", data_dir=tmp_path, settings={"HELPDESK_SECRET_KEY": "k3y"})
    assert "error:" not in result.stderr
    assert result.stderr.startswith(
        "warning: HELPDESK_SECRET_KEY has 3 characters, fewer than 32: whoever guesses it opens "
        "every student's ticket."
    )


def test_a_mistyped_setting_at_the_start_is_a_line_of_the_log_in_its_format(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:  # the start then stops right after its first log lines
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_web(data_dir=tmp_path, settings={
            "HELPDESK_PORT": str(taken.getsockname()[1]),
            "HELPDESK_LOG_FORMAT": "json",
            "HELPDESK_SMTP_SECURTY": "starttls",
        })
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {"level": "WARNING", "message": (
        "HELPDESK_SMTP_SECURTY is not a setting of this version and is ignored "
        "(did you mean HELPDESK_SMTP_SECURITY?)"
    )}.items() <= logged[0].items()
