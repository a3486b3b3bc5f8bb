"""ETags and the Prefer: wait preference of a GET of one container."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from dockyard.api import conditions


def request(**headers: str) -> Request:
    return Request(EnvironBuilder(headers=headers).get_environ())


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        ("wait=5", 5.0),
        ("respond-async, wait=7", 7.0),
        ("WAIT = 3", 3.0),
        ("wait=999", 20.0),  # capped at max_wait
        ("wait=-1", 0.0),
        ("wait=soon", 0.0),
        ("handling=lenient", 0.0),
    ],
)
def test_the_preferred_wait_is_read_and_capped(prefer: str, expected: float) -> None:
    assert conditions.preferred_wait(request(Prefer=prefer), 20) == expected


def test_no_preference_means_no_wait() -> None:
    assert conditions.preferred_wait(request(), 20) == 0.0


def test_the_tag_follows_the_content() -> None:
    body, tag = conditions.tagged({"status": "Running"})
    assert body == b'{"status": "Running"}'
    assert conditions.tagged({"status": "Running"})[1] == tag
    assert conditions.tagged({"status": "Stopped"})[1] != tag


def test_if_none_match_compares_weakly_and_honours_the_star() -> None:
    _, tag = conditions.tagged({"a": 1})
    assert conditions.if_none_match(request(**{"If-None-Match": f'W/"{tag}"'})).contains_weak(tag)
    assert conditions.if_none_match(request(**{"If-None-Match": "*"})).contains_weak(tag)
    assert not conditions.if_none_match(request()).contains_weak(tag)


def test_not_modified_carries_the_tag_and_what_was_applied() -> None:
    answer = conditions.not_modified("abc", waited=5)
    assert answer.status_code == 304
    assert answer.headers["ETag"] == '"abc"'
    assert answer.headers["Preference-Applied"] == "wait=5"
    assert "Preference-Applied" not in conditions.tagged_response(b"{}", "abc").headers
