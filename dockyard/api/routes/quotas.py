"""Quotas per project and quota classes (api-other §12.2, §12.3)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import quotas as schemas
from dockyard.api.schemas.validation import validate
from dockyard.domain.errors import Forbidden, NotFound

TABLE = RouteTable()
ROUTES = TABLE.routes

QUOTA = "/v1/quotas/<project_id>"
QUOTA_CLASS = "/v1/quota_classes/<class_name>"

#: ``usages`` spellings that mean "no"; Zun takes any other non-empty value as "yes".
_NO = frozenset({"", "0", "f", "false", "n", "no", "off"})


def _no_query(req: ApiRequest) -> None:
    validate(schemas.NO_QUERY, req.query(), where="query")


def _limits(req: ApiRequest) -> dict[str, int]:
    """The limits a PUT sets, from its body and query string."""
    args = req.merged()
    validate(schemas.UPDATE, args)
    return {resource: int(value) for resource, value in args.items()}


def _target(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id}


def _authorize_read(req: ApiRequest, rule: str, project_id: str) -> None:
    """Reads follow the isolation rule of containers, stricter than Zun: a caller
    refused another project's quotas gets 404, as if that project did not exist; a
    caller refused their own project's gets the 403 naming the rule."""
    try:
        req.authorize(rule, _target(project_id))
    except Forbidden as exc:
        if project_id != req.ctx.project_id:
            raise NotFound(f"Quotas of project {project_id} could not be found.") from exc
        raise


@TABLE.add("GET", QUOTA)
def get(req: ApiRequest, project_id: str) -> Response:
    query = req.query()
    validate(schemas.GET_QUERY, query, where="query")
    _authorize_read(req, "quota:get", project_id)
    quotas = req.services.quotas
    if str(query.get("usages", "")).strip().lower() not in _NO:
        return json_response(quotas.usages(project_id))
    return json_response(quotas.get(project_id))


@TABLE.add("GET", QUOTA + "/defaults")
def defaults(req: ApiRequest, project_id: str) -> Response:
    _no_query(req)
    _authorize_read(req, "quota:get_default", project_id)
    return json_response(req.services.quotas.defaults())


@TABLE.add("PUT", QUOTA)
def update(req: ApiRequest, project_id: str) -> Response:
    values = _limits(req)
    req.authorize("quota:update", _target(project_id))
    return json_response(req.services.quotas.update(project_id, values))


@TABLE.add("DELETE", QUOTA)
def delete(req: ApiRequest, project_id: str) -> Response:
    _no_query(req)
    req.authorize("quota:delete", _target(project_id))
    req.services.quotas.delete(project_id)
    # Zun answers 200 with a JSON null (api-other §6.4).
    return json_response(None)


@TABLE.add("GET", QUOTA_CLASS)
def get_class(req: ApiRequest, class_name: str) -> Response:
    _no_query(req)
    req.authorize("quota_class:get")
    return json_response(req.services.quotas.get_class(class_name))


@TABLE.add("PUT", QUOTA_CLASS)
def update_class(req: ApiRequest, class_name: str) -> Response:
    values = _limits(req)
    req.authorize("quota_class:update")
    return json_response(req.services.quotas.update_class(class_name, values))
