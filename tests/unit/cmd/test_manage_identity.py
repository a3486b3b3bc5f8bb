"""`dockyard-manage project|user|role`, run in process on a throwaway data_dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.cmd.manage import main


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "dockyard.conf"
    path.write_text(
        f"[DEFAULT]\ndata_dir = {tmp_path / 'data'}\n[identity]\npassword_hash_rounds = 4\n"
    )
    return str(path)


def manage(config: str, *argv: str) -> int:
    return main(["--config-file", config, *argv])


def test_projects_users_and_roles(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret-password\n")
    assert manage(config, "project", "create", "team-a") == 0
    assert manage(config, "project", "create", "team-b") == 0
    assert manage(config, "user", "create", "alice", "--password-file", str(secret),
                  "--project", "team-a", "--role", "member") == 0  # fmt: skip
    assert manage(config, "role", "add", "alice", "team-b", "reader") == 0
    assert manage(config, "role", "add", "alice", "team-b", "reader") == 0
    capsys.readouterr()
    assert manage(config, "user", "list") == 0
    listed = capsys.readouterr().out
    assert "alice" in listed
    assert "member@team-a" in listed and "reader@team-b" in listed
    assert "s3cret" not in listed and "$2b$" not in listed


def test_errors_exit_non_zero_without_partial_users(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("pw")
    assert manage(config, "project", "create", "team-a") == 0
    assert manage(config, "project", "create", "team-a") == 1
    assert manage(config, "user", "create", "bob", "--password-file", str(secret),
                  "--project", "missing") == 1  # fmt: skip
    assert manage(config, "user", "create", "bob", "--password-file", str(secret),
                  "--role", "admin") == 2  # fmt: skip
    assert manage(config, "role", "add", "bob", "team-a", "member") == 1
    errors = capsys.readouterr().err
    assert "already exists" in errors and "No project named missing" in errors
    assert "No user named bob" in errors
    capsys.readouterr()
    manage(config, "user", "list")
    assert "bob" not in capsys.readouterr().out


def test_disable_enable_delete_passwords_and_role_removal(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("first-password\n")
    assert manage(config, "project", "create", "team-a") == 0
    assert manage(config, "user", "create", "alice", "--password-file", str(secret),
                  "--project", "team-a") == 0  # fmt: skip
    assert manage(config, "user", "disable", "alice") == 0
    capsys.readouterr()
    manage(config, "user", "list")
    assert "alice" in (line := capsys.readouterr().out) and " no " in line
    assert manage(config, "user", "enable", "alice") == 0
    secret.write_text("second-password\n")
    assert manage(config, "user", "set-password", "alice", "--password-file", str(secret)) == 0
    assert manage(config, "role", "remove", "alice", "team-a", "member") == 0
    assert "did not have" not in capsys.readouterr().out
    assert manage(config, "role", "remove", "alice", "team-a", "member") == 0
    assert "did not have" in capsys.readouterr().out
    assert manage(config, "user", "delete", "alice") == 0
    assert manage(config, "user", "delete", "alice") == 1
    assert manage(config, "user", "disable", "nobody") == 1
    assert manage(config, "project", "delete", "team-a") == 0
    assert manage(config, "project", "delete", "team-a") == 1
    errors = capsys.readouterr().err
    assert "No user named alice" in errors and "No user named nobody" in errors
    assert "No project named team-a" in errors
    manage(config, "user", "list")
    assert "alice" not in capsys.readouterr().out
