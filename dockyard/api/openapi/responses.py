"""Schemas of response bodies: the shapes the views render (dockyard/api/views).

A field a policy may hide (``container:get_one:<field>``, ``registry:get_one:<field>``)
is not required; a view never renders a key its schema does not name.
"""

from __future__ import annotations

from typing import Any, Final

from dockyard.domain.states import Status


def _nullable(kind: str | list[str]) -> dict[str, Any]:
    kinds = [kind] if isinstance(kind, str) else kind
    return {"type": [*kinds, "null"]}


def _closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_STRING: Final = {"type": "string"}
_TEXT: Final = _nullable("string")
_BOOL: Final = {"type": "boolean"}
_ARGV: Final = {"type": ["array", "null"], "items": _STRING}
_STRING_MAP: Final = {"type": "object", "additionalProperties": _STRING}

LINKS: Final = {
    "type": "array",
    "items": _closed({"href": _STRING, "rel": _STRING, "type": _STRING}, ["href", "rel"]),
}

CONTAINER: Final = _closed(
    {
        "uuid": {"type": "string", "format": "uuid"},
        "name": _TEXT,
        "project_id": _TEXT,
        "user_id": _TEXT,
        "image": _STRING,
        "image_driver": _TEXT,
        "image_pull_policy": _TEXT,
        "command": _ARGV,
        "entrypoint": _ARGV,
        "cpu": _nullable("number"),
        "cpu_policy": _STRING,
        "memory": _TEXT,
        "disk": {"type": "integer"},
        "environment": _STRING_MAP,
        "labels": _STRING_MAP,
        "workdir": _TEXT,
        "hostname": _TEXT,
        "ports": {"type": ["array", "null"]},
        "addresses": {"type": ["object", "null"]},
        "security_groups": {"type": ["array", "null"]},
        "restart_policy": {
            "type": ["object", "null"],
            "properties": {"Name": _STRING, "MaximumRetryCount": _STRING},
        },
        "interactive": _BOOL,
        "tty": _BOOL,
        "auto_remove": _BOOL,
        "auto_heal": _BOOL,
        "privileged": _BOOL,
        "runtime": _TEXT,
        "healthcheck": {"type": ["object", "null"]},
        "registry_id": _TEXT,
        "host": _TEXT,
        "status": {"enum": [str(s) for s in Status]},
        "status_reason": _TEXT,
        "status_detail": _TEXT,
        "task_state": _TEXT,
        "created_at": _TEXT,
        "updated_at": _TEXT,
        "links": LINKS,
    },
    ["uuid"],
)


IMAGE: Final = _closed(
    {
        "uuid": _STRING,
        "links": LINKS,
        "image_id": _TEXT,
        "repo": _STRING,
        "tag": _TEXT,
        "size": _TEXT,
        "project_id": _TEXT,
        "host": _TEXT,
        "status": _STRING,
        "status_reason": _TEXT,
        "progress": {"type": ["object", "null"]},
    },
    ["uuid", "links", "repo", "host", "status"],
)


def _page(key: str, item: str) -> dict[str, Any]:
    return _closed({key: {"type": "array", "items": ref(item)}, "next": _TEXT}, [key, "next"])


_ACTION_FIELDS: Final = {
    "action": _STRING,
    "container_uuid": _STRING,
    "request_id": _STRING,
    "user_id": _TEXT,
    "project_id": _TEXT,
    "start_time": _TEXT,
    "finish_time": _TEXT,
    "message": _TEXT,
}
_EVENT: Final = _closed(
    {
        "event": _STRING,
        "start_time": _TEXT,
        "finish_time": _TEXT,
        "result": _TEXT,
        "traceback": _TEXT,
    }
)

HOST: Final = _closed(
    {
        "uuid": _STRING,
        "links": LINKS,
        "hostname": _STRING,
        "mem_total": {"type": "integer"},
        "mem_used": {"type": "integer"},
        "cpus": {"type": "integer"},
        "cpu_used": {"type": "number"},
        "disk_total": {"type": "integer"},
        "disk_used": {"type": "integer"},
        "disk_quota_supported": _BOOL,
        "total_containers": {"type": "integer"},
        "architecture": _TEXT,
        "os_type": _TEXT,
        "os": _TEXT,
        "kernel_version": _TEXT,
        "labels": {"type": ["object", "null"]},
        "runtimes": {"type": "array", "items": _STRING},
        "enable_cpu_pinning": _BOOL,
    },
    ["uuid", "hostname"],
)

