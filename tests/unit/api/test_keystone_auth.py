"""Which requests bypass keystonemiddleware: only the two discovery documents."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from dockyard.api.keystone_auth import PublicBypass, is_public

PUBLIC = ["/", "", "/v1", "/v1/", "/.json", "/v1.json", "/v1.json/", "//"]
PROTECTED = [
    "/v1/containers",
    "/containers",
    "/v1/containers/",
    "/v1/.json",
    "/v2",
    "/v1x",
    "/v1/../v1/containers",
    "/v3/auth/tokens",
]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_paths(path: str) -> None:
    assert is_public(path)


@pytest.mark.parametrize("path", PROTECTED)
def test_everything_else_is_protected(path: str) -> None:
    assert not is_public(path)


def _answer(name: str) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [name.encode()]

    return app


@pytest.mark.parametrize(("path", "reached"), [("/v1/", b"app"), ("/v1/containers", b"auth")])
def test_dispatch(path: str, reached: bytes) -> None:
    bypass = PublicBypass(_answer("app"), _answer("auth"))

    assert list(bypass({"PATH_INFO": path}, lambda *a: None)) == [reached]
