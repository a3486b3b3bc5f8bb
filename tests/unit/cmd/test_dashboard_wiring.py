"""Where the dashboard is served and where its login form gets tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from dockyard.api.dashboard.identity import InProcess, OverHttp, Session, TokenApi
from dockyard.cmd.authentication import dashboard_identity
from dockyard.cmd.configuration import load_config, load_service_config
from dockyard.config import dashboard


def api(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("204 No Content", [])
    return []


def config(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "dockyard.conf"
    path.write_text("\n".join(lines) + "\n")
    return f"--config-file={path}"


def test_dockyard_up_serves_it_unless_told_not_to(tmp_path: Path) -> None:
    assert dashboard.view(load_config([])).enabled is True
    off = config(tmp_path, "[dashboard]", "enabled = false")
    assert dashboard.view(load_config([off])).enabled is False


def test_dockyard_api_serves_it_only_when_told_to(tmp_path: Path) -> None:
    plain = config(tmp_path, "[DEFAULT]")
    assert dashboard.view(load_service_config([plain], "dockyard-api")).enabled is False
    on = config(tmp_path, "[dashboard]", "enabled = true")
    assert dashboard.view(load_service_config([on], "dockyard-api")).enabled is True


def test_local_identity_is_called_in_process(tmp_path: Path) -> None:
    conf = load_config([config(tmp_path, "[DEFAULT]", "auth_strategy = local")])
    tokens = dashboard_identity(conf, api, dashboard.view(conf))
    assert isinstance(tokens, TokenApi) and tokens.transport == InProcess(api)


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("http://ks.example:5000", "http://ks.example:5000/v3"),
        ("http://ks.example/identity/v3/", "http://ks.example/identity/v3"),
    ],
)
def test_keystone_is_found_from_keystone_authtoken(tmp_path: Path, uri: str, url: str) -> None:
    conf = load_config(
        [
            config(
                tmp_path,
                "[DEFAULT]",
                "auth_strategy = keystone",
                "[keystone_authtoken]",
                f"www_authenticate_uri = {uri}",
            )
        ]
    )
    tokens = dashboard_identity(conf, api, dashboard.view(conf))
    assert isinstance(tokens, TokenApi) and tokens.transport == OverHttp(url, 10)


def test_identity_url_names_keystone_explicitly(tmp_path: Path) -> None:
    conf = load_config(
        [
            config(
                tmp_path,
                "[DEFAULT]",
                "auth_strategy = keystone",
                "[dashboard]",
                "identity_url = https://id.example/v3",
                "identity_timeout = 3",
            )
        ]
    )
    tokens = dashboard_identity(conf, api, dashboard.view(conf))
    assert isinstance(tokens, TokenApi) and tokens.transport == OverHttp("https://id.example/v3", 3)


def test_keystone_without_a_url_is_refused_at_start(tmp_path: Path) -> None:
    conf = load_config([config(tmp_path, "[DEFAULT]", "auth_strategy = keystone")])
    with pytest.raises(ValueError, match="identity_url"):
        dashboard_identity(conf, api, dashboard.view(conf))


def test_noauth_has_nobody_to_log_in(tmp_path: Path) -> None:
    conf = load_config(
        [config(tmp_path, "[DEFAULT]", "auth_strategy = noauth", "noauth_project_id = p-9")]
    )
    fixed = dashboard_identity(conf, api, dashboard.view(conf))
    assert isinstance(fixed, Session) and fixed.project_id == "p-9" and "admin" in fixed.roles
