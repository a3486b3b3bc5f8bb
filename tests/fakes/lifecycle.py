"""A stand-in for ``ContainerService.operate_on``/``check_host``: records what would be
reserved and cast, or refuses as a busy record or an unreachable agent would."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.domain.errors import InvalidState
from dockyard.domain.models import Container, RequestContext


@dataclass(frozen=True)
class Cast:
    uuid: str
    action: str
    record: dict[str, Any]
    params: dict[str, Any]


class ToldHosts:
    """The ``ComputeAPI`` side a lifecycle tells of network member changes."""

    def __init__(self) -> None:
        self.told: list[str] = []

    def networks_changed(self, host: str) -> None:
        self.told.append(host)


class RecordingLifecycle:
    def __init__(self) -> None:
        self.casts: list[Cast] = []
        self.compute = ToldHosts()
        #: Raised by ``operate_on`` instead of reserving (Conflict, ServiceBusy...).
        self.refuse: Exception | None = None

    def check_host(self, container: Container) -> str:
        if not container.host:
            raise InvalidState(f"Container {container.uuid} is on no host.")
        return container.host

    def operate_on(
        self,
        ctx: RequestContext,
        container: Container,
        action: str,
        record: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Container:
        self.check_host(container)
        if self.refuse is not None:
            raise self.refuse
        self.casts.append(Cast(container.uuid, action, dict(record or {}), params))
        return dataclasses.replace(container, **dict(record or {}))
