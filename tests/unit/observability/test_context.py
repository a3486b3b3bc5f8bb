"""The request scope: bound per block, read back, and rebuilt from what a peer sent."""

from __future__ import annotations

import threading

from dockyard.observability.context import RequestScope, bind, bound, current


def test_bound_sets_and_restores_the_scope() -> None:
    outer = RequestScope("req-outer", "u1", "p1")
    assert current() is None
    with bound(outer):
        assert current() == outer
        with bound(None):
            assert current() is None
        bind(RequestScope("req-outer", "u2", "p2"))  # the caller, once authenticated
        assert current() == RequestScope("req-outer", "u2", "p2")
    assert current() is None


def test_other_threads_do_not_see_the_scope() -> None:
    seen: list[RequestScope | None] = []
    with bound(RequestScope("req-1")):
        thread = threading.Thread(target=lambda: seen.append(current()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_a_scope_survives_the_trip_through_a_dict() -> None:
    scope = RequestScope("req-1", "user", "project")
    assert RequestScope.from_dict(scope.as_dict()) == scope


def test_a_peer_sending_nothing_or_nonsense_gives_no_scope() -> None:
    assert RequestScope.from_dict({}) is None
    assert RequestScope.from_dict({"request_id": ""}) is None
    assert RequestScope.from_dict({"request_id": 5}) is None
    odd = RequestScope.from_dict({"request_id": "r" * 1000, "user_id": 3, "project_id": None})
    assert odd == RequestScope("r" * 128, "", "")
