"""How `dockyard-compute` and the all-in-one are composed: what the agent's command
loads, and drivers found by name (an unknown name stops the process at start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

#: What an agent's process must never load: it holds no database credentials and
#: serves no API, so neither the database layer nor the API or identity code belong.
FORBIDDEN = (
    "sqlalchemy",
    "alembic",
    "dockyard.db",
    "dockyard.api",
    "dockyard.service",
    "dockyard.cmd.identity",
    "dockyard.cmd.storage",
    "keystonemiddleware",
    "oslo_policy",
    "werkzeug",
    "cheroot",
)


def loaded_modules(module: str) -> list[str]:
    code = f"import {module}, sys; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def forbidden_among(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_the_agent_command_loads_no_database_api_or_identity_code() -> None:
    modules = loaded_modules("dockyard.cmd.compute_agent")
    assert "dockyard.compute.agent" in modules  # the check looks at the real thing
    assert "dockyard.rpc.messaging" in modules
    assert forbidden_among(modules) == []


def test_the_check_would_see_a_database_import() -> None:
    # The all-in-one builds the same agent and does load the database: the check sees it.
    modules = loaded_modules("dockyard.cmd.all_in_one_node")
    assert {"sqlalchemy", "dockyard.db", "dockyard.api"} <= set(forbidden_among(modules))


def _config(tmp_path: Path, option: str, value: str) -> Path:
    path = tmp_path / "dockyard.conf"
    path.write_text(
        f"[DEFAULT]\ndata_dir = {tmp_path / 'data'}\n"
        f"transport_url = rabbit://nobody:nothing@127.0.0.1:1/\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'shared.sqlite'}\n"
        f"[compute]\n{option} = {value}\n"
    )
    return path


@pytest.mark.parametrize("option", ["runtime_driver", "image_driver"])
@pytest.mark.parametrize("command", [["dockyard", "up"], ["dockyard-compute"]])
def test_an_unknown_driver_stops_the_process_naming_the_choices(
    tmp_path: Path, option: str, command: list[str]
) -> None:
    config = _config(tmp_path, option, "sailboat")
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--config-file", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    choices = "docker, glance" if option == "image_driver" else "docker"
    assert last == (
        f"[compute] {option} = 'sailboat' is not an installed driver; the choices are: {choices}"
    )
    assert not (tmp_path / "data").exists()  # stopped before it made or opened anything
    assert not (tmp_path / "shared.sqlite").exists()
