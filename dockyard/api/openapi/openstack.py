"""The OpenStack subsets beside the Zun API: Neutron v2.0 (``/v2.0``), block storage v3
(``/volume``) and identity v3 (``/v3``), described from their apps' route tables and
the schemas their parsers check with.

Each app's every route must be described here: the document generator refuses an
undescribed one, so a new route cannot be served undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from dockyard.api import identity_schemas, identity_v3
from dockyard.api.block_storage import app as block_storage
from dockyard.api.block_storage import microversion
from dockyard.api.block_storage import schemas as volume_schemas
from dockyard.api.block_storage import views as volume_views
from dockyard.api.neutron import app as neutron
from dockyard.api.neutron import schemas as network_schemas
from dockyard.api.openapi.responses import ref

_PARAMETER: Final = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Call:
    summary: str
    #: Success status and the component name of its body (None: no body).
    status: int
    answer: str | None
    body: dict[str, Any] | None = None
    #: Query parameters: name → schema.
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: tuple[dict[str, Any], ...] = ()
    #: Served without a token.
    public: bool = False
    #: Response headers of the success.
    answer_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subset:
    """One app: its served routes, their descriptions and its error body."""

    name: str
    routes: tuple[tuple[str, str, str], ...]
    calls: dict[str, Call]
    error: str
    #: Parameters every operation of the app takes (its microversion header).
    common: tuple[dict[str, Any], ...] = ()


def _header(
    name: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": schema,
    }


# -- Neutron v2.0 ------------------------------------------------------------------

_FIELDS: Final = {"type": "array", "items": {"type": "string"}}
_SHOW_QUERY: Final = {"fields": _FIELDS}
_LIST_QUERY: Final[dict[str, dict[str, Any]]] = {
    "fields": _FIELDS,
    "limit": {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"},
    "marker": {"type": "string"},
    "sort_key": {"type": "array", "items": {"type": "string"}},
    "sort_dir": {"type": "array", "items": {"enum": ["asc", "desc"]}},
    "page_reverse": {"type": "string"},
}
#: Neutron's singular key → the component name of its view.
_NEUTRON_VIEWS: Final = {
    "network": "NeutronNetwork",
    "subnet": "NeutronSubnet",
    "port": "NeutronPort",
    "security_group": "NeutronSecurityGroup",
    "security_group_rule": "NeutronSecurityGroupRule",
}


def _neutron_calls() -> dict[str, Call]:
    p = neutron.PREFIX
    calls = {
        f"GET {p}": Call("The network API's resources", 200, "NeutronResources"),
        f"GET {p}/extensions": Call("The extensions (none)", 200, "NeutronExtensions"),
        f"GET {p}/extensions/<alias>": Call("One extension (there are none: 404)", 404, None),
    }
    for path, (key, _) in neutron.COLLECTIONS.items():
        words = key.replace("_", " ")
        base = f"{p}/{path}"
        calls.update(
            {
                f"GET {base}": Call(
                    f"List {words}s (filters: any attribute, repeated as any of)",
                    200,
                    f"{_NEUTRON_VIEWS[key]}List",
                    query=_LIST_QUERY,
                ),
                f"POST {base}": Call(
                    f"Create a {words}",
                    201,
                    f"{_NEUTRON_VIEWS[key]}One",
                    body=network_schemas.body(key, "create"),
                ),
                f"GET {base}/<ident>": Call(
                    f"Show a {words}", 200, f"{_NEUTRON_VIEWS[key]}One", query=_SHOW_QUERY
                ),
                f"DELETE {base}/<ident>": Call(f"Delete a {words}", 204, None),
            }
        )
        if (key, "update") in network_schemas.FIELDS:
            calls[f"PUT {base}/<ident>"] = Call(
                f"Update a {words}",
                200,
                f"{_NEUTRON_VIEWS[key]}One",
                body=network_schemas.body(key, "update"),
            )
    return calls


def _neutron_components() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {"NeutronError": network_schemas.ERROR}
    for key, name in _NEUTRON_VIEWS.items():
        found[name] = network_schemas.VIEWS[key]
        found[f"{name}One"] = _closed({key: ref(name)}, (key,))
        link = {"type": "array", "items": {"type": "object"}}
        found[f"{name}List"] = _closed(
            {f"{key}s": {"type": "array", "items": ref(name)}, f"{key}s_links": link},
            (f"{key}s",),
        )
    found["NeutronResources"] = _closed({"resources": {"type": "array"}}, ("resources",))
    found["NeutronExtensions"] = _closed({"extensions": {"type": "array"}}, ("extensions",))
    return found


def _closed(properties: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


# -- block storage v3 --------------------------------------------------------------

_VOLUME_VERSION: Final = _header(
    microversion.HEADER,
    f"The block-storage microversion, `{microversion.SERVICE} 3.N` or "
    f"`{microversion.SERVICE} latest`; 3.0 when absent. Outside "
    f"{microversion.text(microversion.MIN_VERSION)}-"
    f"{microversion.text(microversion.MAX_VERSION)}: 406.",
    {"type": "string"},
)


def _volume_calls() -> dict[str, Call]:
    base = f"{volume_views.VERSION_PATH}/<project_id>"
    volumes = f"{base}/volumes"
    return {
        f"GET {volume_views.PREFIX}": Call(
            "The block-storage API versions (300: choose one)", 300, "VolumeVersions", public=True
        ),
        f"GET {volume_views.VERSION_PATH}": Call(
            "The v3 API version", 200, "VolumeVersions", public=True
        ),
        f"GET {volumes}": Call(
            "List the project's volumes", 200, "VolumeList", query=volume_schemas.LIST_QUERY
        ),
        f"GET {volumes}/detail": Call(
            "List the project's volumes in detail",
            200,
            "VolumeDetailList",
            query=volume_schemas.LIST_QUERY,
        ),
        f"POST {volumes}": Call(
            "Create an empty volume of a size", 202, "VolumeOne", body=volume_schemas.CREATE
        ),
        f"GET {volumes}/<ident>": Call("Show a volume", 200, "VolumeOne"),
        f"PUT {volumes}/<ident>": Call(
            "Rename or describe a volume", 200, "VolumeOne", body=volume_schemas.UPDATE
        ),
        f"DELETE {volumes}/<ident>": Call(
            "Delete a volume no container holds",
            202,
            None,
            query=volume_schemas.DELETE_QUERY,
        ),
        f"GET {base}/extensions": Call("The extensions (none)", 200, "VolumeExtensions"),
        f"GET {base}/limits": Call("The project's volume limits", 200, "VolumeLimits"),
    }


# -- identity v3 -------------------------------------------------------------------

_SUBJECT: Final = _header(
    "X-Subject-Token", "The token to validate or revoke.", {"type": "string"}, required=True
)


def _identity_calls() -> dict[str, Call]:
    version = Call("The identity v3 version document", 200, "IdentityVersion", public=True)
    return {
        "GET /v3": version,
        "GET /v3/": version,
        "POST /v3/auth/tokens": Call(
            "Issue a project-scoped token (password method); the token is X-Subject-Token",
            201,
            "Token",
            body=identity_schemas.AUTH,
            public=True,
            answer_headers=("X-Subject-Token",),
        ),
        "GET /v3/auth/tokens": Call(
            "Validate a token",
            200,
            "Token",
            query={"nocatalog": {"type": "string"}},
            headers=(_SUBJECT,),
            answer_headers=("X-Subject-Token",),
        ),
        "DELETE /v3/auth/tokens": Call("Revoke a token", 204, None, headers=(_SUBJECT,)),
        "GET /v3/services": Call(
            "The catalog's services",
            200,
            "IdentityServiceList",
            query={"type": {"type": "string"}, "name": {"type": "string"}},
        ),
        "GET /v3/services/<ident>": Call("One service", 200, "IdentityServiceOne"),
        "GET /v3/endpoints": Call(
            "The catalog's endpoints",
            200,
            "IdentityEndpointList",
            query={
                key: {"type": "string"}
                for key in ("interface", "service_id", "region_id", "region")
            },
        ),
        "GET /v3/endpoints/<ident>": Call("One endpoint", 200, "IdentityEndpointOne"),
    }


def subsets() -> tuple[Subset, ...]:
    return (
        Subset("network", neutron.ROUTES, _neutron_calls(), "NeutronError"),
        Subset(
            "block-storage",
            block_storage.ROUTES,
            _volume_calls(),
            "CinderError",
            (_VOLUME_VERSION,),
        ),
        Subset("identity", identity_v3.ROUTES, _identity_calls(), "KeystoneError"),
    )


def components() -> dict[str, dict[str, Any]]:
    return {**_neutron_components(), **volume_schemas.ANSWERS, **identity_schemas.ANSWERS}


def _operation_id(method: str, path: str) -> str:
    words = re.findall(r"[a-z0-9_]+", _PARAMETER.sub(r"\1", path).lower())
    slash = ["slash"] if path.endswith("/") else []
    return "_".join([method.lower(), *words, *slash])


def _operation(subset: Subset, method: str, path: str, call: Call) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(path)
    ]
    parameters += [*subset.common, *call.headers]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in sorted(call.query.items())
    ]
    errors = {"application/json": {"schema": ref(subset.error)}}
    done: dict[str, Any] = {"description": "Done." if call.answer else "Done; no body."}
    if call.answer is not None:
        done["content"] = {"application/json": {"schema": ref(call.answer)}}
    if call.answer_headers:
        done["headers"] = {name: {"schema": {"type": "string"}} for name in call.answer_headers}
    responses: dict[str, Any] = {str(call.status): done}
    responses["4XX"] = {"description": "Refused: the subset's error body.", "content": errors}
    if not call.public and subset.error != "KeystoneError":
        responses["401"] = {
            "description": "No valid token: Keystone's error body (the token middleware's).",
            "content": {"application/json": {"schema": ref("KeystoneError")}},
        }
    responses["503"] = {"description": "Unavailable: the subset's error body.", "content": errors}
    doc: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": call.summary,
        "tags": [subset.name],
        "parameters": parameters,
        "responses": responses,
    }
    if call.public:
        doc["security"] = []
    if call.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": call.body}},
        }
    return doc


def paths(chosen: Iterable[Subset] | None = None) -> dict[str, dict[str, Any]]:
    """The path items of every subset's routes; an undescribed route → ``KeyError``."""
    found: dict[str, dict[str, Any]] = {}
    for subset in subsets() if chosen is None else chosen:
        for method, path, _ in sorted(subset.routes, key=lambda r: (r[1], r[0])):
            call = subset.calls.get(f"{method} {path}")
            if call is None:
                raise KeyError(f"{method} {path} is served but not described in openapi.openstack")
            item = found.setdefault(_PARAMETER.sub(r"{\1}", path), {})
            item[method.lower()] = _operation(subset, method, path, call)
    return found
