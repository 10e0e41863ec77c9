"""The in-memory sliding-window limiter behind every abuse limit of one process (the same
behaviour in Redis is checked in tests/web/cluster/test_counters.py)."""

from __future__ import annotations

from web.desk.limits import SWEEP_EVERY, RateLimiter, RecentKeys


async def test_limit_window_and_retry_after() -> None:
    limiter = RateLimiter(2, 60)
    assert await limiter.take("a", now=0) == 0
    assert await limiter.take("a", now=1) == 0
    assert await limiter.take("a", now=2) == 58
    assert await limiter.retry_after("a", now=2) == 58
    assert await limiter.take("b", now=2) == 0
    assert await limiter.take("a", now=60.5) == 0


async def test_refund_gives_back_a_successful_attempt() -> None:
    limiter = RateLimiter(1, 60)
    assert await limiter.take("a", now=0) == 0
    await limiter.refund("a")
    assert await limiter.take("a", now=1) == 0


async def test_reset_forgets_a_key() -> None:
    limiter = RateLimiter(1, 60)
    await limiter.take("a", now=0)
    await limiter.reset("a")
    assert await limiter.take("a", now=1) == 0


async def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(0, 60)
    for n in range(100):
        assert await limiter.take("a", now=n) == 0


async def test_one_off_keys_are_forgotten() -> None:
    limiter = RateLimiter(5, 10)
    for n in range(SWEEP_EVERY - 1):
        await limiter.take(f"once-{n}", now=0)
    assert len(limiter) == SWEEP_EVERY - 1
    await limiter.take("late", now=100)
    assert len(limiter) == 1


async def test_recent_keys_forget_after_their_window() -> None:
    seen = RecentKeys(60)
    await seen.add("laura\n10.0.0.1", now=0)
    assert await seen.has("laura\n10.0.0.1", now=59)
    assert not await seen.has("laura\n10.0.0.1", now=60)
    assert not await seen.has("marco\n10.0.0.1", now=0)
