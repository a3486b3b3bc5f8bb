"""Request schemas for the container CRUD endpoints: create, list, update, delete.

Every builder returns a fresh plain-dict JSON schema (Draft 4, checked with
:func:`dockyard.api.schemas.validation.validate`). Versions are ``(major,
minor)`` tuples; numeric bounds come from :class:`Limits`. The schemas of the
action endpoints live in :mod:`dockyard.api.schemas.actions`.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dockyard.api.schemas.validation import BOOL, BOOL_EXT, parse_all_projects
from dockyard.domain.errors import InvalidInput, InvalidParamInVersion, SchemaValidationError
from dockyard.domain.volumes import MountLimits

__all__ = [
    "HOST_PATTERN",
    "IMAGE_PATTERN",
    "LIST_KEYS",
    "NAME_PATTERN",
    "Limits",
    "Version",
    "check_list_query",
    "command_from_string",
    "create_body",
    "delete_query",
    "list_query",
    "name_schema",
    "run_query",
    "update_body",
    "version_gates",
]

Version = tuple[int, int]


@dataclass(frozen=True)
class Limits:
    """Configured bounds of the resource fields (Zun defaults)."""

    min_cpu: float = 0.1
    max_cpu: float = 16.0
    min_memory: int = 4
    max_memory: int = 8192
    min_disk: int = 1
    max_disk: int = 160
    #: Bounds of ``mounts`` (``[volume]`` options).
    mounts: MountLimits = MountLimits()


NAME_PATTERN: Final = "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"
HOST_PATTERN: Final = "^[a-zA-Z0-9-._]*$"
# Unanchored on purpose: an image reference only has to contain this somewhere.
IMAGE_PATTERN: Final = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_CPU_PATTERN: Final = r"^[0-9]*(\.[0-9]+)?$"
_DIGITS: Final = "^[0-9]+$"

_PULL_POLICIES: Final = ("never", "always", "ifnotpresent", "Never", "Always", "IfNotPresent")
_RESTART_NAMES: Final = ("no", "always", "on-failure", "unless-stopped")
# Deliberate fix of a Zun bug: Zun's schema allows 255 characters, but the
# hostname becomes the container's Linux nodename (HOST_NAME_MAX is 64; a DNS
# label is at most 63) and is stored in a 63-character column, so longer
# values passed validation only to fail later. We reject them up front.
_HOSTNAME_MAX: Final = 63

# (parameter, first version, gated even when empty); checked in this order.
_VERSION_GATES: Final[tuple[tuple[str, Version, bool], ...]] = (
    ("auto_remove", (1, 3), True),
    ("runtime", (1, 5), True),
    ("hostname", (1, 9), True),
    ("healthcheck", (1, 22), False),
    ("mounts", (1, 11), False),
    ("privileged", (1, 21), True),
    ("exposed_ports", (1, 24), True),
    ("registry", (1, 31), False),
)

#: ``mounts[].type`` (file injection) came after ``mounts`` themselves.
MOUNT_TYPE_VERSION: Final = (1, 23)

#: Exact-match filters of the list endpoint, in the order their policies are checked.
FILTER_KEYS: Final[tuple[str, ...]] = (
    "name",
    "image",
    "project_id",
    "user_id",
    "memory",
    "host",
    "task_state",
    "status",
    "auto_remove",
)
LIST_KEYS: Final = frozenset(
    {"limit", "marker", "sort_key", "sort_dir", "all_projects", "expand", "resource_url"}
    | set(FILTER_KEYS)
)
_POSITIVE: Final = re.compile(r"[0-9]+")


def _string(
    min_length: int = 0,
    max_length: int | None = None,
    *,
    null: bool = False,
    pattern: str | None = None,
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if null else "string"}
    if min_length:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    if pattern is not None:
        schema["pattern"] = pattern
    return schema


def _object(properties: dict[str, Any], *, null: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "type": ["object", "null"] if null else "object",
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _bool() -> dict[str, Any]:
    return copy.deepcopy(BOOL)


def _bool_ext() -> dict[str, Any]:
    return copy.deepcopy(BOOL_EXT)


def _bounded(types: list[str], pattern: str, low: float, high: float) -> dict[str, Any]:
    """A number that may also be a numeric string (bounds checked on both)."""
    return {
        "type": [*types, "null"],
        "pattern": pattern,
        "minLength": 1,
        "minimum": low,
        "maximum": high,
    }


def name_schema(*, null: bool = True) -> dict[str, Any]:
    """A container name: 2-255 characters, starting alphanumeric."""
    return _string(2, 255, null=null, pattern=NAME_PATTERN)


def _cpu(limits: Limits) -> dict[str, Any]:
    return _bounded(["number", "string"], _CPU_PATTERN, limits.min_cpu, limits.max_cpu)


def _memory(limits: Limits) -> dict[str, Any]:
    return _bounded(["integer", "string"], _DIGITS, limits.min_memory, limits.max_memory)


def _disk(limits: Limits) -> dict[str, Any]:
    return _bounded(["integer", "string"], _DIGITS, limits.min_disk, limits.max_disk)


def _argv() -> dict[str, Any]:
    return {"type": ["array", "null"], "items": {"type": "string"}}


def _restart_policy() -> dict[str, Any]:
    count = {"type": ["integer", "string"], "pattern": _DIGITS, "minimum": 0}
    name = {"type": "string", "enum": list(_RESTART_NAMES)}
    return _object({"Name": name, "MaximumRetryCount": count}, null=True, required=["Name"])


def _nets() -> dict[str, Any]:
    net = _object(
        {
            "network": _string(1, 255),
            "port": _string(1, 255),
            "v4-fixed-ip": {"type": "string", "format": "ipv4"},
            "v6-fixed-ip": {"type": "string", "format": "ipv6"},
        },
        oneOf=[{"required": ["network"]}, {"required": ["port"]}],
    )
    return {"type": ["array", "null"], "items": net}


def _mounts() -> dict[str, Any]:
    mount = _object(
        {
            "type": _string(),
            "source": _string(),
            "destination": _string(),
            "size": {"type": ["integer", "string"]},
        },
        anyOf=[{"required": ["source", "destination"]}, {"required": ["size", "destination"]}],
    )
    return {"type": ["array", "null"], "items": mount}


def _healthcheck() -> dict[str, Any]:
    counts = {key: {"type": "integer", "minimum": 0} for key in ("interval", "retries", "timeout")}
    return _object({"cmd": _string(), **counts}, null=True)


def _exposed_ports() -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "propertyNames": {"format": "port[/tcp|udp]"},
        "additionalProperties": {"type": "object"},
    }


def _create_properties(limits: Limits) -> dict[str, Any]:
    return {
        "image": _string(2, 255, pattern=IMAGE_PATTERN),
        "name": name_schema(),
        "command": _string(null=True),
        "cpu": _cpu(limits),
        "cpu_policy": {"type": "string", "enum": ["dedicated", "shared"]},
        "memory": _memory(limits),
        "disk": _disk(limits),
        "workdir": _string(null=True),
        "environment": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        "labels": {"type": ["object", "null"]},
        "hints": {"type": ["object", "null"]},
        "image_pull_policy": {"type": ["string", "null"], "enum": [*_PULL_POLICIES, None]},
        "image_driver": {"type": ["string", "null"], "enum": ["docker", "glance", "None", None]},
        "restart_policy": _restart_policy(),
        "interactive": _bool(),
        "tty": _bool(),
        "auto_heal": _bool(),
        "privileged": _bool(),
        "auto_remove": {"type": ["boolean", "null"]},
        "security_groups": {"type": ["array", "null"], "items": _string(1, 255)},
        "nets": _nets(),
        "mounts": _mounts(),
        "runtime": _string(null=True),
        "hostname": _string(1, _HOSTNAME_MAX, pattern=HOST_PATTERN),
        "availability_zone": _string(1, 255, null=True),
        "healthcheck": _healthcheck(),
        "exposed_ports": _exposed_ports(),
        "registry": _string(2, 255, pattern=NAME_PATTERN),
    }


def create_body(version: Version, limits: Limits) -> dict[str, Any]:
    """The body schema of ``POST /v1/containers`` at ``version``."""
    properties = _create_properties(limits)
    if version >= (1, 20):
        properties["command"] = _argv()
    if version >= (1, 39):
        properties["host"] = _string(1, 255, pattern=HOST_PATTERN)
    if version >= (1, 40):
        properties["entrypoint"] = _argv()
    schema = _object(properties, required=["image"])
    if version >= (1, 20):
        schema["not"] = {"required": ["security_groups", "exposed_ports"]}
    return schema


def version_gates(version: Version, body: Mapping[str, Any]) -> None:
    """Reject create parameters the negotiated version does not know.

    Raises :class:`InvalidParamInVersion` naming the parameter and the version
    that introduced it.
    """
    for key, first, even_empty in _VERSION_GATES:
        value = body.get(key)
        given = value is not None if even_empty else bool(value)
        if given and version < first:
            raise InvalidParamInVersion(
                f"Parameter '{key}' is not supported at API version "
                f"{version[0]}.{version[1]}; it needs version {first[0]}.{first[1]} or later.",
                field=key,
            )
    if version < MOUNT_TYPE_VERSION and any(
        isinstance(m, Mapping) and "type" in m for m in body.get("mounts") or ()
    ):
        raise InvalidParamInVersion(
            f"Parameter 'mounts.type' is not supported at API version {version[0]}.{version[1]}; "
            f"it needs version {MOUNT_TYPE_VERSION[0]}.{MOUNT_TYPE_VERSION[1]} or later.",
            field="mounts",
        )


def run_query() -> dict[str, Any]:
    """The query schema of create: only ``run``."""
    return _object({"run": _bool_ext()})


def update_body(limits: Limits) -> dict[str, Any]:
    """The body schema of PATCH (and ``resize_container``): at least one key."""
    return _object(
        {
            "cpu": _cpu(limits),
            "memory": _memory(limits),
            "name": name_schema(),
            "auto_heal": _bool(),
        },
        minProperties=1,
    )


def delete_query() -> dict[str, Any]:
    """The query schema of DELETE."""
    return _object({"force": _bool_ext(), "stop": _bool_ext(), "all_projects": _bool_ext()})


def list_query() -> dict[str, Any]:
    """Value types of the list query; unknown keys are :func:`check_list_query`'s job."""
    return {"type": "object", "properties": {key: {"type": "string"} for key in sorted(LIST_KEYS)}}


