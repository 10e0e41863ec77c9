"""The console's live tests (tests/web/console/test_live.py), run again on a server whose
Socket.IO manager, presence and limits are Redis's: one process must behave the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Server, make_config, start_server
from tests.web.console.test_live import (
    test_a_reply_is_mailed_when_the_student_is_not_watching,
    test_a_socket_reaches_only_the_tickets_it_opened,
    test_an_idle_console_is_closed_by_the_sweeper,
    test_logout_and_deactivation_close_the_sockets_at_once,
    test_socket_activity_counts_as_activity,
    test_the_console_socket_wants_a_session_and_its_csrf_token,
    test_two_operators_and_a_student_on_one_ticket,
)
from web.cluster.live import RedisLive
from web.http.keys import SERVICES

__all__ = [
    "test_a_reply_is_mailed_when_the_student_is_not_watching",
    "test_a_socket_reaches_only_the_tickets_it_opened",
    "test_an_idle_console_is_closed_by_the_sweeper",
    "test_logout_and_deactivation_close_the_sockets_at_once",
    "test_socket_activity_counts_as_activity",
    "test_the_console_socket_wants_a_session_and_its_csrf_token",
    "test_two_operators_and_a_student_on_one_ticket",
]


@pytest.fixture
async def server(data_dir: Path, redis_url: str) -> AsyncIterator[Server]:
    running = await start_server(make_config(data_dir, redis_url=redis_url))
    assert isinstance(running.app[SERVICES].live.manager, RedisLive)  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        await running.stop()
