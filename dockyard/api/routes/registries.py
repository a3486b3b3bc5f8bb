"""Private registry credentials (api-other §15), served at every microversion."""

from __future__ import annotations

import dataclasses

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, empty_response, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import registries as schemas
from dockyard.api.schemas.validation import parse_all_projects
from dockyard.api.views import registries as views
from dockyard.domain.errors import UnsupportedMediaType
from dockyard.domain.registries import Registry

TABLE = RouteTable()
ROUTES = TABLE.routes

COLLECTION = "/v1/registries"
ONE = "/v1/registries/<ident>"
_FIELD_RULES = "registry:get_one:"


def _hidden(req: ApiRequest) -> frozenset[str]:
    return req.services.authorizer.denied(req.ctx, _FIELD_RULES)


def _owned(req: ApiRequest, ident: str, rule: str) -> Registry:
    """Load first, then check ``rule`` against the registry: another project's is a 404."""
    registry = req.services.registries.get(req.ctx, ident)
    req.authorize(rule, {"project_id": registry.project_id, "user_id": registry.user_id})
    return registry


def _one(req: ApiRequest, registry: Registry, status: int = 200) -> Response:
    view = views.registry(registry, _hidden(req), req.base_url)
    headers = (
        {"Location": f"{req.base_url}/v1/registries/{registry.uuid}"} if status == 201 else None
    )
    return json_response({"registry": view}, status, headers)


@TABLE.add("POST", COLLECTION)
def create(req: ApiRequest) -> Response:
    if not req.is_json():
        raise UnsupportedMediaType("Creating a registry needs Content-Type: application/json.")
    fields = schemas.check_body(schemas.CREATE, req.merged())
    req.authorize("registry:create")
    return _one(req, req.services.registries.create(req.ctx, fields), 201)


@TABLE.add("GET", COLLECTION)
def index(req: ApiRequest) -> Response:
    params = req.query()
    req.authorize("registry:get_all")
    limit, sort_dir = schemas.check_list_query(params)
    ctx = req.ctx
    if parse_all_projects(params.get("all_projects")):
        req.authorize("registry:get_all_all_projects")
        ctx = dataclasses.replace(ctx, all_projects=True)
    filters: dict[str, str] = {k: str(params[k]) for k in schemas.FILTER_KEYS if k in params}
    for key in filters:
        req.authorize(f"{_FIELD_RULES}{key}", might_not_exist=True)
    sort_key = str(params.get("sort_key", "id"))
    service = req.services.registries
    found = service.page(ctx, filters, limit, params.get("marker"), sort_key, sort_dir)
    page = service.limit(limit)
    next_link = None
    if found and len(found) == page:
        next_link = (
            f"{req.base_url}/v1/registries?sort_key={sort_key}&sort_dir={sort_dir}"
            f"&limit={page}&marker={found[-1].uuid}"
        )
    hidden = _hidden(req)
    items = [views.registry(r, hidden, None) for r in found]
    return json_response({"registries": items, "next": next_link})


@TABLE.add("GET", ONE)
def show(req: ApiRequest, ident: str) -> Response:
    return _one(req, _owned(req, ident, "registry:get_one"))


@TABLE.add("PATCH", ONE)
def update(req: ApiRequest, ident: str) -> Response:
    fields = schemas.check_body(schemas.UPDATE, req.merged())
    registry = _owned(req, ident, "registry:update")
    return _one(req, req.services.registries.update(registry.uuid, fields))


@TABLE.add("DELETE", ONE)
def delete(req: ApiRequest, ident: str) -> Response:
    registry = _owned(req, ident, "registry:delete")
    req.services.registries.delete(registry.uuid)
    return empty_response(204)
