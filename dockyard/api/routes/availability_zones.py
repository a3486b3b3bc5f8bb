"""Availability zones, derived from the compute services (api-other §11)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas.hosts import check_paging

TABLE = RouteTable()
ROUTES = TABLE.routes


@TABLE.add("GET", "/v1/availability_zones")
def index(req: ApiRequest) -> Response:
    limit, _ = check_paging(req.query())
    req.authorize("availability_zones:get_all")
    # Every zone in one page: zones have no uuid a ``next`` marker could name (§11).
    zones = req.services.hosts.zones(limit)
    items = [{"availability_zone": zone} for zone in zones]
    return json_response({"availability_zones": items, "next": None})
