"""Wiring of local identity: the signing key file, the admin openrc, the auth URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.cmd.configuration import load_config
from dockyard.cmd.identity import KeyFileError, auth_url, load_or_create_key, openrc
from dockyard.domain.identity import Project, User
from dockyard.service.identity import Bootstrap


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "identity.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == key


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "identity.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_key(path)


@pytest.mark.parametrize("content", ["not hex", "abcd"])
def test_bad_key_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "identity.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        load_or_create_key(path)


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:9600/v3"),
        ("0.0.0.0", "http://127.0.0.1:9600/v3"),
        ("::1", "http://[::1]:9600/v3"),
    ],
)
def test_auth_url_follows_the_api_address(bind: str, url: str) -> None:
    conf = load_config(["--bind", bind, "--port", "9600"])
    assert auth_url(conf) == url


def test_openrc_exports_everything_clients_need() -> None:
    created = Bootstrap(Project("p", "admin"), User("u", "admin"), "pa$$ word")
    text = openrc(created, "http://127.0.0.1:9517/v3")
    assert "export OS_PASSWORD='pa$$ word'\n" in text
    assert "export OS_AUTH_URL=http://127.0.0.1:9517/v3\n" in text
    assert "export OS_PROJECT_NAME=admin\n" in text
    assert "export OS_USER_DOMAIN_NAME=Default\n" in text
