"""The error hierarchy: HTTP statuses, wire slugs and the RPC round trip."""

from __future__ import annotations

import json

import pytest

from dockyard.domain import errors as E


class Base64Exception(E.InvalidInput):
    code = E._slug("Base64Exception")


class PortNotUsable(E.InvalidInput):
    pass  # no code of its own: derived from the class name


class HTTPProxyRefused(E.Conflict):
    pass


class ContainerAlreadyExists(E.Conflict):
    pass


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Base64Exception", "base-64-exception"),
        ("ContainerNotFound", "container-not-found"),
        ("InvalidStateException", "invalid-state-exception"),
        ("PortNotUsable", "port-not-usable"),
        ("HTTPProxyRefused", "http-proxy-refused"),
        ("Conflict", "conflict"),
        ("Net2Net", "net-2-net"),
        ("Over9000Errors", "over-9000-errors"),
    ],
)
def test_slug(name: str, slug: str) -> None:
    assert E._slug(name) == slug


def test_subclasses_without_a_code_get_their_slug() -> None:
    assert Base64Exception.code == "base-64-exception"
    assert PortNotUsable.code == "port-not-usable"
    assert HTTPProxyRefused.code == "http-proxy-refused"
    assert ContainerAlreadyExists.code == "container-already-exists"
    assert PortNotUsable.status == 400
    assert ContainerAlreadyExists.status == 409


def test_an_explicit_code_is_kept() -> None:
    class Renamed(E.NotFound):
        code = "something-else"

    assert Renamed.code == "something-else"


# class -> (HTTP status, wire slug), from spec §3.5; unlike Zun, 406, 415 and the
# server-side classes have a slug too (the base class's empty one renders the phrase).
TABLE: dict[type[E.DockyardError], tuple[int, str]] = {
    E.DockyardError: (500, ""),
    E.InvalidInput: (400, "invalid-value"),
    E.SchemaValidationError: (400, "schema-validation-error"),
    E.InvalidParamInVersion: (400, "invalid-param-in-version"),
    E.InvalidParameterValue: (400, "invalid-parameter-value"),
    E.InvalidImage: (400, "image-not-found"),
    E.InvalidRequest: (400, "invalid"),
    E.Forbidden: (403, "policy-not-authorized"),
    E.NotFound: (404, "resource-not-found"),
    E.ContainerNotFound: (404, "container-not-found"),
    E.RequestedHostNotFound: (404, "requested-host-not-found"),
    E.NotAcceptable: (406, "not-acceptable"),
    E.Conflict: (409, "conflict"),
    E.InvalidState: (409, "invalid-state-exception"),
    E.UnsupportedMediaType: (415, "unsupported-media-type"),
    E.Unavailable: (503, "unavailable"),
    E.DriverError: (502, "driver-error"),
}


@pytest.mark.parametrize("cls", list(TABLE), ids=lambda c: c.__name__)
def test_status_and_code(cls: type[E.DockyardError]) -> None:
    status, code = TABLE[cls]

    assert cls.status == status
    assert cls.code == code


def test_no_valid_host_is_unavailable() -> None:
    assert issubclass(E.NoValidHost, E.Unavailable)
    assert E.NoValidHost.status == 503


def test_the_hierarchy() -> None:
    assert issubclass(E.InvalidImage, E.InvalidInput)
    assert issubclass(E.ContainerNotFound, E.NotFound)
    assert issubclass(E.InvalidState, E.Conflict)
    assert all(issubclass(cls, E.DockyardError) for cls in TABLE)


ROUND_TRIP = [*TABLE, E.NoValidHost, Base64Exception, PortNotUsable]


@pytest.mark.parametrize("cls", ROUND_TRIP, ids=lambda c: c.__name__)
def test_wire_round_trip_keeps_class_detail_and_fields(cls: type[E.DockyardError]) -> None:
    original = cls("it broke: 'x'", field="image", count=3, nested={"a": [1, 2]})

    wire = json.loads(json.dumps(original.to_wire()))  # as a transport would carry it
    back = E.DockyardError.from_wire(wire)

    assert type(back) is cls
    assert back.detail == "it broke: 'x'"
    assert str(back) == "it broke: 'x'"
    assert back.fields == {"field": "image", "count": 3, "nested": {"a": [1, 2]}}
    assert back.status == cls.status
    assert back.code == cls.code


def test_to_wire_shape() -> None:
    wire = E.ContainerNotFound("Container abc could not be found.", ident="abc").to_wire()

    assert wire == {
        "type": "ContainerNotFound",
        "detail": "Container abc could not be found.",
        "fields": {"ident": "abc"},
    }


@pytest.mark.parametrize(
    "wire",
    [
        {"type": "NoSuchClass", "detail": "d", "fields": {}},
        {"type": None, "detail": "d"},
        {"detail": "d"},
    ],
)
def test_unknown_type_becomes_the_base_error(wire: dict[str, object]) -> None:
    back = E.DockyardError.from_wire(wire)

    assert type(back) is E.DockyardError
    assert back.detail == "d"
    assert back.fields == {}


def test_from_wire_tolerates_missing_detail_and_fields() -> None:
    back = E.DockyardError.from_wire({"type": "Conflict"})

    assert type(back) is E.Conflict
    assert back.detail == ""
    assert back.fields == {}


def test_registry_holds_every_subclass() -> None:
    for cls in ROUND_TRIP:
        if cls is not E.DockyardError:
            assert E.DockyardError.registry[cls.__name__] is cls
