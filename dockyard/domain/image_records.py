"""Image records: images pulled onto (or found on) one compute host (api-other §8)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class ImageStatus(StrEnum):
    """Where a record's image stands on its host."""

    PULLING = "pulling"
    READY = "ready"
    ERROR = "error"


@dataclass(frozen=True)
class PullProgress:
    """How far a pull is: layers and bytes, as the engine's pull stream reports them.

    ``bytes_total`` counts only the layers whose size the registry has announced so far.
    """

    layers_done: int = 0
    layers_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0

    def describe(self) -> str:
        """A short line for a container's ``status_detail``."""
        return (
            f"Pulling image: {self.layers_done}/{self.layers_total} layers, "
            f"{_mb(self.bytes_done)}/{_mb(self.bytes_total)} MB"
        )


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f}"


@dataclass(frozen=True)
class ImageRecord:
    uuid: str
    repo: str
    tag: str
    host: str
    project_id: str | None = None
    user_id: str | None = None
    image_id: str | None = None
    size: int | None = None
    status: ImageStatus = ImageStatus.PULLING
    status_reason: str | None = None
    progress: PullProgress | None = None
    #: Whether Dockyard's own pull brought the image onto the host (garbage collection
    #: removes only such images).
    pulled_by_dockyard: bool = False
    #: When Dockyard last pulled it or created a container from it on the host.
    last_used_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    id: int | None = None

    @property
    def reference(self) -> str:
        return f"{self.repo}:{self.tag}"


@dataclass(frozen=True)
class LocalImage:
    """One tag an engine holds, as a host's reconciliation sees it."""

    repo: str
    tag: str
    image_id: str
    size: int


@dataclass(frozen=True)
class ImageUse:
    """An agent's note that it pulled ``reference`` or created a container from it."""

    reference: str
    at: dt.datetime
    #: The pull brought a tag the engine did not hold before.
    pulled: bool = False


_HUB_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def canonical(repository: str, tag: str | None) -> tuple[str, str]:
    """``(repo, tag)`` as the engine lists it: Docker Hub's domain and ``library/`` dropped."""
    domain, _, path = repository.partition("/")
    if path and domain in _HUB_DOMAINS:
        repository = path
    if repository.startswith("library/") and repository.count("/") == 1:
        repository = repository.removeprefix("library/")
    return repository, tag or "latest"
