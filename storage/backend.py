"""Which storage a process opens: PostgreSQL when a database URL is set, else the data
folder (the embedded default)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from .operators import OperatorStore
from .protocol import Backend, Operators
from .store import Storage


async def open_backend(data_dir: Path, database_url: str | None = None) -> Backend:
    if database_url:
        from .postgres import PostgresStorage  # psycopg is loaded only by those who use it

        return await PostgresStorage.open(database_url)
    return await Storage.open(data_dir)


@contextlib.asynccontextmanager
async def open_operators(
    data_dir: Path, database_url: str | None = None
) -> AsyncIterator[Operators]:
    """The accounts alone, for the command line while a server may be running: the folder's
    operators.json has a lock of its own (the folder's lock belongs to the server), and the
    database serves any number of processes."""
    if not database_url:
        yield OperatorStore(data_dir)
        return
    from .postgres import PostgresStorage

    async with await PostgresStorage.open(database_url) as storage:
        yield storage.operators


def where(data_dir: Path, database_url: str | None = None) -> str:
    """Where the storage is, as it may be shown: the folder, or the URL without its password."""
    if not database_url:
        return str(data_dir)
    from .postgres.database import shown

    return shown(database_url)
