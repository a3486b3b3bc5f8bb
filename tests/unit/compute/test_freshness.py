from __future__ import annotations

from dockyard.compute.freshness import KEEP_FOR, Freshness
from tests.fakes.clock import FakeClock


def test_an_event_at_or_before_the_mark_is_covered() -> None:
    clock = FakeClock(ticks=5000.0)
    fresh = Freshness(clock.monotonic)
    fresh.mark("a")

    assert fresh.covers("a", 4999.0)
    assert fresh.covers("a", 5000.0)
    assert not fresh.covers("a", 5000.001)


def test_unmarked_containers_and_untimed_events_are_never_covered() -> None:
    fresh = Freshness(FakeClock(ticks=5000.0).monotonic)
    fresh.mark("a")

    assert not fresh.covers("b", 1.0)
    assert not fresh.covers("a", None)


def test_a_later_mark_moves_the_horizon() -> None:
    clock = FakeClock(ticks=5000.0)
    fresh = Freshness(clock.monotonic)
    fresh.mark("a")
    clock.advance(3)
    fresh.mark("a")

    assert fresh.covers("a", 5002.5)


def test_old_marks_are_forgotten() -> None:
    clock = FakeClock(ticks=5000.0)
    fresh = Freshness(clock.monotonic)
    fresh.mark("old")
    clock.advance(KEEP_FOR + 1)
    fresh.mark("new")

    assert not fresh.covers("old", 4000.0)
    assert fresh.covers("new", clock.monotonic())
