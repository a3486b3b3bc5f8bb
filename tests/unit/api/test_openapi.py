"""The OpenAPI document: generated from the routes and schemas, valid, published fresh,
served without a token."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, cast

import pytest
from openapi_spec_validator import validate as validate_spec
from oslo_config import cfg
from werkzeug.test import Client

from dockyard.api import identity_schemas
from dockyard.api.app import OPENAPI_PATH, DockyardApp, Services, served_routes
from dockyard.api.auth import NoAuth
from dockyard.api.block_storage import schemas as volume_schemas
from dockyard.api.neutron import schemas as neutron_schemas
from dockyard.api.openapi import openstack
from dockyard.api.openapi.document import document, openapi_path, render
from dockyard.api.openapi.operations import OPERATIONS
from dockyard.api.routes.table import Route
from dockyard.api.schemas import containers as container_schemas
from dockyard.api.schemas.containers import Limits
from dockyard.config import default
from dockyard.domain.errors import Unauthorized
from dockyard.domain.models import RequestContext
from tests.unit.api.test_hostile_bodies import Untouchable

PUBLISHED = Path(__file__).parents[3] / "docs" / "openapi.json"


def built() -> dict[str, Any]:
    return document(served_routes(), Limits())


def test_the_published_document_is_up_to_date() -> None:
    assert PUBLISHED.read_text() == render(served_routes(), Limits()), (
        "docs/openapi.json is stale: run `python -m dockyard.api.openapi > docs/openapi.json`"
    )


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = built()
    assert spec["openapi"].startswith("3.1.")
    validate_spec(cast(Any, spec))


def test_the_published_limits_are_the_configured_defaults() -> None:
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    conf([], default_config_files=[])
    settings = default.view(conf)
    configured = Limits(
        settings.minimum_cpus,
        settings.maximum_cpus,
        settings.minimum_memory,
        settings.maximum_memory,
        settings.minimum_disk,
        settings.maximum_disk,
    )
    assert configured == Limits()


def test_every_served_route_is_described_and_nothing_else() -> None:
    spec = built()
    served = {(openapi_path(r.path), r.method.lower()) for r in served_routes()}
    served |= {
        (openapi_path(path), method.lower())
        for subset in openstack.subsets()
        for method, path, _ in subset.routes
    }
    described = {
        (path, method) for path, item in spec["paths"].items() for method in item if path != "/"
    }
    assert described == served
    assert set(OPERATIONS) == {r.key for r in served_routes()}


def test_a_route_without_a_description_is_refused() -> None:
    extra = Route("GET", "/v1/not-described", lambda req: None)
    with pytest.raises(KeyError, match="GET /v1/not-described"):
        document([*served_routes(), extra], Limits())


@pytest.mark.parametrize("name", ["network", "block-storage", "identity"])
def test_a_subset_route_without_a_description_is_refused(name: str) -> None:
    [subset] = [s for s in openstack.subsets() if s.name == name]
    grown = dataclasses.replace(subset, routes=(*subset.routes, ("GET", "/x/<y>", "x")))
    with pytest.raises(KeyError, match="GET /x/<y>"):
        openstack.paths([grown])


def test_the_subsets_request_bodies_are_the_schemas_their_parsers_check() -> None:
    paths = built()["paths"]

    def body(path: str, method: str) -> Any:
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]

    assert body("/v2.0/ports", "post") == neutron_schemas.body("port", "create")
    assert body("/v2.0/networks/{ident}", "put") == neutron_schemas.body("network", "update")
    volumes = "/volume/v3/{project_id}/volumes"
    assert body(volumes, "post") == volume_schemas.CREATE
    assert body(volumes + "/{ident}", "put") == volume_schemas.UPDATE
    assert body("/v3/auth/tokens", "post") == identity_schemas.AUTH


def test_each_subset_answers_errors_in_its_own_shape() -> None:
    paths = built()["paths"]

    def error(path: str, method: str, status: str = "4XX") -> Any:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert error("/v2.0/networks", "get") == {"$ref": "#/components/schemas/NeutronError"}
    assert error("/volume/v3/{project_id}/limits", "get")["$ref"].endswith("/CinderError")
    assert error("/v3/auth/tokens", "post")["$ref"].endswith("/KeystoneError")
    assert error("/v2.0/networks", "get", "401")["$ref"].endswith("/KeystoneError")


def test_every_microversion_of_create_has_its_own_schema() -> None:
    spec = built()
    body = spec["paths"]["/v1/containers"]["post"]["requestBody"]
    runs = body["x-openstack-microversions"]
    assert runs[0]["min_version"] == "1.1" and runs[-1]["max_version"] == "1.40"
    components = spec["components"]["schemas"]
    for run in runs:
        low = int(run["min_version"].split(".")[1])
        high = int(run["max_version"].split(".")[1])
        schema = components[run["schema"]["$ref"].rsplit("/", 1)[1]]
        for minor in range(low, high + 1):
            assert schema == container_schemas.create_body((1, minor), Limits())
    assert len(body["content"]["application/json"]["schema"]["anyOf"]) == len(runs) > 1


def test_limits_configured_on_the_service_are_the_documents() -> None:
    small = Limits(max_memory=512)
    spec = document(served_routes(), small)
    latest = spec["paths"]["/v1/containers"]["post"]["requestBody"]["x-openstack-microversions"][-1]
    body = spec["components"]["schemas"][latest["schema"]["$ref"].rsplit("/", 1)[1]]
    assert body["properties"]["memory"]["maximum"] == 512


class RefusingAuth(NoAuth):
    def authenticate(self, headers: dict[str, str], request_id: str) -> RequestContext:
        raise Unauthorized("no token")


def test_the_document_is_served_without_a_token() -> None:
    app = DockyardApp(cast(Services, Untouchable()), RefusingAuth("u", "p"))
    response = Client(app).get(OPENAPI_PATH)
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/json"
    assert json.loads(response.text) == built()
    # Everything else still needs one.
    assert Client(app).get("/v1/containers").status_code == 401
