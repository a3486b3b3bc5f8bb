"""`dockyard-manage db upgrade|current` with --config-file on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest

from tests.support.databases import fresh_database

MANAGE = Path(sys.executable).parent / "dockyard-manage"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        context = nullcontext(f"sqlite:///{tmp_path / 'dockyard.sqlite'}")
    else:
        context = fresh_database(request.param)
    with context as url:
        yield url


def manage(config: Path, *args: str) -> str:
    done = subprocess.run(
        [str(MANAGE), "--config-file", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_upgrade_then_current(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "dockyard.conf"
    config.write_text(
        f"[DEFAULT]\ndata_dir = {tmp_path}\n[database]\nconnection = {database_url}\n"
    )
    assert manage(config, "db", "current") == "empty (no revision)"
    upgraded = manage(config, "db", "upgrade")
    revision = manage(config, "db", "current")
    assert revision and revision != "empty (no revision)"
    assert upgraded.endswith(f"at revision {revision}")
