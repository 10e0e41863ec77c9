"""Presence: the same behaviour in one process's memory and in Redis, then what only Redis
gives (every process's sockets), how a killed process drops out, and Redis going away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from tests import servers
from web.cluster.link import RedisLink
from web.cluster.presence import RedisPresence
from web.desk.presence import LocalPresence, Presence

LAURA = {"username": "lbianchi", "name": "Laura Bianchi"}
MARCO = {"username": "mverdi", "name": "Marco Verdi"}


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Presence]:
    if request.param == "memory":
        yield LocalPresence()
        return
    link = RedisLink(request.getfixturevalue("redis_url"))
    yield RedisPresence(link)
    await link.close()


async def test_an_operator_is_online_while_any_of_their_tabs_is(presence: Presence) -> None:
    await presence.operator_on("s1", "mverdi", "Marco Verdi")
    await presence.operator_on("s2", "lbianchi", "Laura Bianchi")
    await presence.operator_on("s3", "lbianchi", "Laura Bianchi")
    assert await presence.online() == [LAURA, MARCO]  # by name, once each
    await presence.operator_off("s2")
    assert await presence.online() == [LAURA, MARCO]
    await presence.operator_off("s3")
    assert await presence.online() == [MARCO]


async def test_viewers_of_a_ticket(presence: Presence) -> None:
    await presence.operator_on("s1", "lbianchi", "Laura Bianchi")
    await presence.operator_on("s2", "mverdi", "Marco Verdi")
    await presence.viewing("s1", "000123", True)
    await presence.viewing("s2", "000123", True)
    await presence.viewing("s2", "000456", True)
    assert await presence.viewers("000123") == [LAURA, MARCO]
    await presence.viewing("s1", "000123", False)
    assert await presence.viewers("000123") == [MARCO]
    assert await presence.viewers("000999") == []


async def test_a_ticket_is_watched_while_any_tab_of_the_student_shows_it(
    presence: Presence,
) -> None:
    assert not await presence.watched("000123")
    await presence.watching("t1", "000123", True)
    await presence.watching("t2", "000123", True)
    await presence.watching("t1", "000123", False)
    assert await presence.watched("000123")
    await presence.watching("t2", "000123", False)
    assert not await presence.watched("000123")


# --- only Redis -------------------------------------------------------------------------------

Process = Callable[..., RedisPresence]


@pytest.fixture
async def process(redis_url: str) -> AsyncIterator[Process]:
    """process(**timing) -> the presence of one more process sharing this test's Redis."""
    links: list[RedisLink] = []

    def make(**timing: float) -> RedisPresence:
        links.append(RedisLink(redis_url))
        return RedisPresence(links[-1], **timing)

    yield make
    for link in links:
        await link.close()


async def test_every_process_sees_the_sockets_of_every_other(process: Process) -> None:
    one, two = process(), process()
    await one.operator_on("a1", "lbianchi", "Laura Bianchi")
    await two.operator_on("b1", "mverdi", "Marco Verdi")
    await two.viewing("b1", "000123", True)
    await one.watching("a2", "000123", True)
    for anywhere in (one, two):
        assert await anywhere.online() == [LAURA, MARCO]
        assert await anywhere.viewers("000123") == [MARCO]
        assert await anywhere.watched("000123")
    await one.watching("a2", "000123", False)
    assert not await two.watched("000123")


async def test_a_killed_process_drops_out_when_its_beat_stops(process: Process) -> None:
    survivor, killed = process(), process(ttl_seconds=0.3)
    await killed.operator_on("b1", "mverdi", "Marco Verdi")
    await killed.watching("b2", "000123", True)
    assert await survivor.online() == [MARCO]
    # `killed` never beats (as after kill -9): its hash expires after its TTL.
    await asyncio.sleep(0.4)
    assert await survivor.online() == []
    assert not await survivor.watched("000123")


async def test_a_stopped_process_drops_out_at_once(process: Process) -> None:
    survivor, leaving = process(), process()
    leaving.start()
    await leaving.operator_on("b1", "mverdi", "Marco Verdi")
    await leaving.stop()
    assert await survivor.online() == []


async def test_without_redis_each_process_answers_alone_then_fills_redis_again() -> None:
    with servers.redis_server() as server:
        one_link = RedisLink(server.url(), retry_seconds=0.2)
        two_link = RedisLink(server.url(), retry_seconds=0.2)
        one = RedisPresence(one_link, heartbeat_seconds=0.1)
        two = RedisPresence(two_link, heartbeat_seconds=0.1)
        one.start()
        two.start()
        try:
            await one.operator_on("a1", "lbianchi", "Laura Bianchi")
            await two.operator_on("b1", "mverdi", "Marco Verdi")
            await two.watching("b2", "000123", True)
            server.kill()
            assert await one.online() == [LAURA]  # what its own sockets show
            assert not await one.watched("000123")
            assert await two.watched("000123")
            server.start()  # empty, as after a restart without persistence
            for _ in range(100):
                await asyncio.sleep(0.05)
                if await one.online() == [LAURA, MARCO] and await one.watched("000123"):
                    break
            assert await one.online() == [LAURA, MARCO]
            assert await one.watched("000123")
        finally:
            await one.stop()
            await two.stop()
            await one_link.close()
            await two_link.close()
