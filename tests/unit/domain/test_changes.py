"""The feed that wakes requests waiting for a container record to change."""

from __future__ import annotations

import threading

from dockyard.domain.changes import ChangeFeed


def test_a_change_wakes_only_the_watchers_of_that_record() -> None:
    feed = ChangeFeed(complete=True)
    with feed.watch("a") as on_a, feed.watch("b") as on_b:
        assert on_a is not None and on_b is not None
        feed.changed("a")
        assert on_a.is_set() and not on_b.is_set()


def test_a_change_from_another_thread_ends_the_wait() -> None:
    feed = ChangeFeed(complete=True)
    with feed.watch("a") as event:
        assert event is not None
        threading.Timer(0.05, feed.changed, args=("a",)).start()
        assert event.wait(5)


def test_watchers_beyond_the_limit_are_not_admitted_and_leave_no_trace() -> None:
    feed = ChangeFeed(complete=True, max_waiters=1)
    with feed.watch("a") as first, feed.watch("a") as second:
        assert first is not None and second is None
    with feed.watch("a") as again:
        assert again is not None  # the slot came back


def test_closing_wakes_every_watcher_and_admits_no_more() -> None:
    feed = ChangeFeed(complete=True)
    with feed.watch("a") as event:
        feed.close()
        assert event is not None and event.is_set()
    with feed.watch("a") as late:
        assert late is None


def test_an_incomplete_feed_makes_waiters_look_again_soon() -> None:
    feed = ChangeFeed(complete=False, fallback=0.25)
    assert feed.timeout(10) == 0.25
    feed.complete = True
    assert feed.timeout(10) == 10


def test_everything_changed_wakes_all() -> None:
    feed = ChangeFeed(complete=True)
    with feed.watch("a") as on_a, feed.watch("b") as on_b:
        feed.changed_all()
        assert on_a is not None and on_a.is_set() and on_b is not None and on_b.is_set()
