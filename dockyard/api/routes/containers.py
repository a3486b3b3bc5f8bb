"""Create, list, show, update and delete containers."""

from __future__ import annotations

import dataclasses
import time
from functools import lru_cache
from typing import Any

from werkzeug.wrappers import Response

from dockyard.api import conditions, idempotency, parse
from dockyard.api.request import ApiRequest, empty_response, json_response
from dockyard.api.routes.access import owned
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import containers as schemas
from dockyard.api.schemas.validation import parse_all_projects, parse_bool, validate
from dockyard.api.versions import Version
from dockyard.api.views import containers as views
from dockyard.domain.errors import UnsupportedMediaType
from dockyard.domain.states import Status

TABLE = RouteTable()
ROUTES = TABLE.routes

#: Create parameters that need a policy beyond container:create when given.
_CREATE_RULES = {
    "runtime": "container:create:runtime",
    "privileged": "container:create:privileged",
    "host": "container:create:requested_destination",
    "image_pull_policy": "container:create:image_pull_policy",
}


@lru_cache(maxsize=64)
def _create_schema(version: Version, limits: schemas.Limits) -> dict[str, Any]:
    return schemas.create_body(version, limits)


@TABLE.add("POST", "/v1/containers")
def create(req: ApiRequest) -> Response:
    if not req.is_json():
        raise UnsupportedMediaType("Create needs Content-Type: application/json.")
    query = req.query()
    validate(schemas.run_query(), query, where="query")
    body = req.body()
    validate(_create_schema(req.version, req.services.limits), body)
    req.authorize("container:create")
    schemas.version_gates(req.version, body)
    for key, rule in _CREATE_RULES.items():
        if body.get(key) is not None and (key != "image_pull_policy" or body[key]):
            req.authorize(rule)
    request = parse.container_request(body, req.version, req.services.limits.mounts)
    run = parse_bool(query.get("run", False))
    given_key = idempotency.key(req.http.headers.get(idempotency.HEADER))
    headers: dict[str, str] = {}
    ctx = req.network_ctx()
    if given_key is None:
        container = req.services.creator.create(ctx, request, run)
    else:
        container, replayed = req.services.idempotent.create(
            ctx,
            given_key,
            idempotency.fingerprint(body, run, req.version),
            lambda: req.services.creator.create(ctx, request, run),
        )
        headers[idempotency.REPLAYED] = "true" if replayed else "false"
    view = views.container(container, req.hidden_fields, req.base_url, req.services.clock.now())
    return json_response(view, 202, {"Location": view["links"][0]["href"], **headers})


@TABLE.add("GET", "/v1/containers")
def index(req: ApiRequest) -> Response:
    params = req.query()
    schemas.check_list_query(params)
    validate(schemas.list_query(), params, where="query")
    ctx = req.ctx
    req.authorize("container:get_all")
    if parse_all_projects(params.get("all_projects")):
        req.authorize("container:get_all_all_projects")
        ctx = dataclasses.replace(ctx, all_projects=True)
    filters = {k: params[k] for k in schemas.FILTER_KEYS if k in params}
    for key in filters:
        req.authorize(f"container:get_one:{key}", might_not_exist=True)
    if "auto_remove" in filters:
        filters["auto_remove"] = parse_bool(filters["auto_remove"])
    limit = int(params["limit"]) if "limit" in params else None
    sort_key, sort_dir = params.get("sort_key", "id"), params.get("sort_dir", "asc")
    found = req.services.containers.page(
        ctx, filters, limit, params.get("marker"), sort_key, sort_dir
    )
    page = min(limit or req.services.containers.max_limit, req.services.containers.max_limit)
    next_link = None
    if found and len(found) == page:
        next_link = (
            f"{req.base_url}/v1/containers?sort_key={sort_key}&sort_dir={sort_dir}"
            f"&limit={page}&marker={found[-1].uuid}"
        )
    now = req.services.clock.now()
    items = [views.container(c, req.hidden_fields, None, now) for c in found]
    return json_response({"containers": items, "next": next_link})


@TABLE.add("GET", "/v1/containers/<ident>")
def show(req: ApiRequest, ident: str) -> Response:
    """The record, with an ETag; ``If-None-Match`` makes it conditional (304), and
    ``Prefer: wait=N`` besides holds the answer until the record changes."""
    if parse_all_projects(req.query().get("all_projects")):
        req.authorize("container:get_one_all_projects")
    known = conditions.if_none_match(req.http)
    uuid, body, etag = _tagged(req, ident)
    if not known.contains_weak(etag):
        return conditions.tagged_response(body, etag)
    wait = conditions.preferred_wait(req.http, req.services.max_wait)
    deadline = time.monotonic() + wait
    feed = req.services.changes
    with feed.watch(uuid) as changed:
        while changed is not None and not feed.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed.clear()
            # Read again once watching: a write just before the watch began is seen.
            _, body, etag = _tagged(req, uuid)
            if not known.contains_weak(etag):
                return conditions.tagged_response(body, etag, waited=wait)
            changed.wait(feed.timeout(remaining))
    return conditions.not_modified(etag, waited=wait)


def _tagged(req: ApiRequest, ident: str) -> tuple[str, bytes, str]:
    """The caller's view of the container: its uuid, the JSON body and its ETag."""
    container = owned(req, ident, "container:get_one")
    now = req.services.clock.now()
    view = views.container(container, req.hidden_fields, req.base_url, now)
    return (container.uuid, *conditions.tagged(view))


@TABLE.add("PATCH", "/v1/containers/<ident>")
def update(req: ApiRequest, ident: str) -> Response:
    args = req.merged()
    validate(schemas.update_body(req.services.limits), args)
    uuid = owned(req, ident, "container:update").uuid
    values: dict[str, Any] = {k: v for k, v in args.items() if k in ("name", "cpu", "memory")}
    if "auto_heal" in args:
        values["auto_heal"] = parse_bool(args["auto_heal"])
    container = req.services.containers.update(req.ctx, uuid, values)
    now = req.services.clock.now()
    return json_response(views.container(container, req.hidden_fields, req.base_url, now))


@TABLE.add("DELETE", "/v1/containers/<ident>")
def delete(req: ApiRequest, ident: str) -> Response:
    query = req.query()
    validate(schemas.delete_query(), query, where="query")
    force = parse_bool(query.get("force", False))
    stop = parse_bool(query.get("stop", False))
    if force:
        req.at_least((1, 7), "force")
    if stop:
        req.at_least((1, 12), "stop")
    if parse_bool(query.get("all_projects", False)):
        req.authorize("container:delete_all_projects")
    container = owned(req, ident, "container:delete")
    target = {"project_id": container.project_id, "user_id": container.user_id}
    if force:
        req.authorize("container:delete_force", target)
    if stop and container.status is Status.RUNNING:
        req.authorize("container:stop", target)
    req.services.containers.delete(req.ctx, container.uuid, force=force, stop=stop)
    return empty_response(204)
