"""Images on compute hosts (api-other §8), served at every microversion."""

from __future__ import annotations

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import images as schemas
from dockyard.api.views import images as views
from dockyard.domain.errors import UnsupportedMediaType

TABLE = RouteTable()
ROUTES = TABLE.routes


@TABLE.add("GET", "/v1/images")
def index(req: ApiRequest) -> Response:
    params = req.query()
    req.authorize("image:get_all")
    limit, sort_dir = schemas.check_list_query(params)
    sort_key = str(params.get("sort_key", "id"))
    service = req.services.images
    found = service.page(req.ctx, limit, params.get("marker"), sort_key, sort_dir)
    page = service.limit(limit)
    next_link = None
    if found and len(found) == page:
        next_link = (
            f"{req.base_url}/v1/images?sort_key={sort_key}&sort_dir={sort_dir}"
            f"&limit={page}&marker={found[-1].uuid}"
        )
    items = [views.image(i, req.base_url) for i in found]
    return json_response({"images": items, "next": next_link})


@TABLE.add("GET", "/v1/images/<ident>")
def show(req: ApiRequest, ident: str) -> Response:
    record = req.services.images.get(req.ctx, ident)
    req.authorize("image:get_one", {"project_id": record.project_id or ""})
    return json_response(views.image(record, req.base_url))


@TABLE.add("POST", "/v1/images")
def pull(req: ApiRequest) -> Response:
    if not req.is_json():
        raise UnsupportedMediaType("Pulling an image needs Content-Type: application/json.")
    req.authorize("image:pull")
    fields = schemas.check_pull(req.body())
    record = req.services.images.pull(req.ctx, fields)
    location = {"Location": f"{req.base_url}/v1/images/{record.uuid}"}
    return json_response(views.image(record, req.base_url), 202, location)


@TABLE.add("DELETE", "/v1/images/<ident>")
def delete(req: ApiRequest, ident: str) -> Response:
    req.authorize("image:delete")
    req.services.images.delete(req.ctx, ident)
    return json_response(None, 200)


@TABLE.add("GET", "/v1/images/<path:image>/search")
def search(req: ApiRequest, image: str) -> Response:
    params = req.query()
    req.authorize("image:search")
    exact, driver = schemas.check_search(params)
    return json_response(req.services.images.search(req.ctx, image, exact, driver))
