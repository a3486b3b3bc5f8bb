from __future__ import annotations

from dockyard.compute.freshness import KEEP_FOR, Freshness


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_an_event_at_or_before_the_mark_is_covered() -> None:
    clock = Clock()
    fresh = Freshness(clock)
    fresh.mark("a")

    assert fresh.covers("a", 4999.0)
    assert fresh.covers("a", 5000.0)
    assert not fresh.covers("a", 5000.001)


def test_unmarked_containers_and_untimed_events_are_never_covered() -> None:
    fresh = Freshness(Clock())
    fresh.mark("a")

    assert not fresh.covers("b", 1.0)
    assert not fresh.covers("a", None)


def test_a_later_mark_moves_the_horizon() -> None:
    clock = Clock()
    fresh = Freshness(clock)
    fresh.mark("a")
    clock.now += 3
    fresh.mark("a")

    assert fresh.covers("a", 5002.5)


def test_old_marks_are_forgotten() -> None:
    clock = Clock()
    fresh = Freshness(clock)
    fresh.mark("old")
    clock.now += KEEP_FOR + 1
    fresh.mark("new")

    assert not fresh.covers("old", 4000.0)
    assert fresh.covers("new", clock.now)
