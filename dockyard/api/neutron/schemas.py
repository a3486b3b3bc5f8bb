"""The shapes of the ``/v2.0`` requests and answers, as JSON Schemas.

Each create and update body is checked against its schema here (unknown, mistyped
and unsupported attributes → 400 in Neutron's words), and the same schemas are the
OpenAPI document's: one rule for both. What a schema cannot say (a CIDR is a
network, an MTU given as a string is in range) the resources check after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import jsonschema

from dockyard.domain.errors import InvalidInput

MAX_NAME: Final = 255

_TEXT: Final = {"type": ["string", "null"], "maxLength": MAX_NAME}
#: A boolean, or its name as Neutron's converter takes it ("True", "false").
_BOOL: Final = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"},
    ]
}
_INTEGER: Final = {
    "anyOf": [
        {"type": ["integer", "null"]},
        {"type": "string", "pattern": "^\\s*-?[0-9]+\\s*$"},
    ]
}
_STRINGS: Final = {"type": ["array", "null"], "items": {"type": "string"}}


def _only(*values: Any) -> dict[str, Any]:
    """An attribute Dockyard takes only with the value it implements (or null)."""
    return {"enum": [*values, None]}


def _closed(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


#: Every attribute a request may carry, by name.
ATTRIBUTES: Final[dict[str, dict[str, Any]]] = {
    "name": _TEXT,
    "project_id": _TEXT,
    "tenant_id": _TEXT,
    "admin_state_up": _BOOL,
    "shared": _BOOL,
    "router:external": _BOOL,
    "mtu": _INTEGER,
    "port_security_enabled": _only(True),
    "availability_zone_hints": _only([]),
    "network_id": _TEXT,
    "cidr": _TEXT,
    "ip_version": _INTEGER,
    "gateway_ip": _TEXT,
    "allocation_pools": {
        "type": ["array", "null"],
        "items": _closed({"start": _TEXT, "end": _TEXT}),
    },
    "enable_dhcp": _BOOL,
    "dns_nameservers": _only([]),
    "host_routes": _only([]),
    "fixed_ips": {
        "type": ["array", "null"],
        "items": _closed({"subnet_id": _TEXT, "ip_address": _TEXT}),
    },
    "mac_address": _TEXT,
    "security_groups": _STRINGS,
    "device_id": _TEXT,
    "device_owner": _TEXT,
    "binding:vnic_type": _only("normal"),
    "binding:host_id": _TEXT,
    "stateful": _only(True),
    "security_group_id": _TEXT,
    "direction": _TEXT,
    "ethertype": _TEXT,
    "protocol": {"type": ["string", "integer", "null"]},
    "port_range_min": _INTEGER,
    "port_range_max": _INTEGER,
    "remote_ip_prefix": _TEXT,
    "remote_group_id": _TEXT,
}
#: Networks, subnets and ports have no description; groups and rules do.
_NO_DESCRIPTION: Final = _only("")
_DESCRIPTION: Final = _TEXT


def _fields(
    names: str, required: tuple[str, ...] = (), description: dict[str, Any] = _NO_DESCRIPTION
) -> dict[str, Any]:
    properties = {name: ATTRIBUTES[name] for name in names.split()}
    properties["description"] = description
    return _closed(dict(sorted(properties.items())), required)


#: (Neutron's singular key, "create" | "update") → the schema of the object under the key.
FIELDS: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("network", "create"): _fields(
        "name admin_state_up shared router:external mtu project_id tenant_id "
        "port_security_enabled availability_zone_hints"
    ),
    ("network", "update"): _fields("name admin_state_up shared router:external mtu"),
    ("subnet", "create"): _fields(
        "network_id cidr ip_version gateway_ip allocation_pools name project_id tenant_id "
        "enable_dhcp dns_nameservers host_routes",
        ("network_id", "cidr"),
    ),
    ("subnet", "update"): _fields("name enable_dhcp dns_nameservers host_routes"),
    ("port", "create"): _fields(
        "network_id fixed_ips mac_address name security_groups device_id device_owner "
        "admin_state_up project_id tenant_id port_security_enabled binding:vnic_type",
        ("network_id",),
    ),
    ("port", "update"): _fields(
        "name admin_state_up security_groups device_id device_owner binding:host_id"
    ),
    ("security_group", "create"): _fields(
        "name project_id tenant_id stateful", description=_DESCRIPTION
    ),
    ("security_group", "update"): _fields("name", description=_DESCRIPTION),
    ("security_group_rule", "create"): _fields(
        "security_group_id direction ethertype protocol port_range_min port_range_max "
        "remote_ip_prefix remote_group_id project_id tenant_id",
        ("security_group_id", "direction"),
        description=_DESCRIPTION,
    ),
}


def body(resource: str, action: str) -> dict[str, Any]:
    """The whole request body: ``{resource: {...}}`` and nothing beside it."""
    return _closed({resource: FIELDS[(resource, action)]}, (resource,))


def check(fields: Mapping[str, Any], resource: str, action: str) -> None:
    """``fields`` against their schema; the first error → 400 in Neutron's words."""
    validator = jsonschema.Draft202012Validator(FIELDS[(resource, action)])
    error = jsonschema.exceptions.best_match(validator.iter_errors(fields))
    if error is None:
        return
    if not error.path:
        if error.validator == "required":
            name = str(error.message).split("'")[1]
            raise InvalidInput(
                f"Failed to parse request. Required attribute '{name}' not specified",
                field=name,
            )
        unknown = sorted(set(fields) - set(FIELDS[(resource, action)]["properties"]))
        raise InvalidInput(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    key = str(error.path[0])
    if error.validator == "enum" and len(error.path) == 1:
        allowed = error.validator_value[0]
        raise InvalidInput(
            f"Invalid input for {key}: Dockyard supports only {allowed!r} here.", field=key
        )
    raise InvalidInput(
        f"Invalid input for {key}. Reason: {_short(error.instance)} is not valid here "
        f"({error.message[:200]}).",
        field=key,
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# answers

_STRING: Final = {"type": "string"}
_NULLABLE: Final = {"type": ["string", "null"]}
_OWNED: Final = {"project_id": _STRING, "tenant_id": _STRING}
_EMPTY: Final = {"type": "array", "maxItems": 0}
_REVISION: Final = {"revision_number": {"type": "integer"}}
_IDS: Final = {"type": "array", "items": _STRING}
_ADDRESS: Final = _closed({"subnet_id": _STRING, "ip_address": _STRING})

#: What the views render (a list or show with ``fields`` keeps only those: nothing is required).
VIEWS: Final[dict[str, dict[str, Any]]] = {
    "network": _closed(
        {
            "id": _STRING, "name": _STRING, **_OWNED, "admin_state_up": {"type": "boolean"},
            "status": _STRING, "shared": {"type": "boolean"},
            "router:external": {"type": "boolean"}, "mtu": {"type": "integer"},
            "subnets": _IDS, "description": _STRING, "availability_zone_hints": _EMPTY,
            "availability_zones": _EMPTY, "ipv4_address_scope": {"type": "null"},
            "ipv6_address_scope": {"type": "null"}, "port_security_enabled": {"const": True},
            "is_default": {"type": "boolean"}, "l2_adjacency": {"type": "boolean"},
            "tags": _EMPTY, **_REVISION,
        }
    ),
    "subnet": _closed(
        {
            "id": _STRING, "name": _STRING, **_OWNED, "network_id": _STRING,
            "ip_version": {"enum": [4, 6]}, "cidr": _STRING, "gateway_ip": _NULLABLE,
            "allocation_pools": {
                "type": "array", "items": _closed({"start": _STRING, "end": _STRING}),
            },
            "enable_dhcp": {"type": "boolean"}, "dns_nameservers": _EMPTY,
            "host_routes": _EMPTY, "ipv6_ra_mode": {"type": "null"},
            "ipv6_address_mode": {"type": "null"}, "subnetpool_id": {"type": "null"},
            "service_types": _EMPTY, "description": _STRING, "tags": _EMPTY, **_REVISION,
        }
    ),
    "port": _closed(
        {
            "id": _STRING, "name": _STRING, **_OWNED, "network_id": _STRING,
            "mac_address": _STRING, "admin_state_up": {"type": "boolean"}, "status": _STRING,
            "device_id": _STRING, "device_owner": _STRING,
            "fixed_ips": {"type": "array", "items": _ADDRESS}, "security_groups": _IDS,
            "binding:host_id": _NULLABLE, "binding:vif_type": _STRING,
            "binding:vnic_type": _STRING, "binding:profile": {"type": "object"},
            "binding:vif_details": {"type": "object"}, "allowed_address_pairs": _EMPTY,
            "extra_dhcp_opts": _EMPTY, "port_security_enabled": {"const": True},
            "description": _STRING, "tags": _EMPTY, **_REVISION,
        }
    ),
    "security_group_rule": _closed(
        {
            "id": _STRING, **_OWNED, "security_group_id": _STRING,
            "direction": {"enum": ["ingress", "egress"]},
            "ethertype": {"enum": ["IPv4", "IPv6"]}, "protocol": _NULLABLE,
            "port_range_min": {"type": ["integer", "null"]},
            "port_range_max": {"type": ["integer", "null"]}, "remote_ip_prefix": _NULLABLE,
            "remote_group_id": _NULLABLE, "remote_address_group_id": {"type": "null"},
            "description": _STRING, **_REVISION,
        }
    ),
    "security_group": _closed(
        {
            "id": _STRING, "name": _STRING, **_OWNED, "description": _STRING,
            "security_group_rules": {
                "type": "array", "items": {"$ref": "#/components/schemas/NeutronSecurityGroupRule"}
            },
            "stateful": {"const": True}, "shared": {"const": False}, "tags": _EMPTY,
            **_REVISION,
        }
    ),
}  # fmt: skip

ERROR: Final = _closed(
    {
        "NeutronError": _closed(
            {"type": _STRING, "message": _STRING, "detail": _STRING},
            ("type", "message", "detail"),
        )
    },
    ("NeutronError",),
)
