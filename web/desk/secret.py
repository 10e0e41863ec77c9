"""The key that signs tokens and cookies: from the settings, or drawn once and kept in the
data folder, so that tokens survive a restart.

With a database (HELPDESK_DATABASE_URL) the key must come from the settings. Several processes
share the database, and a token one issued must open the ticket on all of them, so each
drawing its own is wrong. The key is not kept in the database either: the database is copied
into backups and dumps that travel further than the settings file, and the key would let
their readers forge every student's ticket link."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from storage import DamagedFile
from web.config import MIN_KEY_CHARACTERS, ConfigError


def load_or_create_secret(
    data_dir: Path, configured: str | None, database_url: str | None = None
) -> bytes:
    if configured:
        return configured.encode()
    if database_url:
        raise ConfigError(
            "HELPDESK_SECRET_KEY must be set when HELPDESK_DATABASE_URL is: every process on "
            "the database signs with it. Draw one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    path = data_dir / "secret_key"
    if path.exists():
        key = path.read_bytes().strip()
        if problem := key_problem(key):
            raise DamagedFile(path, problem)
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    tmp = path.with_suffix(".tmp")
    # Created private: whoever reads this key can forge every student's ticket token.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return key


def key_problem(key: bytes) -> str | None:
    """Why a folder's key must not sign anything, or None when it may: a file cut or emptied
    by hand (a drawn key has 64 characters), and an empty key signs tokens anyone computes."""
    if len(key) >= MIN_KEY_CHARACTERS:
        return None
    return (
        f"the key that signs the students' links holds {len(key)} characters, not at least "
        f"{MIN_KEY_CHARACTERS}: restore this file from the backup (or delete it to draw a new "
        "key, and the links students hold stop working)"
    )


def check_folder_key(data_dir: Path) -> list[str]:
    """check-data's line about the folder's key, when it has one that must not sign."""
    path = data_dir / "secret_key"
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        return []  # drawn at the next start
    except OSError as e:
        return [f"{path}: cannot be read ({e.strerror})"]
    problem = key_problem(key)
    return [f"{path}: {problem}"] if problem else []


def fingerprint(secret: bytes) -> str:
    """What the processes of one desk show each other of their key (web/cluster), so that one
    started with another key is refused: its students' links would open on it and on no other.
    Drawn slowly (scrypt), as it sits in Redis: from a snapshot, guessing a weak key through it
    costs what guessing it through a ticket's link does."""
    return hashlib.scrypt(secret, salt=b"helpdesk key check", n=2**14, r=8, p=1, dklen=16).hex()
