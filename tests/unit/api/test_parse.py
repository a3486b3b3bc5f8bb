"""From a schema-valid create body to NewContainer: the fields Docker now honours."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api import parse
from dockyard.domain.errors import InvalidInput

LATEST = (1, 40)


def parsed(version: tuple[int, int] = LATEST, **body: Any) -> Any:
    return parse.new_container({"image": "busybox", **body}, version)


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ({"80": {}}, ("80/tcp",)),
        ({"0080": {}, "80/tcp": {}}, ("80/tcp",)),
        ({"8080/tcp": {}, "53/udp": {}}, ("53/udp", "8080/tcp")),
        ({}, ()),
        (None, ()),
    ],
)
def test_exposed_ports_are_normalised(ports: Any, expected: tuple[str, ...]) -> None:
    assert parsed(exposed_ports=ports).exposed_ports == expected


@pytest.mark.parametrize(("disk", "expected"), [(None, None), (5, 5), ("10", 10)])
def test_disk_is_passed_on(disk: Any, expected: int | None) -> None:
    assert parsed(disk=disk).disk == expected


@pytest.mark.parametrize("policy", ["shared", "dedicated"])
def test_cpu_policy_is_passed_on(policy: str) -> None:
    assert parsed(cpu_policy=policy).cpu_policy == policy


@pytest.mark.parametrize(
    "body",
    [
        {"nets": [{"network": "private"}]},
        {"mounts": [{"source": "data", "destination": "/data"}]},
        {"security_groups": ["default"]},
    ],
    ids=lambda body: next(iter(body)),
)
def test_unsupported_fields_are_refused_by_name(body: dict[str, Any]) -> None:
    (field,) = body
    with pytest.raises(InvalidInput) as raised:
        parsed(**body)

    assert raised.value.detail.startswith(f"{field}:")
