"""Following the engine's event stream for the containers of one host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST, LABEL_INSTALLATION
from dockyard.domain.models import RuntimeEvent
from dockyard.drivers.runtime.docker.errors import translated

#: Engine actions after which a container's recorded state may be stale.
RELEVANT = frozenset(
    {"start", "die", "kill", "oom", "stop", "pause", "unpause", "restart", "destroy", "create"}
)


class DockerEventStream:
    def __init__(self, api: Any, host: str) -> None:
        filters = {"type": ["container"], "label": [f"{LABEL_HOST}={host}"]}
        with translated():
            self._stream = api.events(decode=True, filters=filters)

    def __iter__(self) -> Iterator[RuntimeEvent]:
        with translated():
            for raw in self._stream:
                event = _parse(raw)
                if event is not None:
                    yield event

    def close(self) -> None:
        self._stream.close()


def _parse(raw: dict[str, Any]) -> RuntimeEvent | None:
    # Health changes arrive as "health_status: healthy".
    action = str(raw.get("Action") or raw.get("status") or "").split(":")[0]
    # The engine sends a container's labels as attributes of its events.
    attributes = (raw.get("Actor") or {}).get("Attributes") or {}
    uuid = attributes.get(LABEL_CONTAINER_ID)
    if not uuid or (action not in RELEVANT and action != "health_status"):
        return None
    nanos = raw.get("timeNano")
    when = nanos / 1e9 if isinstance(nanos, int) else raw.get("time")
    return RuntimeEvent(
        uuid=str(uuid),
        action=action,
        time=float(when) if isinstance(when, int | float) else None,
        installation=attributes.get(LABEL_INSTALLATION),
    )
