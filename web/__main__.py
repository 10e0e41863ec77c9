"""python -m web [serve | add-operator | check-data]"""

from __future__ import annotations

import asyncio
import os
import sys

from storage import DamagedFile, DataFolderBusy, OperatorStore, StorageError, check_data
from web.config import Config, ConfigError


def serve(config: Config) -> int:
    from web.cluster import RedisUnreachable
    from web.desk.accounts import ensure_demo_operator
    from web.http.logs import setup_logging
    from web.ops.serve import serve as run

    setup_logging(config.log_format)
    base = f"http://{config.host}:{config.port}"

    def announce() -> None:
        # Called once the server listens, so a refused start prints no URLs.
        print(f"Student page:     {base}/")
        print(f"Operator console: {base}/console")
        demo = ensure_demo_operator(OperatorStore(config.data_dir))
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
    except (DataFolderBusy, StorageError, RedisUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if clean else 1


def main(argv: list[str]) -> int:
    try:
        config = Config.from_env(os.environ)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    command = argv[0] if argv else "serve"
    if command == "serve":
        return serve(config)
    if command == "add-operator":
        from web.desk.accounts import add_operator_command

        return add_operator_command(argv[1:], config.data_dir)
    if command == "check-data":
        problems = check_data(config.data_dir, retention_days=config.retention_days)
        for problem in problems:
            print(problem)
        print(f"{config.data_dir}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    print(
        "usage: python -m web [serve | add-operator USERNAME --name NAME "
        "[--role operator|admin|editor] --password-stdin | check-data]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
