from __future__ import annotations

from dockyard.domain.recent import Recent
from tests.fakes.clock import FakeClock


def test_a_key_is_remembered_for_its_ttl_only() -> None:
    clock = FakeClock(ticks=10.0)
    recent: Recent[str] = Recent(5.0, clock.monotonic)
    recent.add("a")

    assert "a" in recent and "b" not in recent
    clock.advance(4.9)
    assert "a" in recent
    clock.advance(0.2)
    assert "a" not in recent


def test_forget_says_whether_the_key_was_still_remembered() -> None:
    clock = FakeClock(ticks=10.0)
    recent: Recent[str] = Recent(5.0, clock.monotonic)
    recent.add("a")
    recent.add("old")
    clock.advance(6)
    recent.add("b")

    assert recent.forget("b") is True
    assert recent.forget("b") is False
    assert recent.forget("old") is False  # expired: not remembered any more
    assert "b" not in recent


def test_expired_keys_are_dropped_when_the_limit_is_reached() -> None:
    clock = FakeClock(ticks=10.0)
    recent: Recent[int] = Recent(1.0, clock.monotonic, limit=3)
    for key in (1, 2, 3):
        recent.add(key)
    clock.advance(2)
    recent.add(4)

    assert len(recent._until) == 1 and 4 in recent
