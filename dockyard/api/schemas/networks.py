"""Body of ``POST /v1/networks`` (api-other §14.2)."""

from __future__ import annotations

from typing import Any, Final

from dockyard.api.schemas.containers import NAME_PATTERN

_NAME: Final = {
    "type": ["string", "null"],
    "minLength": 2,
    "maxLength": 255,
    "pattern": NAME_PATTERN,
}

CREATE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"name": _NAME, "neutron_net_id": _NAME},
    "required": ["name"],
    "additionalProperties": False,
}
