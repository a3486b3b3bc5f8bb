"""Where the command line's identity comes from, and the saved login file."""

import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from dockyard.cli import auth, login_file
from dockyard.cli.errors import CLIError
from dockyard.cli.login_file import Login

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
OPENRC = {
    "OS_AUTH_TYPE": "password", "OS_AUTH_URL": "http://127.0.0.1:9517/v3",
    "OS_USERNAME": "admin", "OS_PASSWORD": "secret", "OS_PROJECT_NAME": "admin",
    "OS_USER_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne",
    "OS_IDENTITY_API_VERSION": "3",
}  # fmt: skip


def test_os_variables_become_keystoneauth_options() -> None:
    settings = auth.from_env({**OPENRC, "PATH": "/bin"})
    assert settings is not None
    assert settings.auth_type == "password" and settings.region == "RegionOne"
    assert settings.options["auth_url"] == "http://127.0.0.1:9517/v3"
    assert settings.options["username"] == "admin"
    assert settings.options["password"] == "secret"
    assert settings.options["user_domain_name"] == "Default"
    assert "region_name" not in settings.options and "path" not in settings.options


def test_no_os_variables_mean_no_settings() -> None:
    assert auth.from_env({"HOME": "/root"}) is None


def test_auth_type_none_needs_only_the_endpoint() -> None:
    settings = auth.from_env({"OS_AUTH_TYPE": "none", "OS_ENDPOINT": "http://h:9517/v1"})
    assert settings is not None
    assert auth.authenticate(settings) == Login(endpoint="http://h:9517/v1")
    with pytest.raises(CLIError, match="OS_ENDPOINT"):
        auth.authenticate(auth.Settings("none"))


def test_a_token_and_an_endpoint_are_used_as_given() -> None:
    settings = auth.from_env({"OS_TOKEN": "t0k", "OS_ENDPOINT": "http://h:9517/v1"})
    assert settings is not None
    login = auth.authenticate(settings)
    assert login.token == "t0k" and login.endpoint == "http://h:9517/v1"


def test_clouds_yaml_is_read_from_the_config_directory(tmp_path: Path) -> None:
    clouds = tmp_path / "openstack" / "clouds.yaml"
    clouds.parent.mkdir()
    clouds.write_text(
        "clouds:\n  lab:\n    auth_type: v3password\n    region_name: R2\n"
        "    auth:\n      auth_url: http://k:5000/v3\n      username: u\n"
        "      project-name: p\n    container_endpoint_override: http://z:9517/v1\n"
    )
    settings = auth.from_cloud("lab", {"XDG_CONFIG_HOME": str(tmp_path), "HOME": "/nowhere"})
    assert settings.auth_type == "v3password" and settings.region == "R2"
    assert settings.options == {"auth_url": "http://k:5000/v3", "username": "u",
                                "project_name": "p"}  # fmt: skip
    assert settings.endpoint == "http://z:9517/v1"
    with pytest.raises(CLIError, match="'other' is not defined"):
        auth.from_cloud("other", {"XDG_CONFIG_HOME": str(tmp_path), "HOME": "/nowhere"})


def test_the_saved_login_is_owner_only_and_holds_no_password(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    login = Login("http://h/v1", "tok", "http://h/v3", "2026-12-03T11:00:00+00:00", "u", "p")
    path = login_file.save(env, login)
    assert path == tmp_path / "cfg" / "dockyard" / "login.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert set(json.loads(path.read_text())) == {
        "endpoint", "token", "auth_url", "expires_at", "user", "project"
    }  # fmt: skip
    assert login_file.load(env) == login
    assert auth.resolve(env, None, NOW) == login
    assert "tok" not in repr(login)


def test_an_expired_login_asks_to_log_in_again(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    login_file.save(env, Login("http://h/v1", "tok", expires_at="2026-12-03T09:59:59Z"))
    with pytest.raises(CLIError, match="expired"):
        auth.resolve(env, None, NOW)


def test_os_variables_take_precedence_over_the_saved_login(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path), "OS_AUTH_TYPE": "none", "OS_ENDPOINT": "http://o/v1"}
    login_file.save(env, Login("http://saved/v1", "tok"))
    assert auth.resolve(env, None, NOW).endpoint == "http://o/v1"


def test_the_config_directory_defaults_to_home(tmp_path: Path) -> None:
    assert login_file.config_dir({"HOME": str(tmp_path)}) == tmp_path / ".config" / "dockyard"
    assert login_file.remove({"HOME": str(tmp_path)}) is False


def test_a_corrupt_login_file_is_reported(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    (tmp_path / "dockyard").mkdir()
    (tmp_path / "dockyard" / "login.json").write_text("{not json")
    with pytest.raises(CLIError, match="cannot read the saved login"):
        auth.resolve(env, None, NOW)


def test_login_without_a_terminal_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from dockyard.cli import app

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    err = io.StringIO()
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert app.main(["login", "--project", "p"], env=env, out=io.StringIO(), err=err) == 1
    assert "pass AUTH_URL" in err.getvalue()
    err = io.StringIO()
    argv = ["login", "http://127.0.0.1:9/v3", "--project", "p"]
    assert app.main(argv, env=env, out=io.StringIO(), err=err) == 1
    assert "cannot prompt without a terminal: pass -u USER" in err.getvalue()
    assert not (tmp_path / "dockyard" / "login.json").exists()
