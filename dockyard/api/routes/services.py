"""Compute services and their switches (api-other §10)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import hosts as schemas
from dockyard.api.schemas.validation import parse_bool, validate
from dockyard.api.views import hosts as views

TABLE = RouteTable()
ROUTES = TABLE.routes

SERVICES = "/v1/services"


def _params(req: ApiRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters (what zunclient sends) merged with a JSON body's keys."""
    params = req.merged()
    validate(schema, params, where="query")
    return params


@TABLE.add("GET", SERVICES)
def index(req: ApiRequest) -> Response:
    req.authorize("zun-service:get_all")
    service = req.services.hosts
    items = [views.service(h, service.default_zone) for h in service.services()]
    return json_response({"services": items})


@TABLE.add("DELETE", SERVICES)
def delete(req: ApiRequest) -> Response:
    params = _params(req, schemas.SERVICE)
    req.authorize("zun-service:delete")
    req.services.hosts.delete(params["host"], params["binary"])
    return json_response(None)


@TABLE.add("PUT", SERVICES + "/enable")
def enable(req: ApiRequest) -> Response:
    params = _params(req, schemas.SERVICE)
    req.authorize("zun-service:enable")
    host, binary = params["host"], params["binary"]
    req.services.hosts.enable(host, binary)
    body = {"host": host, "binary": binary, "disabled": False, "disabled_reason": None}
    return json_response({"service": body})


@TABLE.add("PUT", SERVICES + "/disable")
def disable(req: ApiRequest) -> Response:
    params = _params(req, schemas.DISABLE)
    req.authorize("zun-service:disable")
    host, binary, reason = params["host"], params["binary"], params.get("disabled_reason")
    req.services.hosts.disable(host, binary, reason)
    body = {"host": host, "binary": binary, "disabled": True, "disabled_reason": reason}
    return json_response({"service": body})


@TABLE.add("PUT", SERVICES + "/force_down")
def force_down(req: ApiRequest) -> Response:
    params = _params(req, schemas.FORCE_DOWN)
    req.authorize("zun-service:force_down")
    host, binary = params["host"], params["binary"]
    forced = parse_bool(params["forced_down"])
    req.services.hosts.force_down(host, binary, forced)
    return json_response({"service": {"host": host, "binary": binary, "forced_down": forced}})
