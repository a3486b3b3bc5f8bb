"""Builds the OpenAPI 3.1 document from the route table and the schemas.

Request schemas are the ones the handlers validate with (JSON Schema Draft 4,
whose keywords mean the same in the 2020-12 dialect of OpenAPI 3.1; the API also
compares numeric strings with ``minimum``/``maximum``, which the document cannot
say). Where a request schema changes between microversions, every version's
schema is a component and ``x-openstack-microversions`` says which versions each
one serves; the request body accepts any of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

from dockyard.api import idempotency
from dockyard.api.openapi import openstack
from dockyard.api.openapi.operations import OPERATIONS, Operation, SchemaOf
from dockyard.api.openapi.responses import SCHEMAS, ref
from dockyard.api.routes.table import Route
from dockyard.api.schemas.containers import Limits
from dockyard.api.versions import HEADER, MAX_VERSION, MIN_VERSION, SERVICE, Version, fmt

OPENAPI_VERSION: Final = "3.1.0"
_PARAMETER: Final = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_ERROR_STATUSES: Final = ("4XX", "503")
_VERSION_HEADER: Final = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": f"The microversion, `{SERVICE} 1.N` or `{SERVICE} latest`; "
    f"{fmt(MIN_VERSION)} when absent.",
    "schema": {
        "type": "string",
        "pattern": f"^{SERVICE} (1\\.([1-9]|[1-3][0-9]|40)|latest)$",
    },
}
_IDEMPOTENCY_HEADER: Final = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the create idempotent: the same project sending the same key "
    "again within [api] idempotency_window gets the first container (202) instead of a new "
    "one; the key with a different request is a 409.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_LENGTH,
        "pattern": "^[\\x21-\\x7e]+$",
    },
}


def openapi_path(path: str) -> str:
    """``/v1/containers/<ident>`` -> ``/v1/containers/{ident}``."""
    return _PARAMETER.sub(r"{\1}", path)


def _versions(route: Route) -> list[Version]:
    low, high = route.min_version, route.max_version
    return [(1, minor) for minor in range(low[1], high[1] + 1)]


def _by_version(
    of: SchemaOf, versions: list[Version], limits: Limits
) -> list[tuple[Version, Version, dict[str, Any]]]:
    """``(first, last, schema)`` for each run of versions sharing one schema."""
    runs: list[tuple[Version, Version, dict[str, Any]]] = []
    for version in versions:
        schema = of(version, limits)
        if runs and runs[-1][2] == schema:
            runs[-1] = (runs[-1][0], version, schema)
        else:
            runs.append((version, version, schema))
    return runs


def _operation_id(route: Route) -> str:
    words = re.findall(r"[a-z0-9_]+", openapi_path(route.path).lower())
    return "_".join([route.method.lower(), *words])


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in sorted(schema.get("properties", {}).items())
    ]


def _range(first: Version, last: Version) -> dict[str, str]:
    return {"min_version": fmt(first), "max_version": fmt(last)}


class _Builder:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.components: dict[str, dict[str, Any]] = dict(SCHEMAS)

    def operation(self, route: Route, op: Operation) -> dict[str, Any]:
        versions = _versions(route)
        name = _operation_id(route)
        doc: dict[str, Any] = {
            "operationId": name,
            "summary": op.summary,
            "x-openstack-microversions": _range(versions[0], versions[-1]),
            "parameters": self._parameters(route, op, versions),
            "responses": self._responses(op),
        }
        if route.public:
            doc["security"] = []
        if op.body is not None:
            doc["requestBody"] = self._body(name, op.body, versions, required=not op.merged)
        return doc

    def _parameters(
        self, route: Route, op: Operation, versions: list[Version]
    ) -> list[dict[str, Any]]:
        found = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAMETER.findall(route.path)
        ]
        found.append(_VERSION_HEADER)
        if route.key == "POST /v1/containers":
            found.append(_IDEMPOTENCY_HEADER)
        found += op.headers
        if op.query is not None:
            runs = _by_version(op.query, versions, self.limits)
            if len(runs) != 1:
                raise ValueError(f"{route.key}: a query schema that changes with the version")
            found += _query_parameters(runs[0][2])
        return found

    def _body(
        self, name: str, of: SchemaOf, versions: list[Version], required: bool
    ) -> dict[str, Any]:
        runs = _by_version(of, versions, self.limits)
        refs, served = [], []
        for first, last, schema in runs:
            component = f"{name}_body" if len(runs) == 1 else f"{name}_body_{first[1]}_{last[1]}"
            self.components[component] = schema
            refs.append(ref(component))
            served.append({**_range(first, last), "schema": ref(component)})
        body_schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
        doc: dict[str, Any] = {
            "required": required,
            "content": {"application/json": {"schema": body_schema}},
        }
        if len(runs) > 1:
            doc["x-openstack-microversions"] = served
        return doc

    @staticmethod
    def _responses(op: Operation) -> dict[str, Any]:
        errors = {"application/json": {"schema": ref("Errors")}}
        responses: dict[str, Any] = {}
        if op.answer is None:
            responses[str(op.status)] = {"description": "Done; no body."}
        else:
            responses[str(op.status)] = {
                "description": "Done.",
                "content": {"application/json": {"schema": ref(op.answer)}},
            }
        if op.conditional:
            responses["304"] = {"description": "Unchanged: the ETag sent is current."}
        for status in _ERROR_STATUSES:
            responses[status] = {"description": "Refused: the errors body.", "content": errors}
        if op.not_implemented:
            responses["501"] = {"description": "Not implemented yet.", "content": errors}
        return responses


def _root() -> dict[str, Any]:
    return {
        "get": {
            "operationId": "get_root",
            "summary": "The API versions",
            "security": [],
            "responses": {
                "200": {
                    "description": "The versions this endpoint serves.",
                    "content": {"application/json": {"schema": ref("Versions")}},
                }
            },
        }
    }


def document(routes: Iterable[Route], limits: Limits) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``; ``limits``: the configured resource bounds."""
    builder = _Builder(limits)
    paths: dict[str, dict[str, Any]] = {"/": _root()}
    for route in sorted(routes, key=lambda r: (r.path, r.method)):
        op = OPERATIONS.get(route.key)
        if op is None:
            raise KeyError(f"{route.key} is served but not described in openapi.operations")
        item = paths.setdefault(openapi_path(route.path), {})
        item[route.method.lower()] = builder.operation(route, op)
    paths.update(openstack.paths())
    builder.components.update(openstack.components())
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Dockyard (OpenStack Zun v1 API, with Neutron v2.0, block-storage v3 "
            "and identity v3 subsets)",
            "version": f"{fmt(MIN_VERSION)}-{fmt(MAX_VERSION)}",
            "description": "Generated from Dockyard's route tables and request schemas. "
            f"Zun microversions are chosen with the {HEADER} header (`container 1.N`), "
            "block-storage ones with the same header (`volume 3.N`). `/v2.0` (the network "
            "subset) is served under [network] driver = local; `/v3` (the identity subset) "
            "under [DEFAULT] auth_strategy = local.",
        },
        "servers": [{"url": "/"}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(builder.components.items())),
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Auth-Token",
                    "description": "A Keystone (or Dockyard's own identity) token; "
                    "ignored under auth_strategy = noauth.",
                }
            },
        },
    }


def render(routes: Iterable[Route], limits: Limits) -> str:
    """The document as published in docs/openapi.json."""
    return json.dumps(document(routes, limits), indent=2, sort_keys=False) + "\n"
