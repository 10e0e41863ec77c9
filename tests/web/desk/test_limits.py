"""The sliding-window limiter behind every abuse limit."""

from __future__ import annotations

from web.desk.limits import SWEEP_EVERY, RateLimiter


def test_limit_window_and_retry_after() -> None:
    limiter = RateLimiter(2, 60)
    assert limiter.take("a", now=0) == 0
    assert limiter.take("a", now=1) == 0
    assert limiter.take("a", now=2) == 58
    assert limiter.take("b", now=2) == 0
    assert limiter.take("a", now=60.5) == 0


def test_refund_gives_back_a_successful_attempt() -> None:
    limiter = RateLimiter(1, 60)
    assert limiter.take("a", now=0) == 0
    limiter.refund("a")
    assert limiter.take("a", now=1) == 0


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(0, 60)
    for n in range(100):
        assert limiter.take("a", now=n) == 0


def test_one_off_keys_are_forgotten() -> None:
    limiter = RateLimiter(5, 10)
    for n in range(SWEEP_EVERY - 1):
        limiter.hit(f"once-{n}", now=0)
    assert len(limiter) == SWEEP_EVERY - 1
    limiter.hit("late", now=100)
    assert len(limiter) == 1
