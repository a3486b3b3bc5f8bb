"""The two unauthenticated discovery documents."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.versions import MAX_VERSION, MIN_VERSION, fmt

RESOURCES = (
    "services",
    "containers",
    "images",
    "networks",
    "hosts",
    "capsules",
    "availability_zones",
    "quotas",
    "quota_classes",
    "registries",
)


def _version(base_url: str) -> dict[str, Any]:
    return {
        "id": "v1",
        "status": "CURRENT",
        "min_version": fmt(MIN_VERSION),
        "max_version": fmt(MAX_VERSION),
        "links": [{"href": f"{base_url}/v1/", "rel": "self"}],
    }


def root_document(base_url: str) -> dict[str, Any]:
    return {
        "name": "OpenStack Zun API",
        "description": "Dockyard runs containers on request; this endpoint speaks the Zun v1 API.",
        "versions": [_version(base_url)],
        "default_version": _version(base_url),
    }


def v1_document(base_url: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "v1",
        "media_types": [
            {"base": "application/json", "type": "application/vnd.openstack.zun.v1+json"}
        ],
        "links": [
            {"href": f"{base_url}/v1/", "rel": "self"},
            {
                "href": "https://docs.openstack.org/developer/zun/dev/api-spec-v1.html",
                "rel": "describedby",
                "type": "text/html",
            },
        ],
    }
    for name in RESOURCES:
        doc[name] = [
            {"href": f"{base_url}/v1/{name}/", "rel": "self"},
            {"href": f"{base_url}/{name}/", "rel": "bookmark"},
        ]
    return doc


ROUTES_TABLE = RouteTable()


@ROUTES_TABLE.add("GET", "/v1", public=True)
def v1(req: ApiRequest) -> Response:
    return json_response(v1_document(req.base_url))


ROUTES = ROUTES_TABLE.routes
