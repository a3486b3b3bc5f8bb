"""The shapes of the ``/volume`` requests and answers, as JSON Schemas.

The create and update bodies are checked against these schemas (``parse``), and
the OpenAPI document publishes the same ones. What a schema cannot say (a name and
its old spelling agree, the volume type exists, the size fits) ``parse`` and the
domain check after it.
"""

from __future__ import annotations

from typing import Any, Final

MAX_TEXT: Final = 255
#: The volume type every Dockyard volume has (Cinder's name for the default type).
DEFAULT_TYPE: Final = "__DEFAULT__"
#: Create keys for what Dockyard has no notion of: accepted only absent, null or empty.
UNSUPPORTED: Final = (
    "snapshot_id", "source_volid", "imageRef", "image_id", "backup_id",
    "consistencygroup_id", "group_id", "availability_zone", "metadata", "multiattach",
    "scheduler_hints", "OS-SCH-HNT:scheduler_hints",
)  # fmt: skip
#: Cinder's older spellings of name and description.
OLD_NAMES: Final = {"display_name": "name", "display_description": "description"}

_TEXT: Final = {"type": ["string", "null"], "maxLength": MAX_TEXT}
_EMPTY: Final[dict[str, Any]] = {"enum": [None, "", {}, [], False]}
_WHOLE: Final = "^\\s*-?[0-9]+\\s*$"


def _closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


_NAMES: Final = {
    "name": _TEXT,
    "description": _TEXT,
    "display_name": _TEXT,
    "display_description": _TEXT,
}
CREATE_FIELDS: Final = _closed(
    {
        "size": {"type": ["integer", "string"], "pattern": _WHOLE},
        **_NAMES,
        "volume_type": {"type": ["string", "null"]},
        **dict.fromkeys(UNSUPPORTED, _EMPTY),
    },
    ("size",),
)
CREATE: Final = _closed(
    {"volume": CREATE_FIELDS, "OS-SCH-HNT:scheduler_hints": _EMPTY}, ("volume",)
)
UPDATE_FIELDS: Final = {**_closed(_NAMES), "minProperties": 1}
UPDATE: Final = _closed({"volume": UPDATE_FIELDS}, ("volume",))

FILTERS: Final = frozenset({"name", "status", "project_id"})
CONTROLS: Final = frozenset(
    {"limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants", "with_count"}
)
SORT_KEYS: Final = frozenset({"id", "name", "status", "size", "created_at", "updated_at"})
_BOOLEAN_TEXT: Final = {
    "type": "string",
    "pattern": "^\\s*([Tt]([Rr][Uu][Ee])?|[Ff]([Aa][Ll][Ss][Ee])?|[Yy]([Ee][Ss])?|[Nn][Oo]?"
    "|[Oo][Nn]|[Oo][Ff][Ff]|1|0|)\\s*$",
}
_DIGITS: Final = {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"}
#: The list query, one schema per parameter (each given once).
LIST_QUERY: Final[dict[str, dict[str, Any]]] = {
    "name": {"type": "string"},
    "status": {"type": "string"},
    "project_id": {"type": "string"},
    "limit": _DIGITS,
    "offset": _DIGITS,
    "marker": {"type": "string"},
    "sort": {
        "type": "string",
        "description": "key[:asc|desc],... of " + ", ".join(sorted(SORT_KEYS)),
    },
    "sort_key": {"type": "string"},
    "sort_dir": {"type": "string"},
    "all_tenants": _BOOLEAN_TEXT,
    "with_count": _BOOLEAN_TEXT,
}
DELETE_QUERY: Final = {"cascade": _BOOLEAN_TEXT, "force": _BOOLEAN_TEXT}

# answers

_STRING: Final = {"type": "string"}
_NULLABLE: Final = {"type": ["string", "null"]}
_NULL: Final = {"type": "null"}
LINKS: Final = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"rel": _STRING, "href": _STRING, "type": _STRING},
        "required": ["rel", "href"],
    },
}
SUMMARY: Final = _closed({"id": _STRING, "name": _STRING, "links": LINKS}, ("id", "name", "links"))
_ATTACHMENT: Final = _closed(
    {
        "id": _STRING, "attachment_id": _STRING, "volume_id": _STRING, "server_id": _STRING,
        "host_name": _NULLABLE, "device": _NULLABLE, "attached_at": _NULLABLE,
    }
)  # fmt: skip
_DETAIL_FIELDS: Final = {
    "id": _STRING, "name": _STRING, "description": _NULLABLE, "status": _STRING,
    "size": {"type": "integer"}, "availability_zone": _STRING, "created_at": _NULLABLE,
    "updated_at": _NULLABLE, "attachments": {"type": "array", "items": _ATTACHMENT},
    "bootable": {"enum": ["true", "false"]}, "encrypted": {"type": "boolean"},
    "multiattach": {"type": "boolean"}, "metadata": {"type": "object"},
    "volume_type": _STRING, "snapshot_id": _NULL, "source_volid": _NULL,
    "consistencygroup_id": _NULL, "group_id": _NULL, "provider_id": _NULL,
    "service_uuid": _NULL, "shared_targets": {"type": "boolean"},
    "replication_status": _NULL, "user_id": _NULLABLE,
    "os-vol-tenant-attr:tenant_id": _STRING, "links": LINKS,
    # An admin's view only:
    "os-vol-host-attr:host": _NULLABLE, "os-vol-mig-status-attr:migstat": _NULL,
    "os-vol-mig-status-attr:name_id": _NULL,
}  # fmt: skip
DETAIL: Final = _closed(_DETAIL_FIELDS, ("id", "status", "size", "links"))

_VERSION: Final = {
    "type": "object",
    "properties": {
        "id": _STRING, "status": _STRING, "version": _STRING, "min_version": _STRING,
        "updated": _STRING, "links": LINKS, "media-types": {"type": "array"},
    },
    "required": ["id", "status", "version", "min_version", "links"],
}  # fmt: skip
#: Every answer's schema, by the name the OpenAPI document gives it.
ANSWERS: Final[dict[str, dict[str, Any]]] = {
    "VolumeVersions": _closed({"versions": {"type": "array", "items": _VERSION}}, ("versions",)),
    "Volume": DETAIL,
    "VolumeSummary": SUMMARY,
    "VolumeOne": _closed({"volume": {"$ref": "#/components/schemas/Volume"}}, ("volume",)),
    "VolumeList": _closed(
        {
            "volumes": {"type": "array", "items": {"$ref": "#/components/schemas/VolumeSummary"}},
            "volumes_links": LINKS,
            "count": {"type": "integer"},
        },
        ("volumes",),
    ),
    "VolumeDetailList": _closed(
        {
            "volumes": {"type": "array", "items": {"$ref": "#/components/schemas/Volume"}},
            "volumes_links": LINKS,
            "count": {"type": "integer"},
        },
        ("volumes",),
    ),
    "VolumeExtensions": _closed({"extensions": {"type": "array"}}, ("extensions",)),
    "VolumeLimits": _closed(
        {
            "limits": _closed(
                {
                    "rate": {"type": "array"},
                    "absolute": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
                ("rate", "absolute"),
            )
        },
        ("limits",),
    ),
    #: ``{"<fault>": {"code", "message"}}``, the fault named by the status.
    "CinderError": {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": _closed(
            {"code": {"type": "integer"}, "message": _STRING, "retryAfter": _STRING},
            ("code", "message"),
        ),
    },
}
