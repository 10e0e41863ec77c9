"""A `server` on each backend: a test module that imports `on_both_backends` runs every test
that takes `server` twice, on a data folder and on PostgreSQL (a migrated, empty database),
for the features whose store calls each backend answers its own way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Server, make_config, start_server


@pytest.fixture(name="server", params=["tinydb", "postgres"])
async def on_both_backends(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Server]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    running = await start_server(make_config(data_dir, database_url=url))
    try:
        yield running
    finally:
        await running.stop()