def check_list_query(params: Mapping[str, str]) -> None:
    """Check the list endpoint's query parameters.

    Raises :class:`InvalidInput` for an unknown key, a ``limit`` that is not a
    positive integer, a ``sort_dir`` other than ``asc``/``desc`` or an
    unparseable ``all_projects``.
    """
    unknown = sorted(set(params) - LIST_KEYS)
    if unknown:
        raise InvalidInput(f"Unknown parameters: {', '.join(unknown)}.", field=unknown[0])
    limit = params.get("limit")
    if limit is not None and not (
        isinstance(limit, str) and _POSITIVE.fullmatch(limit) and int(limit) > 0
    ):
        raise InvalidInput(f"limit must be a positive integer, not {limit!r:.100}.", field="limit")
    sort_dir = params.get("sort_dir")
    if sort_dir is not None and sort_dir not in ("asc", "desc"):
        raise InvalidInput(
            f"sort_dir must be 'asc' or 'desc', not {sort_dir!r:.100}.", field="sort_dir"
        )
    all_projects = params.get("all_projects")
    if all_projects is not None:
        parse_all_projects(all_projects)


def command_from_string(text: str) -> list[str]:
    """Split a pre-1.20 string ``command`` into argv, honouring shell quoting.

    Raises :class:`SchemaValidationError` naming ``command`` for bad quoting.
    """
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise SchemaValidationError(
            f"Invalid input for field 'command': {text!r:.100} cannot be split ({exc}).",
            field="command",
        ) from exc
