"""Query schemas of the host, service and availability-zone endpoints (api-other §7, §10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dockyard.api.schemas.validation import BOOL_EXT
from dockyard.domain.errors import InvalidInput

_HOST: Final[dict[str, Any]] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[a-zA-Z0-9-._]*$",
}
_TEXT: Final[dict[str, Any]] = {"type": "string", "minLength": 1, "maxLength": 255}


def _params(required: list[str], **extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"host": _HOST, "binary": _TEXT, **extra},
        "required": required,
        "additionalProperties": False,
    }


SERVICE: Final = _params(["host", "binary"])
DISABLE: Final = _params(["host", "binary"], disabled_reason=_TEXT)
FORCE_DOWN: Final = _params(["host", "binary", "forced_down"], forced_down=BOOL_EXT)


def check_paging(params: Mapping[str, Any]) -> tuple[int | None, str]:
    """``limit`` and ``sort_dir`` of a list query (§7.1); other keys are tolerated."""
    limit = params.get("limit")
    if limit is not None and not (isinstance(limit, str) and limit.isdigit() and int(limit) > 0):
        raise InvalidInput(f"limit must be a positive integer, not {limit!r:.100}.", field="limit")
    sort_dir = params.get("sort_dir", "asc")
    if sort_dir not in ("asc", "desc"):
        raise InvalidInput(
            f"sort_dir must be 'asc' or 'desc', not {sort_dir!r:.100}.", field="sort_dir"
        )
    return (int(limit) if limit is not None else None), sort_dir
