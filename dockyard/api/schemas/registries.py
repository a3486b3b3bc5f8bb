"""Bodies and query of the registry endpoints (api-other §15.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dockyard.api.schemas.containers import NAME_PATTERN
from dockyard.api.schemas.hosts import check_paging
from dockyard.api.schemas.validation import parse_all_projects, validate
from dockyard.domain.errors import InvalidInput, SchemaValidationError

#: Exact-match list filters, in the order policies are checked.
FILTER_KEYS: Final = ("name", "domain", "username", "project_id", "user_id")
LIST_KEYS: Final = frozenset({"all_projects", "limit", "marker", "sort_key", "sort_dir"}) | set(
    FILTER_KEYS
)
_PASSWORD: Final = "registry/password"
_PASSWORD_MAX: Final = 1024

_FIELDS: Final[dict[str, Any]] = {
    "domain": {"type": "string", "minLength": 1, "maxLength": 255},
    "name": {"type": "string", "minLength": 2, "maxLength": 255, "pattern": NAME_PATTERN},
    "username": {"type": "string", "minLength": 1, "maxLength": 255},
    "password": {"type": "string", "minLength": 1, "maxLength": _PASSWORD_MAX},
}


def _body(required: list[str]) -> dict[str, Any]:
    inner = {
        "type": "object",
        "properties": _FIELDS,
        "required": required,
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"registry": inner},
        "required": ["registry"],
        "additionalProperties": False,
    }


CREATE: Final = _body(["domain"])
UPDATE: Final = _body([])


def check_body(schema: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """The ``registry`` object of a valid body; a bad password is described, not echoed."""
    try:
        validate(schema, body)
    except SchemaValidationError as exc:
        if exc.fields.get("field") != _PASSWORD:
            raise
        raise SchemaValidationError(
            f"Invalid input for field '{_PASSWORD}': must be a string of 1 to "
            f"{_PASSWORD_MAX} characters (the value given is not repeated here).",
            field=_PASSWORD,
        ) from None
    return dict(body["registry"])


def check_list_query(params: Mapping[str, Any]) -> tuple[int | None, str]:
    """``limit`` and ``sort_dir``; 400 ``invalid-value`` for anything unknown or malformed."""
    unknown = sorted(set(params) - LIST_KEYS)
    if unknown:
        raise InvalidInput(f"Unknown parameters: {', '.join(unknown)}.", field=unknown[0])
    repeated = sorted(key for key, value in params.items() if not isinstance(value, str))
    if repeated:
        raise InvalidInput(f"{repeated[0]} may be given only once.", field=repeated[0])
    parse_all_projects(params.get("all_projects"))
    return check_paging(params)
