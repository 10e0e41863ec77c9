"""Which storage a process opens: PostgreSQL when a database URL is set, else the data
folder (the embedded default)."""

from __future__ import annotations

from pathlib import Path

from .protocol import Backend
from .store import Storage


async def open_backend(data_dir: Path, database_url: str | None = None) -> Backend:
    if database_url:
        from .postgres import PostgresStorage  # psycopg is loaded only by those who use it

        return await PostgresStorage.open(database_url)
    return await Storage.open(data_dir)
