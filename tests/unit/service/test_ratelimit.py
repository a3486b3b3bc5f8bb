"""The failure limiter, driven by an injected clock."""

from __future__ import annotations

from dockyard.service.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_blocks_after_limit_failures_until_the_window_passes() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=3, window=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("alice") == 0
        limiter.failed("alice")
        clock.now += 10
    # Failures at 1000, 1010 and 1020; now 1030: the first leaves the window at 1060.
    assert limiter.retry_after("alice") == 30
    assert limiter.retry_after("bob") == 0
    clock.now = 1059.5
    assert limiter.retry_after("alice") == 1
    clock.now = 1060
    assert limiter.retry_after("alice") == 0


def test_sliding_window_keeps_recent_failures() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=2, window=60, clock=clock)
    limiter.failed("k")
    clock.now += 50
    limiter.failed("k")
    assert limiter.retry_after("k") == 10
    clock.now += 10
    assert limiter.retry_after("k") == 0
    limiter.failed("k")
    # Failures at 1050 and 1060: blocked until 1110.
    assert limiter.retry_after("k") == 50


def test_reset_forgets_a_key() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=1, window=60, clock=clock)
    limiter.failed("k")
    assert limiter.retry_after("k") == 60
    limiter.reset("k")
    assert limiter.retry_after("k") == 0


def test_idle_keys_are_swept() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=5, window=1, clock=clock)
    for i in range(5000):
        limiter.failed(f"user-{i}")
    clock.now += 2
    limiter.failed("last")
    assert len(limiter._failures) < 5000
