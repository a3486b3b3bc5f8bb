"""Microversion negotiation: every parsing rule of spec §2.1."""

from __future__ import annotations

import pytest

from dockyard.api import versions
from dockyard.api.versions import UnsupportedVersion, headers, negotiate
from dockyard.domain.errors import NotAcceptable


def test_range() -> None:
    assert versions.MIN_VERSION == (1, 1)
    assert versions.MAX_VERSION == (1, 40)


def test_absent_header_means_1_1() -> None:
    assert negotiate(None) == (1, 1)


@pytest.mark.parametrize(
    ("header", "version"),
    [
        ("container 1.1", (1, 1)),
        ("container 1.12", (1, 12)),
        ("container 1.40", (1, 40)),
        ("container 1.01", (1, 1)),  # <int>.<int>: leading zeros are still integers
        ("  container\t1.25  ", (1, 25)),  # split on any whitespace
    ],
)
def test_valid_versions(header: str, version: tuple[int, int]) -> None:
    assert negotiate(header) == version


@pytest.mark.parametrize("value", ["latest", "LATEST", "Latest", "lAtEsT"])
def test_latest_in_any_case(value: str) -> None:
    assert negotiate(f"container {value}") == (1, 40)


def test_latest_is_checked_before_the_service_token() -> None:
    # Rule 2 precedes rule 3 in spec §2.1.
    assert negotiate("Container latest") == (1, 40)


def _rejected(header: str) -> NotAcceptable:
    with pytest.raises(NotAcceptable) as info:
        negotiate(header)
    assert info.value.status == 406
    return info.value


@pytest.mark.parametrize(
    "header",
    [
        "",  # no token at all
        "container",  # one token
        "1.5",
        "container 1.5 extra",  # three tokens
        "container 1.5, compute 2.1",  # multi-service value
        "container 1 .5",
    ],
)
def test_not_exactly_two_tokens(header: str) -> None:
    error = _rejected(header)

    assert type(error) is NotAcceptable
    assert "service type" in error.detail


@pytest.mark.parametrize("service", ["compute", "Container", "CONTAINER", "containers"])
def test_bad_service(service: str) -> None:
    error = _rejected(f"{service} 1.5")

    assert type(error) is NotAcceptable
    assert "service type" in error.detail
    assert service in error.detail


@pytest.mark.parametrize("value", ["1", "1.2.3", "a.b", "1.", ".1", "v1.2", "1.x", "-1.2", "1,2"])
def test_malformed_value(value: str) -> None:
    error = _rejected(f"container {value}")

    assert type(error) is NotAcceptable
    assert "value" in error.detail
    assert value in error.detail


@pytest.mark.parametrize(
    ("value", "requested"),
    [
        ("2.0", (2, 0)),
        ("0.9", (0, 9)),
        ("1.0", (1, 0)),
        ("1.41", (1, 41)),
        ("1.100", (1, 100)),
        ("2.1", (2, 1)),
    ],
)
def test_out_of_range(value: str, requested: tuple[int, int]) -> None:
    error = _rejected(f"container {value}")

    assert isinstance(error, UnsupportedVersion)
    assert error.requested == requested
    assert error.title == "Requested microversion is unsupported"
    assert f"Version {value}" in error.detail
    assert "[container 1.1, container 1.40]" in error.detail


@pytest.mark.parametrize("version", [(1, 1), (1, 12), (1, 40), (1, 41)])
def test_headers(version: tuple[int, int]) -> None:
    assert headers(version) == [
        ("OpenStack-API-Minimum-Version", "container 1.1"),
        ("OpenStack-API-Maximum-Version", "container 1.40"),
        ("OpenStack-API-Version", f"container {version[0]}.{version[1]}"),
        ("Vary", "OpenStack-API-Version"),
    ]


def test_fmt() -> None:
    assert versions.fmt((1, 5)) == "1.5"
    assert versions.fmt((1, 40)) == "1.40"
