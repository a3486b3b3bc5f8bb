"""Private registries: per-project credentials for pulling images (api-other §15)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dockyard.domain.images import parse_image

#: How a stored password is always rendered.
MASK = "***"


@dataclass(frozen=True)
class Registry:
    """One stored registry; ``secret`` is the encrypted password (never the password)."""

    uuid: str
    domain: str
    project_id: str
    user_id: str
    name: str | None = None
    username: str | None = None
    secret: str | None = field(default=None, repr=False)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials an agent pulls with. The password is kept out of ``repr`` (and so logs)."""

    domain: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def engine_config(self) -> dict[str, str]:
        """The ``auth_config`` the Docker Engine takes for a pull or a registry lookup."""
        config = {"serveraddress": self.domain}
        if self.username is not None:
            config["username"] = self.username
        if self.password is not None:
            config["password"] = self.password
        return config


def in_registry(image: str, domain: str) -> str:
    """``image`` (normalised) addressed to ``domain`` when it names no registry of its own."""
    ref = parse_image(image)
    if ref.domain is not None:
        return str(ref)
    return str(parse_image(f"{domain.rstrip('/')}/{image}"))
