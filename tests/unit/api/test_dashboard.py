"""The dashboard's server side without a server: cookies, CSRF, the way to /v1, login, files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from werkzeug.test import Client

from dockyard.api.dashboard.identity import IdentityUnavailable, Reply, Session, TokenApi
from dockyard.api.dashboard.server import CSRF_COOKIE, TOKEN_COOKIE, mount

TOKEN_BODY = {
    "token": {
        "user": {"id": "u1", "name": "alice"},
        "project": {"id": "p1", "name": "team-a"},
        "roles": [{"id": "r1", "name": "member"}],
        "expires_at": "2030-01-01T00:00:00.000000Z",
    }
}


class Keystone:
    """A token API that knows one password and remembers what it revoked."""

    def __init__(self) -> None:
        self.valid = {"t-1"}
        self.calls: list[tuple[str, str, dict[str, str], Any, str]] = []
        self.down = False

    def __call__(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        remote_addr: str = "",
    ) -> Reply:
        self.calls.append((method, path, headers, json.loads(body) if body else None, remote_addr))
        if self.down:
            raise IdentityUnavailable("connection refused")
        if method == "POST":
            user = json.loads(body or b"{}")["auth"]["identity"]["password"]["user"]
            if user["password"] != "right":
                return Reply(401, {}, b'{"error": {"message": "requires authentication"}}')
            return Reply(201, {"X-Subject-Token": "t-1"}, json.dumps(TOKEN_BODY).encode())
        token = headers.get("X-Subject-Token", "")
        if token not in self.valid:
            return Reply(404, {}, b"{}")
        if method == "DELETE":
            self.valid.discard(token)
            return Reply(204, {}, b"")
        return Reply(200, {}, json.dumps(TOKEN_BODY).encode())


def api(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers with what reached it, as the API would see it."""
    seen = {
        "path": environ["PATH_INFO"],
        "query": environ.get("QUERY_STRING", ""),
        "method": environ["REQUEST_METHOD"],
        "token": environ.get("HTTP_X_AUTH_TOKEN"),
        "cookie": environ.get("HTTP_COOKIE"),
        "version": environ.get("HTTP_OPENSTACK_API_VERSION"),
        "body": environ["wsgi.input"].read().decode(),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


@pytest.fixture
def keystone() -> Keystone:
    return Keystone()


@pytest.fixture
def client(keystone: Keystone) -> Client:
    return Client(mount(api, TokenApi(keystone)))


def page(client: Client) -> str:
    """Open the page as a browser first does; returns the CSRF token it was given."""
    response = client.get("/dashboard/")
    assert response.status_code == 200
    cookie = client.get_cookie(CSRF_COOKIE, path="/dashboard")
    assert cookie is not None
    return cookie.value


def log_in(client: Client, password: str = "right") -> Any:
    csrf = page(client)
    return client.post(
        "/dashboard/login",
        json={"username": "alice", "password": password, "project": "team-a"},
        headers={"X-CSRF-Token": csrf},
    )


def test_other_paths_go_to_the_api_untouched(client: Client) -> None:
    seen = client.get("/v1/containers", headers={"X-Auth-Token": "mine"}).get_json()
    assert seen["path"] == "/v1/containers" and seen["token"] == "mine"
    assert client.get("/dashboardx").get_json()["path"] == "/dashboardx"


def test_the_page_sets_a_csrf_cookie_and_a_content_security_policy(client: Client) -> None:
    response = client.get("/dashboard/")
    assert b'<script type="module" src="static/js/main.js">' in response.data
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(CSRF_COOKIE + "=") and "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie and "HttpOnly" not in cookie
    assert client.get("/dashboard").status_code == 308


def test_login_sets_an_httponly_strict_cookie_and_a_new_csrf_token(
    client: Client, keystone: Keystone
) -> None:
    before = page(client)
    response = client.post(
        "/dashboard/login",
        json={"username": " alice ", "password": "right", "project": "team-a"},
        headers={"X-CSRF-Token": before},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 200, response.data
    assert response.get_json()["user"]["name"] == "alice"
    assert response.get_json()["is_admin"] is False
    cookies = response.headers.getlist("Set-Cookie")
    token = next(c for c in cookies if c.startswith(TOKEN_COOKIE + "="))
    assert "HttpOnly" in token and "SameSite=Strict" in token and "Path=/dashboard" in token
    assert "t-1" not in response.get_data(as_text=True)  # the page never sees the token
    after = client.get_cookie(CSRF_COOKIE, path="/dashboard")
    assert after is not None and after.value != before
    method, path, _, body, address = keystone.calls[-1]
    assert (method, path, address) == ("POST", "/auth/tokens?nocatalog", "192.0.2.7")
    assert body["auth"]["identity"]["password"]["user"]["name"] == "alice"
    assert body["auth"]["scope"]["project"]["name"] == "team-a"


def test_a_wrong_password_is_refused_without_a_cookie(client: Client) -> None:
    response = log_in(client, password="wrong")
    assert response.status_code == 401
    assert "not right" in response.get_json()["error"]["message"]
    assert client.get_cookie(TOKEN_COOKIE, path="/dashboard") is None


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "a", "password": "b"}, {"username": "a", "password": 1, "project": "p"},
     {"username": " ", "password": "b", "project": "p"}, "not an object"],
)  # fmt: skip
def test_login_needs_three_strings(client: Client, keystone: Keystone, body: Any) -> None:
    csrf = page(client)
    response = client.post("/dashboard/login", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 400
    assert keystone.calls == []


def test_login_and_logout_need_the_csrf_token(client: Client, keystone: Keystone) -> None:
    page(client)
    body = {"username": "alice", "password": "right", "project": "team-a"}
    for headers in ({}, {"X-CSRF-Token": "guess"}):
        assert client.post("/dashboard/login", json=body, headers=headers).status_code == 403
        assert client.post("/dashboard/logout", headers=headers).status_code == 403
    assert keystone.calls == []


def test_the_api_gets_the_cookies_token_and_no_cookies(client: Client) -> None:
    assert log_in(client).status_code == 200
    seen = client.get(
        "/dashboard/api/v1/containers?all_projects=False",
        headers={"X-Auth-Token": "forged", "OpenStack-API-Version": "container 1.40"},
    ).get_json()
    assert seen == {
        "path": "/v1/containers",
        "query": "all_projects=False",
        "method": "GET",
        "token": "t-1",
        "cookie": None,
        "version": "container 1.40",
        "body": "",
    }


def test_changes_through_the_api_need_the_csrf_token(client: Client) -> None:
    assert log_in(client).status_code == 200
    csrf = client.get_cookie(CSRF_COOKIE, path="/dashboard")
    assert csrf is not None
    path = "/dashboard/api/v1/containers/c1/stop"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.open(path, method=method).status_code == 403
        refused = client.open(path, method=method, headers={"X-CSRF-Token": csrf.value + "x"})
        assert refused.status_code == 403
    passed = client.post(path, data='{"a": 1}', headers={"X-CSRF-Token": csrf.value})
    assert passed.get_json()["method"] == "POST" and passed.get_json()["body"] == '{"a": 1}'


def test_only_v1_v2_0_and_volume_are_reachable_through_the_dashboard(client: Client) -> None:
    assert log_in(client).status_code == 200
    for path in (
        "/dashboard/api/v3/auth/tokens",
        "/dashboard/api/volumes/v3/p/volumes",
        "/dashboard/api/volumex",
        "/dashboard/api/",
        "/dashboard/api/v10/x",
        "/dashboard/api/v2.0x/networks",
        "/dashboard/api/v2/networks",
    ):
        assert client.get(path).status_code == 404
    seen = client.get("/dashboard/api/v2.0/networks").get_json()
    assert seen["path"] == "/v2.0/networks" and seen["token"] == "t-1"
    # The network subset's writes need the CSRF token like every other.
    assert client.post("/dashboard/api/v2.0/networks", json={}).status_code == 403
    seen = client.get("/dashboard/api/volume/v3/p-1/volumes/detail").get_json()
    assert seen["path"] == "/volume/v3/p-1/volumes/detail" and seen["token"] == "t-1"
    assert client.delete("/dashboard/api/volume/v3/p-1/volumes/v-1").status_code == 403


def test_without_a_session_the_api_gets_no_token(client: Client) -> None:
    assert client.get("/dashboard/api/v1/containers").get_json()["token"] is None
    assert client.get("/dashboard/session").status_code == 401


def test_the_session_is_checked_with_the_identity_service(
    client: Client, keystone: Keystone
) -> None:
    assert log_in(client).status_code == 200
    session = client.get("/dashboard/session").get_json()
    assert session["project"] == {"id": "p1", "name": "team-a"}
    assert session["roles"] == ["member"] and session["login"] is True
    keystone.valid.clear()  # revoked elsewhere
    assert client.get("/dashboard/session").status_code == 401


def test_logout_revokes_the_token_and_clears_the_cookie(client: Client, keystone: Keystone) -> None:
    assert log_in(client).status_code == 200
    csrf = client.get_cookie(CSRF_COOKIE, path="/dashboard")
    assert csrf is not None
    response = client.post("/dashboard/logout", headers={"X-CSRF-Token": csrf.value})
    assert response.status_code == 204
    assert keystone.valid == set()
    method, _, headers, _, _ = keystone.calls[-1]
    assert method == "DELETE" and headers["X-Subject-Token"] == "t-1"
    assert client.get_cookie(TOKEN_COOKIE, path="/dashboard") is None


def test_an_identity_service_that_is_down_is_a_503(client: Client, keystone: Keystone) -> None:
    csrf = page(client)
    keystone.down = True
    response = client.post(
        "/dashboard/login",
        json={"username": "alice", "password": "right", "project": "team-a"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 503


def test_static_files_are_served_and_nothing_outside_them(client: Client) -> None:
    script = client.get("/dashboard/static/js/main.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert client.get("/dashboard/static/vendor/xterm/xterm.mjs").status_code == 200
    assert client.get("/dashboard/static/css/app.css").mimetype == "text/css"
    etag = script.headers["ETag"]
    assert (
        client.get("/dashboard/static/js/main.js", headers={"If-None-Match": etag}).status_code
        == 304
    )
    for path in ("../server.py", "..%2Fserver.py", "js/../../server.py", "missing.js"):
        assert client.get("/dashboard/static/" + path).status_code == 404


def test_noauth_has_a_session_and_no_login() -> None:
    fixed = Session("", "admin", "admin", "p-9", "p-9", ("admin",), "")
    client = Client(mount(api, fixed))
    session = client.get("/dashboard/session").get_json()
    assert session["is_admin"] is True and session["login"] is False
    assert session["project"] == {"id": "p-9", "name": "p-9"}
    csrf = page(client)
    body = {"username": "a", "password": "b", "project": "c"}
    response = client.post("/dashboard/login", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 400
