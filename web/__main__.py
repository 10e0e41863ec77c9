"""python -m web [serve | add-operator | check-data | import-data | backup]"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from storage import (
    DamagedFile,
    DatabaseUnavailable,
    DataFolderBusy,
    StorageError,
    backup_folder,
    check_data,
)
from web.config import Config, ConfigError, setting_warnings


def serve(config: Config, warnings: list[str]) -> int:
    from aiohttp import web

    from bot.faq import CorpusError
    from web.cluster import RedisUnreachable
    from web.desk.accounts import ensure_demo_operator
    from web.http.keys import SERVICES
    from web.http.logs import setup_logging
    from web.ops.serve import CannotListen
    from web.ops.serve import serve as run

    setup_logging(config.log_format)
    for line in warnings:
        # In the log's own format: a collector of JSON lines reads it too.
        logging.getLogger("helpdesk").warning("%s", line)
    base = f"http://{config.host}:{config.port}"

    async def announce(app: web.Application) -> None:
        # Called once the server listens, so a refused start prints no URLs.
        print(f"Student page:     {base}/")
        print(f"Operator console: {base}/console")
        # In the storage the server opened: the data folder's, or the database.
        demo = await ensure_demo_operator(app[SERVICES].storage.operators)
        if demo is not None:
            print(f"Demo operator (shown on first start only): {demo[0]} / password {demo[1]}")
        if config.smtp_host is None:
            print(
                "Mail: no SMTP server set (HELPDESK_SMTP_HOST), so mails are written to "
                f"{config.data_dir / 'outbox'}/*.eml"
            )
        else:
            print(f"Mail: SMTP {config.smtp_host}:{config.smtp_port} ({config.smtp_security})")
        print("Press Ctrl+C to stop.", flush=True)

    try:
        clean = asyncio.run(run(config, announce))
    except DamagedFile as exc:
        # Storage.open verified every file; it never starts over a damaged one.
        print(f"error: {exc}", file=sys.stderr)
        print(
            "Restore the files from a backup, then run `python -m web check-data`.", file=sys.stderr
        )
        return 2
    except DatabaseUnavailable as exc:
        # Not a setting to fix but a server to wait for: exit 1, and a supervisor may retry.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (DataFolderBusy, StorageError, ConfigError, RedisUnreachable, CannotListen) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CorpusError as exc:
        # Only at a first start: later ones fall back on the last good FAQ (web/desk/faqs.py).
        print(f"error: the FAQ folder {config.faq_dir} cannot be loaded:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        print(
            f"Fix it (check with: python -m bot.faq validate {config.faq_dir}), then start again.",
            file=sys.stderr,
        )
        return 2
    return 0 if clean else 1


def import_data(args: list[str], config: Config) -> int:
    """Copy a data folder into the database of HELPDESK_DATABASE_URL: 0 when everything is
    there, 1 when something could not be copied, 2 on a usage error."""
    from storage.postgres.importer import import_folder

    if len(args) != 1:
        print("usage: python -m web import-data DIR", file=sys.stderr)
        return 2
    if not config.database_url:
        print("error: set HELPDESK_DATABASE_URL to the database to copy into", file=sys.stderr)
        return 2
    data_dir = Path(args[0])
    try:
        report = asyncio.run(import_folder(data_dir, config.database_url))
    except DamagedFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("Nothing was copied. Repair the folder first (python -m web check-data).",
              file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for kind, count in report.counts.items():
        differ = f" ({count.differ} of them differ from the folder's)" if count.differ else ""
        print(f"{kind}: {count.copied} copied, {count.present} already in the database{differ}")
    for number in report.conflicts:
        print(f"error: ticket {number}: the database has another ticket with this number; "
              "not copied", file=sys.stderr)
    for what in report.differ:
        print(f"error: {what}: the database has another version of it; the folder's is not "
              "copied", file=sys.stderr)
    if report.differ:
        # a trial import, then weeks more on the folder: the database lacks those weeks'
        # replies, closings, mail sent (sent again from it) and erasures
        print("The database keeps its own versions of these: written by an earlier import "
              "(the folder has changed since) or by processes on the database. To move the "
              "folder as it is now, import it into an empty database (docs/deploy.md).",
              file=sys.stderr)
    folder_key = data_dir / "secret_key"
    # deploy.md sets a new key on the database's processes: unless it is the folder's own,
    # every link a student holds stops opening the ticket
    configured = (config.secret_key or "").encode()
    if folder_key.exists() and folder_key.read_bytes().strip() != configured:
        print(f"The students' links of the last {config.ticket_token_hours} hours were signed "
              f"with the key in {data_dir / 'secret_key'}: to keep them working, set "
              "HELPDESK_SECRET_KEY to its content on every process.")
    return 1 if report.conflicts or report.differ else 0


def backup(args: list[str], config: Config) -> int:
    """Copy the data folder to DEST beside the running server (storage/backup.py): 0 when a
    server starts on the copy with every file its tickets point at, 1 when the copy lacks some
    (listed), 2 when nothing was copied."""
    if len(args) != 1:
        print("usage: python -m web backup DEST", file=sys.stderr)
        return 2
    if config.database_url:
        print("error: with HELPDESK_DATABASE_URL everything is in the database: back it up "
              "with pg_dump (docs/backup.md)", file=sys.stderr)
        return 2
    dest = Path(args[0])
    try:
        problems = backup_folder(config.data_dir, dest)
    except (StorageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    print(f"{dest}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def check_database(config: Config, url: str) -> int:
    """check-data on the database: what is past its time (the database keeps its own data
    whole). Its schema is brought up to date first, as a starting server does."""
    from storage.postgres import PostgresStorage
    from storage.postgres.database import shown
    from storage.retention import overdue_stored

    async def check() -> list[tuple[str, str]]:
        async with await PostgresStorage.open(url) as storage:
            return await overdue_stored(storage, config.retention_days, datetime.now(UTC))

    try:
        problems = asyncio.run(check())
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for what, why in problems:
        print(f"{what}: {why}")
    print(f"{shown(url)}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    warnings = setting_warnings(os.environ)
    command = argv[0] if argv else "serve"
    if command == "serve":
        return serve(config, warnings)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    if command == "add-operator":
        from web.desk.accounts import add_operator_command

        return add_operator_command(argv[1:], config)
    if command == "import-data":
        return import_data(argv[1:], config)
    if command == "backup":
        return backup(argv[1:], config)
    if command == "check-data":
        if config.database_url:
            return check_database(config, config.database_url)
        problems = check_data(config.data_dir, retention_days=config.retention_days)
        if config.secret_key is None and config.data_dir.is_dir():
            from web.desk.secret import check_folder_key

            problems += check_folder_key(config.data_dir)
        for problem in problems:
            print(problem)
        print(f"{config.data_dir}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    print(
        "usage: python -m web [serve | add-operator USERNAME --name NAME "
        "[--role operator|admin|editor] --password-stdin | check-data | import-data DIR | "
        "backup DEST]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
