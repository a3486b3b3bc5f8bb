"""Reading Neutron request bodies and list queries strictly: unknown or mistyped → 400."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from dockyard.api.json_body import parse_json
from dockyard.domain.errors import InvalidInput

MAX_NAME: Final = 255
#: A whole number as text: ASCII digits only (``str.isdigit`` takes "²", which ``int`` refuses).
_WHOLE: Final = re.compile("-?[0-9]+")
#: Query parameters that are not attribute filters.
LIST_CONTROLS: Final = frozenset(
    {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}
)


def body(data: bytes, resource: str) -> dict[str, Any]:
    """The ``{resource: {...}}`` object of a create or update request."""
    if not data.strip():
        raise InvalidInput("Resource body required")
    parsed = parse_json(data)
    if not isinstance(parsed, dict) or resource not in parsed:
        raise InvalidInput(f"Unable to find '{resource}' in request body")
    fields = parsed[resource]
    if not isinstance(fields, dict):
        raise InvalidInput(f"Invalid input for {resource}: expected an object.")
    if len(parsed) > 1:
        raise InvalidInput(
            f"Unrecognized attribute(s) '{', '.join(sorted(set(parsed) - {resource}))}'"
        )
    return fields


def _bad(key: str, value: Any, reason: str) -> InvalidInput:
    return InvalidInput(f"Invalid input for {key}. Reason: '{value}' {reason}.", field=key)


def string(fields: Mapping[str, Any], key: str, default: str = "", limit: int = MAX_NAME) -> str:
    value = fields.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _bad(key, value, "is not a valid string")
    if len(value) > limit:
        raise _bad(key, value, f"exceeds maximum length of {limit}")
    return value


def optional_string(fields: Mapping[str, Any], key: str) -> str | None:
    if fields.get(key) is None:
        return None
    return string(fields, key)


def boolean(fields: Mapping[str, Any], key: str, default: bool) -> bool:
    value = fields.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(key, value, "cannot be converted to boolean")


def integer(fields: Mapping[str, Any], key: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad(key, value, "is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value)
    raise _bad(key, value, "is not an integer")


def project(fields: Mapping[str, Any]) -> str | None:
    """``project_id`` or its old name ``tenant_id``; both must agree when both are given."""
    project_id = optional_string(fields, "project_id")
    tenant_id = optional_string(fields, "tenant_id")
    if project_id and tenant_id and project_id != tenant_id:
        raise InvalidInput("'project_id' and 'tenant_id' do not match", field="project_id")
    return project_id or tenant_id


def objects(fields: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = fields.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _bad(key, value, "is not a list of objects")
    return value


def strings(fields: Mapping[str, Any], key: str) -> list[str] | None:
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(key, value, "is not a list of strings")
    return value


# list queries


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _matches(view: Mapping[str, Any], key: str, wanted: Sequence[str]) -> bool:
    value = view[key]
    if key == "fixed_ips":
        # Neutron's form: fixed_ips=ip_address=10.0.0.5 or fixed_ips=subnet_id=...
        pairs = [w.partition("=") for w in wanted]
        return all(any(_text(f.get(k)) == v for f in value) for k, _, v in pairs)
    if isinstance(value, list):
        return any(_text(v) in wanted for v in value)
    if isinstance(value, bool):
        return _text(value) in {w.lower() for w in wanted}
    return _text(value) in wanted


def select(
    views: list[dict[str, Any]],
    query: Mapping[str, list[str]],
    collection: str,
    link: Callable[[str], str],
) -> dict[str, Any]:
    """Filter, sort, page and trim ``views`` as Neutron's list query asks."""
    attributes = set(views[0]) if views else set()
    for key, wanted in query.items():
        if key in LIST_CONTROLS:
            continue
        if views and key not in attributes:
            raise InvalidInput(f"[{key}] is invalid attribute for filtering")
        views = [v for v in views if _matches(v, key, wanted)]
    sort_keys = query.get("sort_key", [])
    directions = query.get("sort_dir", [])
    for i in reversed(range(len(sort_keys))):
        key = sort_keys[i]
        direction = directions[i] if i < len(directions) else "asc"
        if direction not in ("asc", "desc"):
            raise InvalidInput(f"sort_dir {direction!r} is not asc or desc", field="sort_dir")
        if views and key not in attributes:
            raise InvalidInput(f"{key} is an invalid attribute for sort_key", field="sort_key")
        views.sort(key=lambda v: _text(v.get(key)), reverse=direction == "desc")
    marker = query.get("marker", [None])[-1]
    if marker is not None:
        ids = [v["id"] for v in views]
        views = views[ids.index(marker) + 1 :] if marker in ids else []
    result: dict[str, Any] = {}
    limits = query.get("limit")
    if limits:
        limit = integer({"limit": limits[-1]}, "limit") or 0
        if limit < 0:
            raise InvalidInput("limit must be a positive integer", field="limit")
        if limit and len(views) > limit:
            views = views[:limit]
            result[f"{collection}_links"] = [
                {"rel": "next", "href": link(f"limit={limit}&marker={views[-1]['id']}")}
            ]
    fields = [f for f in query.get("fields", []) if f]
    if fields:
        views = [{k: v[k] for k in fields if k in v} for v in views]
    result[collection] = views
    return result
