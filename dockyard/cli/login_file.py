"""The saved login: a token (never a password) in a 0600 file in the user's config directory."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

FILENAME = "login.json"


@dataclass(frozen=True)
class Login:
    """Where the API is and how to prove who we are; ``token`` None means no auth."""

    endpoint: str
    token: str | None = field(default=None, repr=False)
    auth_url: str | None = None
    expires_at: str | None = None
    user: str | None = None
    project: str | None = None

    def expired(self, now: dt.datetime) -> bool:
        if self.expires_at is None:
            return False
        return dt.datetime.fromisoformat(self.expires_at.replace("Z", "+00:00")) <= now


def config_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/dockyard``, else ``~/.config/dockyard``."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "dockyard"


def path(env: Mapping[str, str]) -> Path:
    return config_dir(env) / FILENAME


def load(env: Mapping[str, str]) -> Login | None:
    try:
        data = json.loads(path(env).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the saved login {path(env)}: {exc}") from exc
    known = {k: data.get(k) for k in Login.__dataclass_fields__}
    if not isinstance(known["endpoint"], str):
        raise ValueError(f"the saved login {path(env)} names no endpoint; log in again")
    return Login(**known)


def save(env: Mapping[str, str], login: Login) -> Path:
    """Write atomically, readable by the owner only (the directory too)."""
    target = path(env)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".login-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(login), out, indent=2)
            out.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def remove(env: Mapping[str, str]) -> bool:
    try:
        path(env).unlink()
    except FileNotFoundError:
        return False
    return True
