"""The /v2.0 app on its own: authentication, the reader persona, crashes that leak nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from dockyard.api.auth import HeaderAuth, NoAuth
from dockyard.api.neutron.app import NeutronApp
from dockyard.db import migrate
from dockyard.db.repositories.networks import NetworkRepository
from dockyard.db.repositories.security_groups import SecurityGroupRepository
from dockyard.db.session import Database
from dockyard.domain.models import RequestContext
from dockyard.drivers.network.local.records import LocalNetworkDriver
from dockyard.service.networks import NetworkService


@pytest.fixture
def service(tmp_path: Path) -> Iterator[NetworkService]:
    db = Database(f"sqlite:///{tmp_path / 'n.sqlite'}")
    migrate.upgrade(db)
    networks, groups = NetworkRepository(db), SecurityGroupRepository(db)
    yield NetworkService(networks, groups, LocalNetworkDriver(networks, groups))
    db.dispose()


def test_noauth_callers_are_the_configured_admin(service: NetworkService) -> None:
    client = Client(NeutronApp(service, NoAuth("u", "p")))
    made = client.post("/v2.0/networks", json={"network": {"name": "n", "shared": True}})
    assert made.status_code == 201, made.text
    assert made.json["network"]["project_id"] == "p" and made.json["network"]["shared"]


def test_readers_read_and_cannot_write(service: NetworkService) -> None:
    def reader(ctx: RequestContext) -> bool:
        return "member" not in ctx.roles

    app = NeutronApp(service, HeaderAuth(lambda ctx: False), reader)
    identity = {"X-User-Id": "u", "X-Project-Id": "p"}
    member = Client(app)
    made = member.post(
        "/v2.0/networks", json={"network": {"name": "n"}}, headers={**identity, "X-Roles": "member"}
    )
    assert made.status_code == 201, made.text
    headers = {**identity, "X-Roles": "reader"}
    assert len(member.get("/v2.0/networks", headers=headers).json["networks"]) == 1
    path = f"/v2.0/networks/{made.json['network']['id']}"
    for response in (
        member.post("/v2.0/networks", json={"network": {}}, headers=headers),
        member.put(path, json={"network": {"name": "x"}}, headers=headers),
        member.delete(path, headers=headers),
    ):
        assert response.status_code == 403
        assert response.json["NeutronError"]["type"] == "PolicyNotAuthorized"
    assert member.get("/v2.0/networks").status_code == 401  # no identity at all


def test_a_crash_answers_500_and_names_no_internals(
    service: NetworkService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("connection to /var/lib/secret.sock refused")

    monkeypatch.setattr(service, "list_networks", crash)
    response = Client(NeutronApp(service, NoAuth("u", "p"))).get("/v2.0/networks")
    assert response.status_code == 500
    error = response.json["NeutronError"]
    assert error["type"] == "HTTPInternalServerError" and "secret" not in response.text
    assert response.headers["X-OpenStack-Request-Id"] in error["message"]
