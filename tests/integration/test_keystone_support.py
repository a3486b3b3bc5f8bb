"""The project's own Keystone launcher works: identity tests can rely on a real Keystone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port, require
from tests.support.keystone import ADMIN_PASSWORD, VENV, Keystone


@pytest.fixture(scope="module")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystone]:
    require((VENV / "keystone-manage").exists(), "Keystone; run scripts/ensure-keystone.sh")
    server = Keystone(Path(tmp_path_factory.mktemp("keystone")), free_port())
    server.setup()
    server.start()
    yield server
    server.stop()


def test_real_keystone_issues_validates_and_scopes_tokens(keystone: Keystone) -> None:
    keystone.project("team-a")
    keystone.user("alice", "alice-pw", "team-a", "member")
    keystone.register("container", "dockyard", "http://127.0.0.1:9517/v1")
    token = keystone.token("alice", "alice-pw", "team-a")
    admin = keystone.token("admin", ADMIN_PASSWORD, "admin")
    checked = requests.get(
        keystone.url + "/auth/tokens",
        headers={"X-Auth-Token": admin, "X-Subject-Token": token},
        timeout=30,
    )
    assert checked.status_code == 200
    body = checked.json()["token"]
    assert body["project"]["name"] == "team-a"
    assert [r["name"] for r in body["roles"]] == ["member"] or "member" in {
        r["name"] for r in body["roles"]
    }
    catalog = {entry["type"] for entry in body["catalog"]}
    assert "container" in catalog
    with pytest.raises(requests.HTTPError):
        keystone.token("alice", "wrong", "team-a")
