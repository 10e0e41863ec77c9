"""python -m web [serve | add-operator | check-data]"""

from __future__ import annotations

import logging
import os
import sys

from aiohttp import web

from storage import DamagedFile, DataFolderBusy, OperatorStore, StorageError, check_data
from web.config import Config, ConfigError


def serve(config: Config) -> int:
    from web.accounts import ensure_demo_operator
    from web.app import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    problems = check_data(config.data_dir) if config.data_dir.exists() else []
    if problems:
        print(
            "The data folder has damaged files; the server will not start over them:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("Run `python -m web check-data` after restoring them from a backup.", file=sys.stderr)
        return 2
    demo = ensure_demo_operator(OperatorStore(config.data_dir))
    base = f"http://{config.host}:{config.port}"
    print(f"Student page:     {base}/")
    print(f"Operator console: {base}/console")
    if demo is not None:
        print(f"Demo operator (first start only): username {demo[0]}, password {demo[1]}")
    if config.smtp_host is None:
        print(
            f"Mail: no SMTP server set (HELPDESK_SMTP_HOST); mails are written to "
            f"{config.data_dir / 'outbox'}/*.eml"
        )
    else:
        print(f"Mail: SMTP {config.smtp_host}:{config.smtp_port}")
    try:
        web.run_app(create_app(config), host=config.host, port=config.port, print=None)
    except (DataFolderBusy, DamagedFile, StorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


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
        from web.accounts import add_operator_command

        return add_operator_command(argv[1:], config.data_dir)
    if command == "check-data":
        problems = check_data(config.data_dir)
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
