"""Operator accounts, in one small TinyDB file shared between processes.

`python -m web add-operator` runs while the server runs, and the new account must log in at
once. So this store does not rely on the data folder's process lock: every write takes an flock
of its own (operators.lock) around an atomic replace, and every read compares the file with what
it last parsed. Reading a few kilobytes per login is cheaper than any cache that could be fooled
by a coarse mtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from tinydb import Query, TinyDB

from .errors import DamagedFile
from .files import FILE_MODE, ensure_dir, sweep_temp, temp_prefix
from .layout import Layout
from .models import ROLES, Operator
from .tinyfile import AtomicJSONStorage, decode_tables

TABLE = "operators"
Problems = list[tuple[Path, str]]


def parse_operators(raw: bytes, path: Path) -> dict[str, Operator]:
    operators: dict[str, Operator] = {}
    for doc_id, doc in decode_tables(raw, path).get(TABLE, {}).items():
        try:
            operator = Operator.from_dict(doc)
        except TypeError as e:
            raise DamagedFile(path, f"operator {doc_id} is not a valid record ({e})") from None
        if operator.role not in ROLES:
            raise DamagedFile(path, f"operator {operator.username!r} has unknown role")
        if operator.username in operators:
            raise DamagedFile(path, f"operator {operator.username!r} appears twice")
        operators[operator.username] = operator
    return operators


class OperatorStore:
    def __init__(self, data_dir: Path) -> None:
        self._layout = Layout(data_dir)
        self.path = self._layout.operators
        # One tuple, replaced whole: the async twins run in threads and must never see the
        # bytes of one version with the records of another.
        self._cache: tuple[bytes | None, dict[str, Operator]] = (None, {})

    def _read(self) -> dict[str, Operator]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            # A missing file is a fresh install; an existing empty one is damage (parse says so).
            return {}
        cached_raw, cached = self._cache
        if raw == cached_raw:
            return cached
        operators = parse_operators(raw, self.path)
        self._cache = (raw, operators)
        return operators

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Held by one writer at a time, in whatever process (server or command line)."""
        ensure_dir(self._layout.root)
        fd = os.open(self._layout.operators_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # sync: for the command line, and run in a thread by the async twins

    def get_sync(self, username: str) -> Operator | None:
        operator = self._read().get(username)
        return replace(operator) if operator is not None else None

    def list_sync(self) -> list[Operator]:
        return [replace(o) for _, o in sorted(self._read().items())]

    def put_sync(self, operator: Operator) -> None:
        """Create or replace the account with this username."""
        with self._exclusive():
            # Read first: a damaged file raises here instead of being overwritten by the upsert.
            self._read()
            with TinyDB(self.path, storage=AtomicJSONStorage) as db:
                db.table(TABLE).upsert(operator.to_dict(), Query().username == operator.username)

    def add_sync(self, operator: Operator) -> bool:
        with self._exclusive():
            if operator.username in self._read():
                return False
            with TinyDB(self.path, storage=AtomicJSONStorage) as db:
                db.table(TABLE).insert(operator.to_dict())
            return True

    def swap_sync(self, old: Operator, new: Operator) -> bool:
        with self._exclusive():
            if self._read().get(old.username) != old:
                return False
            with TinyDB(self.path, storage=AtomicJSONStorage) as db:
                db.table(TABLE).update(new.to_dict(), Query().username == old.username)
            return True

    def sweep_sync(self) -> list[Path]:
        """Remove temporary files a crashed writer left; under the lock, so never a live one."""
        with self._exclusive():
            return sweep_temp([self._layout.root], prefix=temp_prefix(self.path))

    def check(self, problems: Problems) -> None:
        try:
            self._read()
        except DamagedFile as e:
            problems.append((e.path, e.reason))
        except OSError as e:
            problems.append((self.path, f"cannot be read ({e.strerror})"))

    # async

    async def get(self, username: str) -> Operator | None:
        return await asyncio.to_thread(self.get_sync, username)

    async def list(self) -> list[Operator]:
        return await asyncio.to_thread(self.list_sync)

    async def put(self, operator: Operator) -> None:
        await asyncio.to_thread(self.put_sync, operator)

    async def add(self, operator: Operator) -> bool:
        return await asyncio.to_thread(self.add_sync, operator)

    async def swap(self, old: Operator, new: Operator) -> bool:
        return await asyncio.to_thread(self.swap_sync, old, new)
