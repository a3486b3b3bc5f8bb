"""Bodies built to break the parser: each is refused with a precise 4xx, never a 500."""

from __future__ import annotations

import io
import json
from typing import Any, cast

import pytest
from werkzeug.test import Client, TestResponse

from dockyard.api.app import DockyardApp, Services
from dockyard.api.auth import NoAuth
from dockyard.api.body_limit import BodyLimit
from dockyard.api.json_body import parse_json
from dockyard.api.schemas.containers import Limits
from dockyard.cmd.authentication import REFUSALS
from dockyard.domain.errors import InvalidInput

LIMIT = 2**20  # the default of [api] max_request_body_size
LATEST = {"OpenStack-API-Version": "container 1.40"}


class Untouchable:
    """Services a refused body must never reach, beyond the bounds its schema reads."""

    limits = Limits()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refused request used services.{name}")


def client(limit: int = LIMIT) -> Client:
    app = DockyardApp(cast(Services, Untouchable()), NoAuth("user", "project"))
    return Client(BodyLimit(app, limit))


def create(body: bytes, **kw: Any) -> TestResponse:
    headers = {**LATEST, "Content-Type": "application/json"}
    return client().post("/v1/containers", data=body, headers=headers, **kw)


def only_error(response: TestResponse) -> dict[str, Any]:
    [error] = response.get_json()["errors"]
    return cast(dict[str, Any], error)


def test_deeply_nested_arrays_are_a_400() -> None:
    depth = 100_000
    response = create(b"[" * depth + b"]" * depth)

    assert response.status_code == 400
    error = only_error(response)
    assert error["code"] == "container.invalid-value"
    assert "too deeply" in error["detail"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_a_400(constant: str) -> None:
    response = create(f'{{"image": "busybox", "cpu": {constant}}}'.encode())

    assert response.status_code == 400
    error = only_error(response)
    assert error["code"] == "container.invalid-value"
    assert f"{constant} is not a JSON number" in error["detail"]


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"a": {"b": -Infinity}}'])
def test_the_parser_refuses_what_json_does_not_allow(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_json(text)


def test_the_parser_keeps_ordinary_numbers() -> None:
    assert parse_json(b'{"cpu": 1.5e0, "memory": -0, "big": 1e308}') == {
        "cpu": 1.5,
        "memory": 0,
        "big": 1e308,
    }


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.taken += count
        return count


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    body = CountingStream(json.dumps({"image": "x" * (20 * 2**20)}).encode())
    headers = {**LATEST, "Content-Type": "application/json"}
    response = client().post(
        "/v1/containers",
        input_stream=body,
        headers={**headers, "Content-Length": str(len(body.getvalue()))},
    )

    assert response.status_code == 413
    error = only_error(response)
    assert error["code"] == "container.request-entity-too-large"
    assert str(LIMIT) in error["detail"]
    assert body.taken == 0


def test_a_body_without_a_length_is_cut_at_the_limit() -> None:
    body = CountingStream(b'{"image": "' + b"x" * (4 * LIMIT) + b'"}')
    headers = {**LATEST, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    response = client().post(
        "/v1/containers",
        input_stream=body,
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert only_error(response)["code"] == "container.request-entity-too-large"
    assert body.taken <= LIMIT + 64 * 1024  # never more than one read past the limit


def test_a_body_at_the_limit_reaches_the_application() -> None:
    # Exactly LIMIT bytes of invalid JSON: refused by the parser (400), not by the size.
    response = create(b"{" + b" " * (LIMIT - 1))

    assert response.status_code == 400
    assert "not valid JSON" in only_error(response)["detail"]


def test_an_unsupported_media_type_has_a_code() -> None:
    response = client().post("/v1/containers", data=b"{}", headers=LATEST)

    assert response.status_code == 415
    assert only_error(response)["code"] == "container.unsupported-media-type"


@pytest.mark.parametrize("depth", [500, 990, 5_000])
@pytest.mark.parametrize("field", ["labels", "command", "nets", "environment"])
def test_nesting_under_a_field_is_a_400(depth: int, field: str) -> None:
    nested = b"[" * depth + b"]" * depth
    response = create(b'{"image": "busybox", "%s": %s}' % (field.encode(), nested))

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v2.0/networks", "NeutronError"),
        ("/volume/v3/p/volumes", "overLimit"),
        ("/v3/auth/tokens", "error"),
        ("/v1/containers", "errors"),
    ],
)
def test_an_oversized_body_is_refused_in_the_error_shape_of_its_api(path: str, shape: str) -> None:
    """Regression: the 413 was the Zun errors body on every path, which no Neutron,
    Cinder or Keystone client (nor the OpenAPI document) expects there."""
    limited = Client(BodyLimit(cast(Any, Untouchable()), LIMIT, REFUSALS))
    response = limited.post(
        path, data=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert list(response.get_json()) == [shape]
