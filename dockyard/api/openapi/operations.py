"""What each route takes and answers, by route key: the schemas its handler validates
with (or, for handlers that check by hand, the shape they check), and the component
name of the body it answers with.

The document generator refuses a route missing here, so a new route cannot be
served undocumented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from dockyard.api.schemas import (
    actions,
    containers,
    hosts,
    images,
    networks,
    quotas,
    registries,
)
from dockyard.api.schemas.containers import Limits
from dockyard.api.versions import Version

SchemaOf = Callable[[Version, Limits], dict[str, Any]]


def fixed(schema: dict[str, Any]) -> SchemaOf:
    return lambda version, limits: schema


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


_TEXT = {"type": ["string", "null"]}
_POSITIVE_DIGITS = {"type": "string", "pattern": "^[0-9]+$"}
_PAGING = _object({"limit": _POSITIVE_DIGITS, "sort_dir": {"enum": ["asc", "desc"]}})
_REGISTRY_LIST = _object({key: {"type": "string"} for key in sorted(registries.LIST_KEYS)})


@dataclass(frozen=True)
class Operation:
    summary: str
    #: Success status and the component name of its body (None: no body).
    status: int
    answer: str | None
    query: SchemaOf | None = None
    body: SchemaOf | None = None
    #: Whether the parameters may come in the query string as well as the body.
    merged: bool = False
    #: A route answering 501 until the feature exists.
    not_implemented: bool = False
    #: Request headers beyond the microversion's.
    headers: tuple[dict[str, Any], ...] = ()
    #: Conditional: 304 for an ``If-None-Match`` that names the current ETag.
    conditional: bool = False


def _action(summary: str, query: SchemaOf | None = None) -> Operation:
    return Operation(summary, 202, "Null", query=query)


BASE: Final = "/v1/containers/<ident>"
QUOTA: Final = "/v1/quotas/<project_id>"
QUOTA_CLASS: Final = "/v1/quota_classes/<class_name>"

OPERATIONS: Final[dict[str, Operation]] = {
    "GET /v1": Operation("The v1 API's resources", 200, "V1"),
    "GET /v1/openapi.json": Operation("This document", 200, "OpenAPI"),
    # -- containers --------------------------------------------------------------
    "POST /v1/containers": Operation(
        "Create a container (and start it with run=true)",
        202,
        "Container",
        query=fixed(containers.run_query()),
        body=containers.create_body,
    ),
    "GET /v1/containers": Operation(
        "List containers", 200, "ContainerList", query=fixed(containers.list_query())
    ),
    f"GET {BASE}": Operation(
        "Show a container (conditionally, and waiting for a change)",
        200,
        "Container",
        headers=(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "ETags the client holds: 304 while one is current.",
                "schema": {"type": "string"},
            },
            {
                "name": "Prefer",
                "in": "header",
                "required": False,
                "description": "`wait=N` (RFC 7240) with If-None-Match: hold the answer "
                "until the container changes, up to N seconds ([api] max_wait caps N).",
                "schema": {"type": "string"},
            },
        ),
        conditional=True,
    ),
    f"PATCH {BASE}": Operation(
        "Update a container's name, cpu, memory or auto_heal",
        200,
        "Container",
        body=lambda version, limits: containers.update_body(limits),
        merged=True,
    ),
    f"DELETE {BASE}": Operation(
        "Delete a container", 204, None, query=fixed(containers.delete_query())
    ),
    f"POST {BASE}/start": _action("Start a container"),
    f"POST {BASE}/pause": _action("Pause a container"),
    f"POST {BASE}/unpause": _action("Unpause a container"),
    f"POST {BASE}/stop": _action("Stop a container", fixed(actions.stop_query())),
    f"POST {BASE}/reboot": _action("Restart a container", fixed(actions.reboot_query())),
    f"POST {BASE}/kill": Operation(
        "Send a signal", 202, "Null", body=fixed(actions.kill_body()), merged=True
    ),
    f"POST {BASE}/rebuild": Operation(
        "Re-create a container from its image (or another)",
        202,
        "Null",
        body=fixed(_object({"image": _TEXT, "image_driver": _TEXT})),
        merged=True,
    ),
    f"GET {BASE}/logs": Operation(
        "A container's output", 200, "Text", query=fixed(actions.logs_query())
    ),
    f"POST {BASE}/execute": Operation(
        "Run a command in a container",
        200,
        "ExecResult",
        body=fixed(actions.execute_query()),
        merged=True,
    ),
    f"POST {BASE}/rename": Operation(
        "Rename a container (before 1.14; PATCH later)",
        200,
        "Container",
        body=fixed(actions.rename_query()),
        merged=True,
    ),
    f"GET {BASE}/container_actions": Operation(
        "The actions taken on a container", 200, "ActionList"
    ),
    f"GET {BASE}/container_actions/<request_id>": Operation(
        "One action and its events", 200, "ActionWithEvents"
    ),
    f"POST {BASE}/resize_container": Operation(
        "Change a container's cpu and memory",
        202,
        "Container",
        body=lambda version, limits: containers.update_body(limits),
        merged=True,
    ),
    f"GET {BASE}/top": Operation(
        "A container's processes", 200, "Processes", query=fixed(actions.top_query())
    ),
    f"GET {BASE}/stats": Operation("A container's resource usage", 200, "Stats"),
    f"GET {BASE}/get_archive": Operation(
        "A tar archive of a path in a container",
        200,
        "Archive",
        query=fixed(_object({"path": {"type": "string", "minLength": 1}}, ("path",))),
    ),
    f"POST {BASE}/put_archive": Operation(
        "Unpack a tar archive (base64 from 1.25) into a container",
        200,
        "Null",
        body=fixed(
            _object(
                {"path": {"type": "string", "minLength": 1}, "data": {"type": "string"}},
                ("path", "data"),
            )
        ),
        merged=True,
    ),
    f"POST {BASE}/commit": Operation(
        "Save a container as an image",
        202,
        "Committed",
        query=fixed(actions.commit_query()),
    ),
    f"POST {BASE}/execute_resize": Operation(
        "Resize the TTY of an exec session",
        200,
        "Null",
        body=fixed(actions.execute_resize_query()),
        merged=True,
    ),
    f"GET {BASE}/attach": Operation("The console URL of a container", 200, "Text"),
    f"POST {BASE}/resize": Operation(
        "Resize a container's TTY", 200, "Null", body=fixed(actions.resize_query()), merged=True
    ),
    f"POST {BASE}/add_security_group": Operation(
        "Add a security group to the container's ports",
        202,
        "Null",
        body=fixed(actions.security_group_args()),
        merged=True,
    ),
    f"POST {BASE}/remove_security_group": Operation(
        "Remove a security group from the container's ports",
        202,
        "Null",
        body=fixed(actions.security_group_args()),
        merged=True,
    ),
    f"POST {BASE}/network_attach": Operation(
        "Attach the container to a network or port",
        200,
        "Null",
        body=fixed(actions.network_attach_args()),
        merged=True,
    ),
    f"POST {BASE}/network_detach": Operation(
        "Detach the container from a network or port",
        202,
        "Null",
        body=fixed(actions.network_detach_args()),
        merged=True,
    ),
    f"GET {BASE}/network_list": Operation("A container's networks", 200, "NetworkList"),
    # -- quotas ------------------------------------------------------------------
    f"GET {QUOTA}": Operation(
        "A project's quotas (with usages=true, what it uses)",
        200,
        "Quotas",
        query=fixed(quotas.GET_QUERY),
    ),
    f"GET {QUOTA}/defaults": Operation(
        "The default quotas", 200, "Quotas", query=fixed(quotas.NO_QUERY)
    ),
    f"PUT {QUOTA}": Operation(
        "Set a project's quotas", 200, "Quotas", body=fixed(quotas.UPDATE), merged=True
    ),
    f"DELETE {QUOTA}": Operation(
        "Reset a project's quotas to the defaults", 200, "Null", query=fixed(quotas.NO_QUERY)
    ),
    f"GET {QUOTA_CLASS}": Operation(
        "A quota class's limits", 200, "Quotas", query=fixed(quotas.NO_QUERY)
    ),
    f"PUT {QUOTA_CLASS}": Operation(
        "Set a quota class's limits", 200, "Quotas", body=fixed(quotas.UPDATE), merged=True
    ),
    # -- hosts, services, zones --------------------------------------------------
    "GET /v1/hosts": Operation("List compute hosts", 200, "HostList", query=fixed(_PAGING)),
    "GET /v1/hosts/<ident>": Operation("Show a compute host", 200, "Host"),
    "GET /v1/services": Operation("List the compute services", 200, "ServiceList"),
    "DELETE /v1/services": Operation(
        "Forget a compute service", 200, "Null", body=fixed(hosts.SERVICE), merged=True
    ),
    "PUT /v1/services/enable": Operation(
        "Enable a compute service", 200, "ServiceSwitch", body=fixed(hosts.SERVICE), merged=True
    ),
    "PUT /v1/services/disable": Operation(
        "Disable a compute service",
        200,
        "ServiceSwitch",
        body=fixed(hosts.DISABLE),
        merged=True,
    ),
    "PUT /v1/services/force_down": Operation(
        "Mark a compute service down (or up again)",
        200,
        "ServiceSwitch",
        body=fixed(hosts.FORCE_DOWN),
        merged=True,
    ),
    "GET /v1/availability_zones": Operation(
        "List availability zones", 200, "AvailabilityZones", query=fixed(_PAGING)
    ),
    # -- registries --------------------------------------------------------------
    "POST /v1/registries": Operation(
        "Store a private registry's credentials",
        201,
        "RegistryOne",
        body=fixed(registries.CREATE),
    ),
    "GET /v1/registries": Operation(
        "List registries", 200, "RegistryList", query=fixed(_REGISTRY_LIST)
    ),
    "GET /v1/registries/<ident>": Operation("Show a registry", 200, "RegistryOne"),
    "PATCH /v1/registries/<ident>": Operation(
        "Update a registry", 200, "RegistryOne", body=fixed(registries.UPDATE), merged=True
    ),
    "DELETE /v1/registries/<ident>": Operation("Delete a registry", 204, None),
    # -- networks ----------------------------------------------------------------
    "POST /v1/networks": Operation(
        "Record an engine network for a network",
        200,
        "ZunNetwork",
        body=fixed(networks.CREATE),
        merged=True,
    ),  # fmt: skip
    "DELETE /v1/networks/<network_id>": Operation("Delete a network's engine networks", 204, None),
    # -- images ------------------------------------------------------------------
    "GET /v1/images": Operation(
        "List images on the hosts",
        200,
        "ImageList",
        query=fixed(
            _object(
                {
                    "limit": _POSITIVE_DIGITS,
                    "marker": {"type": "string"},
                    "sort_key": {"type": "string"},
                    "sort_dir": {"enum": ["asc", "desc"]},
                }
            )
        ),
    ),  # fmt: skip
    "GET /v1/images/<ident>": Operation("Show an image", 200, "Image"),
    "POST /v1/images": Operation(
        "Pull an image onto a host (asynchronous)", 202, "Image", body=fixed(images.PULL)
    ),
    "DELETE /v1/images/<ident>": Operation("Remove an image from its host", 200, "Null"),
    "GET /v1/images/<path:image>/search": Operation(
        "Search the image's registry", 200, "ImageSearch", query=fixed(images.SEARCH)
    ),
}
