"""Operator accounts: the rules a username, a display name and a password follow, argon2
hashes, and `python -m web add-operator`.

The command writes through the operator store of the configured storage: in a data folder it
takes its own file lock and is read afresh by the server at every login; in the database
(HELPDESK_DATABASE_URL) every process reads the same table. Either way it works whether or not
the server is running, and the account can sign in at once.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import secrets
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.i18n import t
from storage import Operator, StorageError, open_operators, where
from storage.models import ROLES, Role
from storage.protocol import Operators
from web.config import Config, ConfigError

# Lower-case, so "MRossi" and "mrossi" cannot be two accounts; it appears in the audit log and
# in URLs, so no spaces or punctuation beyond . _ -.
USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
NAME_MIN, NAME_MAX = 2, 80
# Staff accounts open every student's data: longer than the usual 8. The upper bound only
# keeps a megabyte "password" from costing argon2 a megabyte of hashing per attempt.
PASSWORD_MIN, PASSWORD_MAX = 10, 256
# Ten spaces or "aaaaaaaaaa" pass the length alone, and are the first things a guesser tries.
PASSWORD_VARIETY = 5
DEMO_USERNAME, DEMO_NAME = "demo", "Operatore demo"

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A field of an account that breaks a rule; `key` is its i18n text."""

    def __init__(self, field: str, key: str, **params: object) -> None:
        super().__init__(f"{field}: {key}")
        self.field = field
        self.key = key
        self.params = params

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


def normalise_username(raw: str) -> str:
    return raw.strip().lower()


# Words the queue filter gives a meaning to (assigned=me, none, all).
RESERVED = frozenset({"me", "none", "all"})


def check_username(raw: str) -> str:
    username = normalise_username(raw)
    if not USERNAME.fullmatch(username) or username in RESERVED:
        raise AccountError("username", "console.account.bad_username")
    return username


def check_name(raw: str) -> str:
    # The only name students see: no control characters, no line breaks, spaces collapsed.
    name = " ".join("".join(c for c in raw if unicodedata.category(c)[0] != "C").split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise AccountError("name", "console.account.bad_name", min=NAME_MIN, max=NAME_MAX)
    return name


def check_role(raw: str) -> Role:
    for role in ROLES:
        if raw == role:
            return role
    raise AccountError("role", "console.account.bad_role")


def check_password(password: str, username: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError("password", "console.account.short_password", min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        raise AccountError("password", "console.account.long_password", max=PASSWORD_MAX)
    if len(set(password)) < PASSWORD_VARIETY:
        raise AccountError("password", "console.account.simple_password", n=PASSWORD_VARIETY)
    if password.strip().lower() == username:
        raise AccountError("password", "console.account.password_is_username")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not the password of anybody")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches. An unknown user (None) is checked against a dummy hash,
    so the answer takes as long as for a real account and timing does not tell them apart.
    Slow on purpose (argon2): call it in a thread."""
    if len(password) > PASSWORD_MAX:
        password = password[:PASSWORD_MAX]  # still costs a verification, never a bigger one
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
        return matches and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def build_operator(
    username: str,
    name: str | None,
    role: str | None,
    password: str,
    existing: Operator | None = None,
) -> Operator:
    """A new or updated account (active, with a fresh hash). Name and role may be omitted when
    updating: they keep their values. Raises AccountError. Slow (argon2)."""
    username = check_username(username)
    if name is not None:
        clean_name = check_name(name)
    elif existing is not None:
        clean_name = existing.name
    else:
        raise AccountError("name", "console.account.name_required")
    clean_role: Role = (
        check_role(role) if role is not None else existing.role if existing else "operator"
    )
    check_password(password, username)
    if existing is not None:
        return replace(
            existing,
            name=clean_name,
            role=clean_role,
            password_hash=hash_password(password),
            active=True,
        )
    return Operator(
        username=username, name=clean_name, role=clean_role, password_hash=hash_password(password)
    )


async def add_operator(
    operators: Operators, username: str, name: str | None, role: str | None, password: str
) -> tuple[Operator, bool]:
    """Create or update (and reactivate) an account; (operator, created)."""
    existing = await operators.get(normalise_username(username))
    operator = build_operator(username, name, role, password, existing)
    await operators.put(operator)
    return operator, existing is None


async def ensure_demo_operator(operators: Operators) -> tuple[str, str] | None:
    """On a fresh install (no account at all) create an admin with a random password, so that
    `make run` leads straight into the console; (username, password) when created. Of several
    processes starting together on one empty database, one creates it and prints it."""
    if await operators.list():
        return None
    password = secrets.token_urlsafe(12)
    demo = Operator(
        username=DEMO_USERNAME, name=DEMO_NAME, role="admin", password_hash=hash_password(password)
    )
    return (DEMO_USERNAME, password) if await operators.add(demo) else None


# --- python -m web add-operator -------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m web add-operator",
        description=t("console.cli.description", "it"),
    )
    parser.add_argument("username", metavar="USERNAME")
    parser.add_argument("--name", help=t("console.cli.help_name", "it"))
    parser.add_argument("--role", choices=ROLES, help=t("console.cli.help_role", "it"))
    parser.add_argument(
        "--password-stdin", action="store_true", help=t("console.cli.help_password_stdin", "it")
    )
    parser.add_argument("--data-dir", type=Path, help=t("console.cli.help_data_dir", "it"))
    return parser


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str | None:
    if args.password_stdin:
        # One line; only its line ending is dropped (a password may start or end with spaces).
        return stdin.readline().rstrip("\r\n")
    if stdin.isatty():
        first = getpass.getpass(t("console.cli.prompt_password", "it") + " ")
        if first != getpass.getpass(t("console.cli.prompt_again", "it") + " "):
            return None
        return first
    return None


def add_operator_command(
    argv: list[str],
    config: Config | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """`python -m web add-operator USERNAME --name "Full Name" [--role R] --password-stdin`.
    config: the settings (else read from `environ`); --data-dir overrides their data folder.
    Exit 0 when the account was saved, 1 when a value breaks a rule or the storage cannot be
    written, 2 on a usage error."""
    stdin = stdin or sys.stdin
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        config = config or Config.from_env(os.environ if environ is None else environ)
    except ConfigError as error:
        print(error, file=err)
        return 2
    if args.data_dir:
        config = replace(config, data_dir=args.data_dir)
    password = _read_password(args, stdin)
    if password is None:
        print(t("console.cli.no_password", "it"), file=err)
        return 2

    async def save() -> tuple[Operator, bool]:
        async with open_operators(config.data_dir, config.database_url) as operators:
            return await add_operator(operators, args.username, args.name, args.role, password)

    try:
        operator, created = asyncio.run(save())
    except AccountError as error:
        print(f"{error.field}: {error.message('it')}", file=err)
        return 1
    except (StorageError, OSError) as error:
        # A damaged operators.json, an unwritable folder, a database out of reach: say which,
        # no traceback.
        print(f"error: {error}", file=err)
        return 1
    key = "console.cli.created" if created else "console.cli.updated"
    print(
        t(
            key,
            "it",
            username=operator.username,
            name=operator.name,
            role=operator.role,
            data_dir=where(config.data_dir, config.database_url),
        ),
        file=out,
    )
    return 0
