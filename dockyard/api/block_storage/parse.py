"""Reading block-storage request bodies and list queries strictly: unknown or mistyped → 400.

Sizes and names are checked by ``domain.volumes`` (one rule for mounts and this API);
this module knows Cinder's envelope: which keys a create may carry, which of them
Dockyard supports only empty, and the list query's filters and controls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dockyard.api.json_body import parse_json
from dockyard.domain.errors import InvalidInput, NotFound

MAX_DESCRIPTION: Final = 255
#: The volume type every Dockyard volume has (Cinder's name for the default type).
DEFAULT_TYPE: Final = "__DEFAULT__"
#: Create keys for what Dockyard has no notion of: accepted only absent, null or empty.
_UNSUPPORTED: Final = frozenset(
    {
        "snapshot_id",
        "source_volid",
        "imageRef",
        "image_id",
        "backup_id",
        "consistencygroup_id",
        "group_id",
        "availability_zone",
        "metadata",
        "multiattach",
        "scheduler_hints",
        "OS-SCH-HNT:scheduler_hints",
    }
)
_CREATE: Final = frozenset({"size", "name", "description", "volume_type"} | _UNSUPPORTED)
#: Cinder's older spellings of name and description.
_OLD_NAMES: Final = {"display_name": "name", "display_description": "description"}
#: Top-level keys a create body may carry beside ``volume``.
_ENVELOPE: Final = frozenset({"volume", "OS-SCH-HNT:scheduler_hints"})

FILTERS: Final = frozenset({"name", "status", "project_id"})
CONTROLS: Final = frozenset(
    {"limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants", "with_count"}
)
SORT_KEYS: Final = frozenset({"id", "name", "status", "size", "created_at", "updated_at"})


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


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == [] or value is False


def _text(fields: Mapping[str, Any], key: str, limit: int) -> str:
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"Invalid input for field/attribute {key}. Value: {value!r} is not "
                           "a string.")  # fmt: skip
    if len(value) > limit:
        raise InvalidInput(
            f"Invalid input for field/attribute {key}. Value: {value[:20]}... is too long "
            f"(at most {limit} characters)."
        )
    return value


def create(data: bytes) -> CreateRequest:
    """The ``{"volume": {...}}`` body of a create."""
    if not data.strip():
        raise InvalidInput("Missing required element 'volume' in request body.")
    parsed = parse_json(data)
    if not isinstance(parsed, dict) or "volume" not in parsed:
        raise InvalidInput("Missing required element 'volume' in request body.")
    extra = sorted(set(parsed) - _ENVELOPE)
    if extra:
        raise InvalidInput(
            f"Additional properties are not allowed ({', '.join(map(repr, extra))} were unexpected)"
        )
    if not _empty(parsed.get("OS-SCH-HNT:scheduler_hints")):
        raise InvalidInput("Dockyard volumes take no scheduler hints.")
    fields = parsed["volume"]
    if not isinstance(fields, dict):
        raise InvalidInput("Invalid input for field/attribute volume: expected an object.")
    fields = dict(fields)
    for old, new in _OLD_NAMES.items():
        if old in fields:
            if fields.get(new) is not None and fields[new] != fields[old]:
                raise InvalidInput(f"'{new}' and '{old}' were both given, with other values.")
            value = fields.pop(old)
            fields.setdefault(new, value)
    unknown = sorted(set(fields) - _CREATE)
    if unknown:
        raise InvalidInput(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
            "were unexpected)"
        )
    for key in sorted(_UNSUPPORTED & set(fields)):
        if not _empty(fields[key]):
            raise InvalidInput(
                f"Dockyard volumes do not support {key}: a volume is made empty, of a size."
            )
    volume_type = fields.get("volume_type")
    if volume_type is not None and volume_type not in ("", DEFAULT_TYPE):
        raise NotFound(f"Volume type with name {volume_type} could not be found.")
    if fields.get("size") is None:
        raise InvalidInput("The size of a new volume is required (whole GiB).")
    return CreateRequest(
        size=fields["size"],
        name=_text(fields, "name", 255),
        description=_text(fields, "description", MAX_DESCRIPTION),
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
    """The ``{"volume": {...}}`` body of an update: ``name`` and ``description`` (or their
    old spellings); anything else → 400, as Dockyard keeps no metadata."""
    parsed = parse_json(data) if data.strip() else None
    if not isinstance(parsed, dict) or set(parsed) != {"volume"}:
        raise InvalidInput("Missing required element 'volume' in request body.")
    fields = parsed["volume"]
    if not isinstance(fields, dict) or not fields:
        raise InvalidInput("An update names the volume's new name or description.")
    fields = dict(fields)
    for old, new in _OLD_NAMES.items():
        if old in fields:
            fields.setdefault(new, fields.pop(old))
    unknown = sorted(set(fields) - {"name", "description"})
    if unknown:
        raise InvalidInput(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
            "were unexpected)"
        )
    return UpdateRequest(
        name=_text(fields, "name", 255) if "name" in fields else None,
        description=(
            _text(fields, "description", MAX_DESCRIPTION) if "description" in fields else None
        ),
    )
