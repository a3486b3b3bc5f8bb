"""Two member projects and the admin of a `local`-identity all-in-one, logged in."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from dockyard.cmd.configuration import load_config
from dockyard.cmd.identity import bootstrap_admin, identity_admin
from tests.conftest import Dockyard

#: ``[DEFAULT]`` and ``[identity]`` lines for a service these logins work against.
LOCAL_IDENTITY = ["[DEFAULT]", "auth_strategy = local", "[identity]", "password_hash_rounds = 4"]


@dataclass(frozen=True)
class Login:
    token: str
    project_id: str


@dataclass(frozen=True)
class Logins:
    alice: Login  # member of team-a
    bob: Login  # member of team-b
    admin: Login  # admin of the admin project


def login(service: Dockyard, user: str, password: str, project: str) -> Login:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"name": "Default"}, "password": password}
                },
            },
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }
    }
    response = service.session.post(service.url + "/v3/auth/tokens", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return Login(response.headers["X-Subject-Token"], response.json()["token"]["project"]["id"])


def two_projects(service: Dockyard, config_dir: Path) -> Logins:
    """Bootstraps the admin, makes team-a (alice) and team-b (bob), and logs all in."""
    conf = load_config([f"--config-file={config_dir / 'dockyard.conf'}"])
    created = bootstrap_admin(conf, service.node.db)
    assert created is not None
    lines = [line.removeprefix("export ") for line in created[1].splitlines() if line]
    env = dict(line.split("=", 1) for line in lines)
    identities = identity_admin(conf, service.node.db)
    for project, user in (("team-a", "alice"), ("team-b", "bob")):
        identities.create_project(project)
        identities.create_user(user, f"{user}-login-pw", project, "member")
    return Logins(
        login(service, "alice", "alice-login-pw", "team-a"),
        login(service, "bob", "bob-login-pw", "team-b"),
        login(service, "admin", shlex.split(env["OS_PASSWORD"])[0], "admin"),
    )
