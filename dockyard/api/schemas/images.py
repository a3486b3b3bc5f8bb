"""Bodies and queries of the image endpoints (api-other §8.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dockyard.api.schemas.hosts import check_paging
from dockyard.api.schemas.validation import BOOL_EXT, parse_bool, validate
from dockyard.domain.errors import InvalidInput

_NAME: Final[dict[str, Any]] = {
    "type": "string",
    "minLength": 2,
    "maxLength": 255,
    "pattern": "[a-zA-Z0-9][a-zA-Z0-9_.-]",
}
_OPTIONAL_TEXT: Final[dict[str, Any]] = {
    "type": ["string", "null"],
    "minLength": 2,
    "maxLength": 255,
}
_PULL_POLICIES: Final = ["never", "always", "ifnotpresent", "Never", "Always", "IfNotPresent"]

PULL: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "repo": _NAME,
        "host": _NAME,
        "image_id": _OPTIONAL_TEXT,
        "tag": _OPTIONAL_TEXT,
        "size": {
            "type": ["string", "integer", "null"],
            "pattern": "^[0-9]+[bBkKmMgG]?$",
        },
        "image_pull_policy": {"enum": [*_PULL_POLICIES, None]},
    },
    "required": ["repo", "host"],
    "additionalProperties": False,
}

SEARCH: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "image_driver": {"enum": ["docker", "glance", "None", None]},
        "exact_match": BOOL_EXT,
    },
    "additionalProperties": False,
}


def check_pull(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object with 'repo' and 'host'.")
    validate(PULL, body)
    return dict(body)


def check_list_query(params: Mapping[str, Any]) -> tuple[int | None, str]:
    """``limit`` and ``sort_dir``; a repeated parameter is refused."""
    repeated = sorted(key for key, value in params.items() if not isinstance(value, str))
    if repeated:
        raise InvalidInput(f"{repeated[0]} may be given only once.", field=repeated[0])
    return check_paging(params)


def check_search(params: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether the search is exact, and the driver asked for (the service checks it is
    enabled); 400 for unknown parameters."""
    validate(SEARCH, params, where="query")
    driver = params.get("image_driver")
    return parse_bool(params.get("exact_match", False)), driver
