"""A process started with another HELPDESK_SECRET_KEY than the processes already running on the
same Redis is refused: its students' links would open on it and on no other process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import Storage
from tests.conftest import Server, make_config, start_server
from web.config import ConfigError


async def test_a_process_with_another_key_is_refused_while_the_others_run(
    tmp_path: Path, redis_url: str
) -> None:
    store = await Storage.open(tmp_path / "shared")
    first = await start_server(make_config(tmp_path / "a", redis_url=redis_url), store)
    try:
        same = await start_server(make_config(tmp_path / "b", redis_url=redis_url), store)
        await same.stop()
        with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEY differs"):
            await start_server(
                make_config(tmp_path / "c", redis_url=redis_url, secret_key="another"), store
            )
    finally:
        await first.stop()
    # every process stopped: the key may change
    changed = await start_server(
        make_config(tmp_path / "d", redis_url=redis_url, secret_key="another"), store
    )
    await changed.stop()
    await store.close()


async def test_of_two_processes_started_together_with_different_keys_one_is_refused(
    tmp_path: Path, redis_url: str
) -> None:
    # Both units of a machine start at boot, each with its own environment file.
    started = await asyncio.gather(
        start_server(make_config(tmp_path / "a", redis_url=redis_url, secret_key="chiave-uno")),
        start_server(make_config(tmp_path / "b", redis_url=redis_url, secret_key="chiave-due")),
        return_exceptions=True,
    )
    try:
        refused = [s for s in started if isinstance(s, ConfigError)]
        assert refused, "two processes sign with different keys"
        assert all(isinstance(s, ConfigError | Server) for s in started), started
    finally:
        for server in started:
            if isinstance(server, Server):
                await server.stop()
