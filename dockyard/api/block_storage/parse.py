"""Reading block-storage request bodies and list queries strictly: unknown or mistyped → 400.

Sizes and names are checked by ``domain.volumes`` (one rule for mounts and this API);
the bodies' shapes (which keys a create may carry, which of them Dockyard supports
only empty) are ``schemas``, which the OpenAPI document publishes; this module says
their refusals in Cinder's words and reads the list query's filters and controls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import jsonschema

from dockyard.api.block_storage import schemas
from dockyard.api.json_body import parse_json
from dockyard.domain.errors import InvalidInput, NotFound

MAX_DESCRIPTION: Final = schemas.MAX_TEXT
DEFAULT_TYPE: Final = schemas.DEFAULT_TYPE
FILTERS: Final = schemas.FILTERS
CONTROLS: Final = schemas.CONTROLS
SORT_KEYS: Final = schemas.SORT_KEYS


@dataclass(frozen=True)
class CreateRequest:
    size: Any
    name: str
    description: str


@dataclass(frozen=True)
class ListQuery:
    filters: dict[str, str]
    #: (key, descending) pairs, first most significant.
    sort: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    all_tenants: bool = False
    with_count: bool = False


def _text(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    return "" if value is None else str(value)


def _unexpected(names: Iterable[str]) -> str:
    listed = ", ".join(map(repr, sorted(names)))
    return f"Additional properties are not allowed ({listed} were unexpected)"


def _refusal(error: jsonschema.ValidationError, body: Mapping[str, Any]) -> InvalidInput:
    """The first way ``body`` breaks ``schemas.CREATE`` / ``UPDATE``, in Cinder's words."""
    path = [str(p) for p in error.path]
    if error.validator == "additionalProperties":
        where = body if not path else body["volume"]
        allowed = dict(error.schema)["properties"]  # type: ignore[arg-type]
        return InvalidInput(_unexpected(set(where) - set(allowed)))
    if path == ["OS-SCH-HNT:scheduler_hints"]:
        return InvalidInput("Dockyard volumes take no scheduler hints.")
    if path == ["volume"] and error.validator == "type":
        return InvalidInput("Invalid input for field/attribute volume: expected an object.")
    if path == ["volume"] and error.validator == "required":
        return InvalidInput("The size of a new volume is required (whole GiB).")
    if path == ["volume"]:
        return InvalidInput("An update names the volume's new name or description.")
    key = path[1]
    if key in schemas.UNSUPPORTED:
        return InvalidInput(
            f"Dockyard volumes do not support {key}: a volume is made empty, of a size."
        )
    value = repr(error.instance)[:40]
    if key == "size":  # as the domain says it of a mount's size
        return InvalidInput(f"size must be a whole number of GiB, not {value}.", field="size")
    if error.validator == "maxLength":
        return InvalidInput(
            f"Invalid input for field/attribute {key}. Value: {value}... is too long "
            f"(at most {schemas.MAX_TEXT} characters)."
        )
    if error.validator == "type":
        return InvalidInput(
            f"Invalid input for field/attribute {key}. Value: {value} is not a string."
        )
    return InvalidInput(
        f"Invalid input for field/attribute {key}. Value: {value} is not valid: "
        f"{error.message[:120]}"
    )


def _checked(parsed: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """``parsed`` (the ``{"volume": ...}`` object) if ``schema`` holds for it."""
    if not isinstance(parsed, dict) or "volume" not in parsed:
        raise InvalidInput("Missing required element 'volume' in request body.")
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(parsed))
    if error is not None:
        raise _refusal(error, parsed)
    fields: dict[str, Any] = dict(parsed["volume"])
    if fields.get("size", 0) is None:
        raise InvalidInput("The size of a new volume is required (whole GiB).")
    return fields


