"""The abuse limits' counters: the same behaviour in memory and in Redis, then what only Redis
gives (one count for every process) and what happens while it is away."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator

import pytest

from tests import servers
from web.cluster.counters import RedisCounters
from web.cluster.link import RedisLink
from web.desk.limits import CounterHome, InMemory

SECRET = b"test-secret"
WINDOW = 0.4  # seconds: short, because Redis counts on its own clock and tests wait for it


@pytest.fixture(params=["memory", "redis"])
async def home(request: pytest.FixtureRequest) -> AsyncIterator[CounterHome]:
    if request.param == "memory":
        yield InMemory()
        return
    link = RedisLink(request.getfixturevalue("redis_url"))
    yield RedisCounters(link, SECRET)
    await link.close()


async def test_a_limit_holds_for_its_window_then_lets_go(home: CounterHome) -> None:
    counter = home.counter("test", 2, WINDOW)
    assert await counter.take("a") == 0
    assert await counter.take("a") == 0
    wait = await counter.take("a")
    assert 0 < wait <= WINDOW
    assert 0 < await counter.retry_after("a") <= WINDOW
    assert await counter.take("b") == 0  # another key, another count
    await asyncio.sleep(WINDOW + 0.05)
    assert await counter.retry_after("a") == 0
    assert await counter.take("a") == 0


async def test_refund_and_reset_give_attempts_back(home: CounterHome) -> None:
    counter = home.counter("test", 2, 60)
    await counter.take("a")
    await counter.take("a")
    await counter.refund("a")
    assert await counter.take("a") == 0
    assert await counter.take("a") > 0
    await counter.reset("a")
    assert await counter.take("a") == 0


async def test_zero_is_no_limit(home: CounterHome) -> None:
    counter = home.counter("test", 0, 60)
    for _ in range(50):
        assert await counter.take("a") == 0


async def test_a_burst_of_concurrent_attempts_meets_the_limit_exactly(home: CounterHome) -> None:
    counter = home.counter("test", 5, 60)
    waits = await asyncio.gather(*(counter.take("a") for _ in range(40)))
    assert sum(1 for wait in waits if wait == 0) == 5


async def test_recent_keys_are_remembered_for_their_window(home: CounterHome) -> None:
    seen = home.recent("test", WINDOW)
    await seen.add("laura\n10.0.0.1")
    assert await seen.has("laura\n10.0.0.1")
    assert not await seen.has("marco\n10.0.0.1")
    await asyncio.sleep(WINDOW + 0.05)
    assert not await seen.has("laura\n10.0.0.1")


# --- only Redis -------------------------------------------------------------------------------


async def test_two_processes_count_as_one(redis_url: str) -> None:
    """Each RedisLink is what one process holds: attempts alternating between two processes,
    and a burst spread over both, meet one limit."""
    one, two = RedisLink(redis_url), RedisLink(redis_url)
    try:
        on_one = RedisCounters(one, SECRET).counter("lookup", 4, 60)
        on_two = RedisCounters(two, SECRET).counter("lookup", 4, 60)
        allowed = [await (on_one if n % 2 else on_two).take("000123") == 0 for n in range(8)]
        assert allowed == [True] * 4 + [False] * 4
        waits = await asyncio.gather(
            *((on_one if n % 2 else on_two).take("000999") for n in range(40))
        )
        assert sum(1 for wait in waits if wait == 0) == 4
    finally:
        await one.close()
        await two.close()


async def test_a_clock_that_steps_back_holds_no_key_past_its_window(redis_url: str) -> None:
    link = RedisLink(redis_url)
    try:
        counter = RedisCounters(link, SECRET).counter("test", 2, 60)
        await counter.take("a")
        await counter.take("a")
        # Redis's clock steps back an hour: the attempts it counted lie an hour ahead of it
        [key] = await link.client.keys(f"{link.prefix}limit:test:*")
        for member in await link.client.zrange(key, 0, -1):
            await link.client.zincrby(key, 3_600_000, member)
        assert 59 < await counter.take("a") <= 60  # still limited, for the window only
        assert 59 < await counter.retry_after("a") <= 60
    finally:
        await link.close()


async def test_redis_holds_digests_not_emails(redis_url: str) -> None:
    link = RedisLink(redis_url)
    try:
        counters = RedisCounters(link, SECRET)
        await counters.counter("lookup_failures_per_email", 3, 60).take("mario.rossi@example.org")
        await counters.recent("trusted_logins", 60).add("laura\n10.1.2.3")
        keys = [key.decode() for key in await link.client.keys("*")]
        assert len(keys) == 2
        assert not [key for key in keys if "mario" in key or "10.1.2.3" in key], keys
    finally:
        await link.close()


async def test_nobody_tells_whose_count_it_is_without_the_secret(redis_url: str) -> None:
    """A snapshot of Redis read next to a list of candidates (every IPv4 address, the students'
    emails) must not say whose counts they are: the digests are keyed by the deployment's
    secret, the same on every process of one desk and another elsewhere."""
    link = RedisLink(redis_url)
    try:
        for secret in (SECRET, SECRET, b"another-desk"):
            counters = RedisCounters(link, secret)
            await counters.counter("lookup_failures_per_ip", 3, 60).take("10.1.2.3")
            await counters.recent("trusted_lookups", 60).add("mario.rossi@example.org\n10.1.2.3")
        keys = sorted(key.decode() for key in await link.client.keys("*"))
        assert len(keys) == 4, keys  # two of each: one desk's, the other's
        guesses = [
            hashlib.blake2b(candidate.encode(), digest_size=size, **keyed).hexdigest()
            for candidate in ("10.1.2.3", "mario.rossi@example.org\n10.1.2.3")
            for size in (16, 32)
            for keyed in ({}, {"key": SECRET})
        ]
        assert not [key for key in keys if any(guess in key for guess in guesses)], keys
    finally:
        await link.close()


async def test_without_redis_each_process_counts_alone_until_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "helpdesk.cluster")
    with servers.redis_server() as server:
        link = RedisLink(server.url(), retry_seconds=0.2)
        try:
            counter = RedisCounters(link, SECRET).counter("test", 3, 60)
            assert await counter.take("a") == 0
            server.kill()
            # The attempt already counted in Redis is not known here: three more pass, then
            # this process's own count stops the key.
            waits = [await counter.take("a") for _ in range(5)]
            assert [wait == 0 for wait in waits] == [True, True, True, False, False]
            server.start()
            await asyncio.sleep(0.25)
            # Redis restarted empty: counting there again, from zero.
            assert [await counter.take("a") == 0 for _ in range(4)] == [True] * 3 + [False]
        finally:
            await link.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "helpdesk.cluster"]
    assert len([m for m in messages if "does not answer" in m]) == 1, messages
    assert len([m for m in messages if "answers again" in m]) == 1, messages
