"""Reading block-storage requests: the microversion header, create bodies, list queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.api.block_storage import microversion, parse
from dockyard.api.keystone_auth import is_public as keystone_public
from dockyard.api.local_auth import is_public as local_public
from dockyard.domain.errors import InvalidInput, NotAcceptable, NotFound


@pytest.mark.parametrize(
    ("header", "version"),
    [
        (None, (3, 0)),
        ("", (3, 0)),
        ("compute 2.1", (3, 0)),
        ("volume 3.0", (3, 0)),
        ("volume 3.27", (3, 27)),
        ("Volume 3.60", (3, 60)),
        ("volume latest", (3, 60)),
        ("compute 2.1, volume 3.44", (3, 44)),
    ],
)
def test_the_version_asked_for(header: str | None, version: tuple[int, int]) -> None:
    assert microversion.requested(header) == version


@pytest.mark.parametrize("header", ["volume 3", "volume 3.x", "volume 03.1", "volume v3.1"])
def test_a_malformed_version_is_400(header: str) -> None:
    with pytest.raises(InvalidInput, match="invalid format"):
        microversion.requested(header)


@pytest.mark.parametrize("header", ["volume 3.61", "volume 2.0", "volume 4.0"])
def test_a_version_outside_the_range_is_406(header: str) -> None:
    with pytest.raises(NotAcceptable, match="maximum is 3.60"):
        microversion.requested(header)


def body(volume: Any, **extra: Any) -> bytes:
    return json.dumps({"volume": volume, **extra}).encode()


def test_a_create_as_the_sdk_sends_it() -> None:
    nulls = dict.fromkeys(
        ("source_volid", "backup_id", "volume_type", "availability_zone", "metadata",
         "snapshot_id", "description", "imageRef", "consistencygroup_id"),
    )  # fmt: skip
    made = parse.create(body({**nulls, "size": 1, "name": "data"}))
    assert made == parse.CreateRequest(size=1, name="data", description="")


def test_old_names_and_the_default_type_are_taken() -> None:
    made = parse.create(
        body({"size": "2", "display_name": "n", "display_description": "d", "volume_type": ""})
    )
    assert made == parse.CreateRequest(size="2", name="n", description="d")
    assert parse.create(body({"size": 1, "volume_type": "__DEFAULT__"})).size == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "Missing required element 'volume'"),
        (b"[]", "Missing required element 'volume'"),
        (body({"size": 1}, other=1), "'other' were unexpected"),
        (body({"size": 1}, **{"OS-SCH-HNT:scheduler_hints": {"a": 1}}), "scheduler hints"),
        (body("x"), "expected an object"),
        (body({"size": 1, "bogus": 1}), "'bogus' were unexpected"),
        (body({"size": 1, "source_volid": "v"}), "source_volid"),
        (body({"size": 1, "availability_zone": "az1"}), "availability_zone"),
        (body({"size": 1, "name": "a", "display_name": "b"}), "both given"),
        (body({"name": "a"}), "size of a new volume is required"),
        (body({"size": 1, "description": ["x"]}), "not a string"),
    ],
)
def test_bad_creates(data: bytes, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse.create(data)


def test_an_unknown_volume_type_is_404() -> None:
    with pytest.raises(NotFound, match="ssd"):
        parse.create(body({"size": 1, "volume_type": "ssd"}))


def test_list_queries() -> None:
    query = parse.list_query(
        {"name": ["data"], "limit": ["5"], "sort": ["size:asc,name"], "all_tenants": ["True"]}
    )
    assert query.filters == {"name": "data"} and query.limit == 5
    assert query.sort == [("size", False), ("name", True)] and query.all_tenants
    legacy = parse.list_query({"sort_key": ["name,size"], "sort_dir": ["asc"]})
    assert legacy.sort == [("name", False), ("size", True)]
    assert parse.list_query({}) == parse.ListQuery(filters={})


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"colour": ["red"]}, "Invalid filters colour"),
        ({"limit": ["-1"]}, "limit param must be an integer"),
        ({"offset": ["x"]}, "offset param must be an integer"),
        ({"sort": ["size:up"]}, "sort direction"),
        ({"sort": ["colour"]}, "sort key"),
        ({"sort": ["size"], "sort_dir": ["asc"]}, "cannot be used"),
        ({"with_count": ["maybe"]}, "not a boolean"),
    ],
)
def test_bad_list_queries(query: dict[str, list[str]], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse.list_query(query)


def test_delete_queries() -> None:
    parse.delete_query({"cascade": ["False"], "force": ["false"]})
    with pytest.raises(InvalidInput):
        parse.delete_query({"purge": ["1"]})
    with pytest.raises(InvalidInput):
        parse.delete_query({"force": ["sometimes"]})


@pytest.mark.parametrize("is_public", [local_public, keystone_public])
def test_only_the_version_documents_are_public(is_public: Any) -> None:
    assert is_public("/volume") and is_public("/volume/") and is_public("/volume/v3/")
    assert not is_public("/volume/v3/p1/volumes")
    assert not is_public("/volume/v3/p1")
