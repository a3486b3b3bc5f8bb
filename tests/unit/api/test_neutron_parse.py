"""Neutron list queries and bodies: filters, sorting, paging, fields, strictness."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dockyard.api.neutron import parse, schemas
from dockyard.domain.errors import InvalidInput

ITEMS = [
    {"id": "a", "name": "web", "shared": False, "fixed_ips": [{"ip_address": "10.0.0.5"}]},
    {"id": "b", "name": "db", "shared": True, "fixed_ips": [{"ip_address": "10.0.0.6"}]},
    {"id": "c", "name": "web", "shared": True, "fixed_ips": []},
]


def listed(**query: list[str]) -> dict[str, Any]:
    return parse.select([dict(i) for i in ITEMS], query, "ports", lambda q: f"/v2.0/ports?{q}")


def ids(result: dict[str, Any]) -> list[str]:
    return [item["id"] for item in result["ports"]]


def test_filters_match_exactly_and_repeat_as_any_of() -> None:
    assert ids(listed(name=["web"])) == ["a", "c"]
    assert ids(listed(id=["a", "b"])) == ["a", "b"]
    assert ids(listed(shared=["True"])) == ["b", "c"]
    assert ids(listed(name=["web"], shared=["false"])) == ["a"]
    assert ids(listed(fixed_ips=["ip_address=10.0.0.6"])) == ["b"]
    assert ids(listed(name=["nope"])) == []
    with pytest.raises(InvalidInput, match="invalid attribute for filtering"):
        listed(colour=["red"])


def test_sorting_paging_and_fields() -> None:
    assert ids(listed(sort_key=["name"], sort_dir=["desc"])) == ["a", "c", "b"]
    first = listed(limit=["2"])
    assert ids(first) == ["a", "b"]
    assert first["ports_links"] == [{"rel": "next", "href": "/v2.0/ports?limit=2&marker=b"}]
    rest = listed(limit=["2"], marker=["b"])
    assert ids(rest) == ["c"] and "ports_links" not in rest
    assert listed(fields=["id"], name=["db"]) == {"ports": [{"id": "b"}]}
    for bad in ({"sort_dir": ["up"], "sort_key": ["name"]}, {"limit": ["x"]}, {"limit": ["-1"]}):
        with pytest.raises(InvalidInput):
            listed(**bad)


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b'{"port": []}', b'{"network": {}}', b'{"port": {}, "extra": 1}', b"{bad"],
)
def test_bodies_must_hold_exactly_the_resource_object(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse.body(data, "port")


def test_values_are_typed_strictly() -> None:
    assert parse.body(b'{"port": {"name": "x"}}', "port") == {"name": "x"}
    assert parse.boolean({"v": "TRUE"}, "v", False) is True
    for call in (
        lambda: parse.boolean({"v": 1}, "v", False),
        lambda: parse.integer({"v": True}, "v"),
        lambda: parse.integer({"v": "8o"}, "v"),
        lambda: parse.string({"v": "x" * 256}, "v"),
        lambda: parse.strings({"v": ["a", 1]}, "v"),
        lambda: parse.project({"project_id": "a", "tenant_id": "b"}),
        lambda: parse.integer({"v": "--5"}, "v"),
        lambda: parse.integer({"v": "\u00b2"}, "v"),
    ):
        with pytest.raises(InvalidInput):
            call()
    assert parse.project({"tenant_id": "t"}) == "t"


@pytest.mark.parametrize(
    ("resource", "action", "fields", "words"),
    [
        ("network", "create", {"colour": "red"}, "Unrecognized attribute(s) 'colour'"),
        ("network", "create", {"mtu": True}, "Invalid input for mtu"),
        ("network", "create", {"shared": 1}, "Invalid input for shared"),
        ("network", "update", {"description": "d"}, "Dockyard supports only ''"),
        ("subnet", "create", {"network_id": "n"}, "Required attribute 'cidr'"),
        ("port", "create", {"network_id": "n", "fixed_ips": [{"x": 1}]}, "fixed_ips"),
        ("port", "create", {"network_id": "n", "mac_address": 5}, "mac_address"),
        ("security_group_rule", "create", {"security_group_id": "g", "direction": "ingress",
                                           "protocol": True}, "protocol"),
    ],
)  # fmt: skip
def test_bodies_are_checked_against_the_published_schema(
    resource: str, action: str, fields: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(words)):
        schemas.check(fields, resource, action)


def test_what_the_schema_allows_passes() -> None:
    schemas.check({"name": "n", "shared": "True", "mtu": "1400"}, "network", "create")
    schemas.check({"network_id": "n", "cidr": "10.0.0.0/24", "description": ""}, "subnet", "create")
