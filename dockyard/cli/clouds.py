"""``clouds.yaml``, read the way the OpenStack clients read it (a subset: no vendor files)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def candidates(env: Mapping[str, str]) -> list[Path]:
    """Where clouds.yaml is looked for, first match wins."""
    if env.get("OS_CLIENT_CONFIG_FILE"):
        return [Path(env["OS_CLIENT_CONFIG_FILE"])]
    home = Path(env.get("HOME") or Path.home())
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return [
        Path.cwd() / "clouds.yaml",
        config_home / "openstack" / "clouds.yaml",
        Path("/etc/openstack/clouds.yaml"),
    ]


def find_cloud(name: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The named cloud's settings; ValueError when no file defines it."""
    import yaml

    searched = candidates(env)
    for candidate in searched:
        if not candidate.is_file():
            continue
        document = yaml.safe_load(candidate.read_text()) or {}
        clouds = document.get("clouds") if isinstance(document, dict) else None
        if isinstance(clouds, dict) and isinstance(clouds.get(name), dict):
            return dict(clouds[name])
    where = ", ".join(str(p) for p in searched)
    raise ValueError(f"cloud {name!r} is not defined in any clouds.yaml (looked in {where})")