SERVICE: Final = _closed(
    {
        "id": {"type": ["integer", "null"]},
        "host": _STRING,
        "binary": _STRING,
        "state": {"enum": ["up", "down"]},
        "disabled": _BOOL,
        "disabled_reason": _TEXT,
        "forced_down": _BOOL,
        "last_seen_up": _TEXT,
        "report_count": {"type": "integer"},
        "availability_zone": _TEXT,
        "created_at": _TEXT,
        "updated_at": _TEXT,
    },
    ["host", "binary"],
)

REGISTRY: Final = _closed(
    {
        "uuid": _STRING,
        "name": _TEXT,
        "domain": _STRING,
        "username": _TEXT,
        "password": _TEXT,
        "project_id": _TEXT,
        "user_id": _TEXT,
        "links": LINKS,
    },
)

ERRORS: Final = _closed(
    {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": _closed(
                {
                    "request_id": _STRING,
                    "code": {"type": "string", "pattern": "^container\\.[a-z0-9-]+$"},
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "title": _STRING,
                    "detail": _STRING,
                    "links": {"type": "array"},
                },
                ["code", "status", "title", "detail"],
            ),
        }
    },
    ["errors"],
)

_VERSION: Final = {
    "type": "object",
    "properties": {
        "id": _STRING,
        "status": _STRING,
        "min_version": _STRING,
        "max_version": _STRING,
        "links": LINKS,
    },
    "required": ["id", "min_version", "max_version"],
}

#: Every response schema, by component name.
SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "Null": {"type": "null"},
    "Text": _STRING,
    "Errors": ERRORS,
    "Versions": _closed(
        {
            "name": _STRING,
            "description": _STRING,
            "versions": {"type": "array", "items": _VERSION},
            "default_version": _VERSION,
        },
        ["versions"],
    ),  # fmt: skip
    "V1": {"type": "object", "required": ["id", "links"], "properties": {"links": LINKS}},
    "OpenAPI": {"type": "object", "required": ["openapi", "paths"]},
    "Container": CONTAINER,
    "ContainerList": _page("containers", "Container"),
    "Action": _closed(_ACTION_FIELDS),
    "ActionList": _closed(
        {"containerActions": {"type": "array", "items": ref("Action")}}, ["containerActions"]
    ),
    "ActionWithEvents": _closed(
        {**_ACTION_FIELDS, "events": {"type": "array", "items": _EVENT}}, ["events"]
    ),
    "ExecResult": _closed(
        {
            "output": _TEXT,
            "exit_code": _nullable("integer"),
            "exec_id": _TEXT,
            "proxy_url": _TEXT,
        },
        ["output", "exit_code", "exec_id", "proxy_url"],
    ),
    "Processes": _closed(
        {
            "Titles": {"type": "array", "items": _STRING},
            "Processes": {"type": "array", "items": {"type": "array"}},
        },
        ["Titles", "Processes"],
    ),
    "Stats": _closed(
        {
            "CONTAINER": _STRING,
            "CPU %": {"type": "number"},
            "MEM USAGE(MiB)": {"type": "number"},
            "MEM LIMIT(MiB)": {"type": "number"},
            "MEM %": {"type": "number"},
            "BLOCK I/O(B)": _STRING,
            "NET I/O(B)": _STRING,
        }
    ),
    "Archive": _closed({"data": _STRING, "stat": {"type": "object"}}, ["data", "stat"]),
    "Committed": _closed({"uuid": _STRING}, ["uuid"]),
    "Host": HOST,
    "HostList": _page("hosts", "Host"),
    "Service": SERVICE,
    "ServiceList": _closed({"services": {"type": "array", "items": ref("Service")}}, ["services"]),
    "ServiceSwitch": _closed({"service": {"type": "object"}}, ["service"]),
    "AvailabilityZones": _page("availability_zones", "AvailabilityZone"),
    "AvailabilityZone": _closed({"availability_zone": _STRING}, ["availability_zone"]),
    "Quotas": {
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                {"type": "integer"},
                {"type": "object", "additionalProperties": {"type": "number"}},
            ]
        },
    },
    "Registry": REGISTRY,
    "RegistryOne": _closed({"registry": ref("Registry")}, ["registry"]),
    "RegistryList": _page("registries", "Registry"),
    "ZunNetwork": _closed(
        {
            key: _TEXT
            for key in ("uuid", "name", "project_id", "user_id", "network_id", "neutron_net_id")
        },
        ["uuid", "name", "network_id", "neutron_net_id"],
    ),  # fmt: skip
    "NetworkList": _closed(
        {"networks": {"type": "array", "items": {"type": "object"}}}, ["networks"]
    ),
    "Image": IMAGE,
    "ImageList": _page("images", "Image"),
    "ImageSearch": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"name": _TEXT, "description": _TEXT, "tags": {"type": "array"}},
        },
    },
}
