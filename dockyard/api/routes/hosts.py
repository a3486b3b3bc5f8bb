"""Compute hosts (api-other §9): admin-only, from microversion 1.4."""

from __future__ import annotations

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas.hosts import check_paging
from dockyard.api.views import hosts as views

TABLE = RouteTable()
ROUTES = TABLE.routes

HOSTS_FROM = (1, 4)


@TABLE.add("GET", "/v1/hosts", min_version=HOSTS_FROM)
def index(req: ApiRequest) -> Response:
    params = req.query()
    req.authorize("host:get_all")
    limit, sort_dir = check_paging(params)
    sort_key = str(params.get("sort_key", "hostname"))
    service = req.services.hosts
    found = service.page(limit, params.get("marker"), sort_key, sort_dir)
    page = service.limit(limit)
    next_link = None
    if found and len(found) == page:
        next_link = (
            f"{req.base_url}/v1/hosts?sort_key={sort_key}&sort_dir={sort_dir}"
            f"&limit={page}&marker={found[-1].uuid}"
        )
    items = [views.host(h, req.base_url) for h in found]
    return json_response({"hosts": items, "next": next_link})


@TABLE.add("GET", "/v1/hosts/<ident>", min_version=HOSTS_FROM)
def show(req: ApiRequest, ident: str) -> Response:
    req.authorize("host:get")
    return json_response(views.host(req.services.hosts.get(ident), req.base_url))
