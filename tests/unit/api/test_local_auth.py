"""The local token middleware and the /v3 request parsing, without a server."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from werkzeug.test import Client

from dockyard.api.identity_v3 import IdentityApp, parse_password_auth, token_body
from dockyard.api.local_auth import LocalTokenMiddleware, PrefixDispatcher, is_public
from dockyard.domain.errors import InvalidInput, Unauthorized
from dockyard.domain.identity import Claims, Project, TokenInfo, User
from dockyard.service.identity import IdentityService, Ref
from dockyard.service.tokens import InvalidToken

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
INFO = TokenInfo(
    Claims("ab" * 16, "u1", "p1", ("member",), NOW, NOW + dt.timedelta(hours=1)),
    User("u1", "alice"),
    Project("p1", "team-a"),
    ("member", "reader"),
)


class Tokens:
    def validate(self, token: str) -> TokenInfo:
        if token != "good":
            raise InvalidToken("bad token")
        return INFO


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    seen = sorted(f"{k}={v}" for k, v in environ.items() if k.startswith("HTTP_X_"))
    return ["\n".join(seen).encode()]


def client() -> Client:
    return Client(LocalTokenMiddleware(echo_app, cast(IdentityService, Tokens())))


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("/", True),
        ("", True),
        ("/.json", True),
        ("/v1", True),
        ("/v1/", True),
        ("/v1.json", True),
        ("/v3", True),
        ("/v3/auth/tokens", True),
        ("/v1/containers", False),
        ("/containers", False),
        ("/v1/containers.json", False),
        ("/v3x", False),
        ("/v10", False),
    ],
)
def test_public_paths(path: str, public: bool) -> None:
    assert is_public(path) is public


def test_valid_token_sets_identity_and_replaces_spoofed_headers() -> None:
    spoofed = {
        "X-User-Id": "root",
        "X-Roles": "admin",
        "X-Project-Id": "other",
        "X-Tenant-Id": "other",
        "X-Service-Roles": "admin",
        "X_Roles": "admin",
    }
    response = client().get("/v1/containers", headers={"X-Auth-Token": "good", **spoofed})
    assert response.status_code == 200
    seen = dict(line.split("=", 1) for line in response.get_data(as_text=True).splitlines())
    assert seen["HTTP_X_USER_ID"] == "u1"
    assert seen["HTTP_X_PROJECT_ID"] == "p1"
    assert seen["HTTP_X_PROJECT_NAME"] == "team-a"
    assert seen["HTTP_X_ROLES"] == "member,reader"
    assert seen["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert "HTTP_X_TENANT_ID" not in seen
    assert "HTTP_X_SERVICE_ROLES" not in seen


@pytest.mark.parametrize("token", [None, "", "bad"])
def test_missing_or_bad_token_is_401(token: str | None) -> None:
    headers = {"X-Auth-Token": token} if token is not None else {}
    response = client().get("/v1/containers", headers={**headers, "X-User-Id": "root"})
    assert response.status_code == 401
    assert response.json == {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
    assert response.headers["WWW-Authenticate"] == 'Keystone uri="http://localhost/v3"'


def test_public_routes_pass_without_identity() -> None:
    response = client().get("/v1", headers={"X-User-Id": "root", "X-Roles": "admin"})
    assert response.status_code == 200
    assert response.get_data() == b""


def test_dispatcher_sends_v3_to_identity() -> None:
    def identity(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"identity"]

    app = Client(PrefixDispatcher("/v3", identity, echo_app))
    assert app.get("/v3").get_data() == b"identity"
    assert app.get("/v3/auth/tokens").get_data() == b"identity"
    assert app.get("/v30").get_data() == b""
    assert app.get("/").get_data() == b""


def auth(user: dict[str, Any], project: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
        }
    }
    if project is not None:
        body["auth"]["scope"] = {"project": project}
    return body


def test_parse_password_auth_by_name_and_by_id() -> None:
    named = auth(
        {"name": "alice", "domain": {"name": "Default"}, "password": "pw"},
        {"name": "team-a", "domain": {"id": "default"}},
    )
    assert parse_password_auth(named) == (Ref(name="alice"), "pw", Ref(name="team-a"))
    by_id = auth({"id": "u1", "password": "pw"}, {"id": "p1"})
    assert parse_password_auth(by_id) == (Ref(id="u1"), "pw", Ref(id="p1"))


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"auth": {}},
        auth({"password": "pw"}, {"name": "p"}),
        auth({"name": "alice"}, {"name": "p"}),
        auth({"name": "alice", "password": 5}, {"name": "p"}),
    ],
)
def test_parse_rejects_malformed_requests(body: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_password_auth(body)


@pytest.mark.parametrize(
    "body",
    [
        auth({"name": "alice", "password": "pw"}, None),
        auth({"name": "alice", "password": "pw", "domain": {"id": "other"}}, {"name": "p"}),
        auth({"name": "alice", "password": "pw"}, {"name": "p", "domain": {"name": "Other"}}),
        {"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}}},
    ],
)
def test_parse_refuses_what_local_identity_cannot_do(body: Any) -> None:
    with pytest.raises(Unauthorized):
        parse_password_auth(body)


def test_token_body_is_keystone_shaped() -> None:
    token = token_body(INFO, "http://h:1")["token"]
    assert token["expires_at"] == "2030-01-01T01:00:00.000000Z"
    assert token["issued_at"] == "2030-01-01T00:00:00.000000Z"
    assert [r["name"] for r in token["roles"]] == ["member", "reader"]
    container = next(s for s in token["catalog"] if s["type"] == "container")
    assert {e["url"] for e in container["endpoints"]} == {"http://h:1/v1"}
    assert "catalog" not in token_body(INFO, "http://h:1", catalog=False)["token"]


def test_the_network_service_is_this_server_neutron_or_none() -> None:
    def network_urls(token: dict[str, Any]) -> set[str]:
        return {
            e["url"] for s in token["catalog"] if s["type"] == "network" for e in s["endpoints"]
        }

    assert network_urls(token_body(INFO, "http://h:1")["token"]) == {"http://h:1/"}
    neutron = token_body(INFO, "http://h:1", network=lambda base: "http://neutron:9696/")
    assert network_urls(neutron["token"]) == {"http://neutron:9696/"}
    token = token_body(INFO, "http://h:1", network=lambda base: None)["token"]
    assert {s["type"] for s in token["catalog"]} == {"container", "identity", "block-storage"}


def test_identity_app_errors_are_keystone_shaped() -> None:
    app = Client(IdentityApp(cast(IdentityService, Tokens())))
    too_big = app.post("/v3/auth/tokens", data=b"{" + b" " * 70_000 + b"}")
    assert too_big.status_code == 413
    assert too_big.json is not None and too_big.json["error"]["code"] == 413
    unknown = app.get("/v3/users")
    assert unknown.status_code == 404
    assert unknown.json == {
        "error": {
            "code": 404,
            "title": "Not Found",
            "message": "Could not find the requested resource.",
        }
    }
    wrong_method = app.put("/v3/auth/tokens")
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["Allow"]
    not_json = app.post("/v3/auth/tokens", data=b"nope")
    assert not_json.status_code == 400
    unauthenticated = app.get("/v3/auth/tokens", headers={"X-Subject-Token": "x"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == 'Keystone uri="http://localhost/v3"'