def create(data: bytes) -> CreateRequest:
    """The ``{"volume": {...}}`` body of a create, checked against ``schemas.CREATE``."""
    fields = _checked(parse_json(data) if data.strip() else None, schemas.CREATE)
    for old, new in schemas.OLD_NAMES.items():
        if old in fields:
            if fields.get(new) is not None and fields[new] != fields[old]:
                raise InvalidInput(f"'{new}' and '{old}' were both given, with other values.")
            value = fields.pop(old)
            fields.setdefault(new, value)
    volume_type = fields.get("volume_type")
    if volume_type is not None and volume_type not in ("", DEFAULT_TYPE):
        raise NotFound(f"Volume type with name {volume_type} could not be found.")
    return CreateRequest(
        size=fields["size"], name=_text(fields, "name"), description=_text(fields, "description")
    )


def _bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "t", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "f", "no", "n", "off", ""):
        return False
    raise InvalidInput(f"Invalid value '{value}' for {key}: it is not a boolean.")


def _whole(key: str, value: str) -> int:
    if not value.strip().isdigit():
        raise InvalidInput(f"{key} param must be an integer")
    return int(value)


def _sort(query: Mapping[str, Sequence[str]]) -> list[tuple[str, bool]]:
    if "sort" in query and ("sort_key" in query or "sort_dir" in query):
        raise InvalidInput(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
            "with the 'sort' parameter."
        )
    pairs: list[tuple[str, str]] = []
    if "sort" in query:
        for item in ",".join(query["sort"]).split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    elif "sort_key" in query:
        keys = ",".join(query["sort_key"]).split(",")
        directions = ",".join(query.get("sort_dir", [])).split(",") if "sort_dir" in query else []
        pairs = [
            (k.strip(), directions[i].strip() if i < len(directions) else "desc")
            for i, k in enumerate(keys)
        ]
    sort = []
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise InvalidInput(f"Invalid sort key {key!r}: one of {', '.join(sorted(SORT_KEYS))}.")
        if direction not in ("asc", "desc"):
            raise InvalidInput(f"Unknown sort direction {direction!r}, must be 'desc' or 'asc'")
        sort.append((key, direction == "desc"))
    return sort


def list_query(query: Mapping[str, Sequence[str]]) -> ListQuery:
    """A list's filters and controls; a key that is neither → 400 as Cinder answers."""
    unknown = sorted(set(query) - FILTERS - CONTROLS)
    if unknown:
        raise InvalidInput(f"Invalid filters {', '.join(unknown)} are found in query options.")

    def one(key: str) -> str | None:
        values = query.get(key)
        return values[-1] if values else None

    limit = one("limit")
    offset = one("offset")
    return ListQuery(
        filters={k: str(one(k)) for k in FILTERS if one(k) is not None},
        sort=_sort(query),
        limit=None if limit is None else _whole("limit", limit),
        marker=one("marker"),
        offset=0 if offset is None else _whole("offset", offset),
        all_tenants=_bool("all_tenants", one("all_tenants") or "false"),
        with_count=_bool("with_count", one("with_count") or "false"),
    )


def delete_query(query: Mapping[str, Sequence[str]]) -> None:
    """A delete's ``cascade`` and ``force``: booleans, and nothing else. Dockyard volumes
    have no snapshots to cascade to, and a volume in use is never deleted, forced or not."""
    unknown = sorted(set(query) - {"cascade", "force"})
    if unknown:
        raise InvalidInput(f"Invalid parameters {', '.join(unknown)} for a volume delete.")
    for key, values in query.items():
        for value in values:
            _bool(key, value)


@dataclass(frozen=True)
class UpdateRequest:
    """What an update changes: ``None`` leaves the value as it is."""

    name: str | None
    description: str | None


def update(data: bytes) -> UpdateRequest:
    """The ``{"volume": {...}}`` body of an update (``schemas.UPDATE``): ``name`` and
    ``description`` (or their old spellings); Dockyard keeps no metadata."""
    parsed = parse_json(data) if data.strip() else None
    if isinstance(parsed, dict) and set(parsed) != {"volume"}:
        raise InvalidInput("Missing required element 'volume' in request body.")
    fields = _checked(parsed, schemas.UPDATE)
    for old, new in schemas.OLD_NAMES.items():
        if old in fields:
            fields.setdefault(new, fields.pop(old))
    return UpdateRequest(
        name=_text(fields, "name") if "name" in fields else None,
        description=_text(fields, "description") if "description" in fields else None,
    )
