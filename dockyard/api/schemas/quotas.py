"""Request schemas of the quota and quota-class endpoints (api-other §12).

Every one is an object with ``additionalProperties: false``: an unknown
parameter is a 400.
"""

from __future__ import annotations

from typing import Any, Final

from dockyard.domain.quotas import RESOURCES

#: An integer or a string of digits, ``-1`` (unlimited) or more; bounded by the column.
LIMIT: Final[dict[str, Any]] = {
    "type": ["integer", "string"],
    "pattern": "^-?[0-9]+$",
    "minimum": -1,
    "maximum": 2**31 - 1,
}

UPDATE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": dict.fromkeys(RESOURCES, LIMIT),
    "additionalProperties": False,
}

GET_QUERY: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"usages": {"type": "string"}},
    "additionalProperties": False,
}

NO_QUERY: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {},
    "additionalProperties": False,
}
