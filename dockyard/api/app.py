"""The WSGI application: routing, version negotiation, auth context, error bodies."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from dockyard.api import errors, versions
from dockyard.api.auth import Authenticator
from dockyard.api.metrics import ROUTE_KEY
from dockyard.api.openapi.document import document
from dockyard.api.request import ApiRequest, json_response
from dockyard.api.routes import (
    actions,
    availability_zones,
    containers,
    hosts,
    images,
    networks,
    quotas,
    registries,
    root,
)
from dockyard.api.routes import services as zun_services
from dockyard.api.routes.table import Route
from dockyard.api.schemas.containers import Limits
from dockyard.api.services import Services
from dockyard.domain.errors import DockyardError, NotAcceptable
from dockyard.observability.context import RequestScope, bind, bound

LOG = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _normalise(path: str) -> str:
    """Strip a trailing slash and `.json`, and route unversioned paths under /v1."""
    path = path.rstrip("/") or "/"
    if path in ("/.json", "/v1.json"):
        path = path[: -len(".json")] or "/"
    if path != "/" and path != "/v1" and not path.startswith("/v1/"):
        path = "/v1" + path
    return path


#: The route tables of the handlers' modules.
TABLES: tuple[list[Route], ...] = (
    root.ROUTES,
    containers.ROUTES,
    actions.ROUTES,
    quotas.ROUTES,
    hosts.ROUTES,
    zun_services.ROUTES,
    availability_zones.ROUTES,
    registries.ROUTES,
    images.ROUTES,
    networks.ROUTES,
)
OPENAPI_PATH = "/v1/openapi.json"
#: The paths token middleware lets through to it (the unversioned alias too).
OPENAPI_PATHS = frozenset({OPENAPI_PATH, OPENAPI_PATH[len("/v1") :]})


def served_routes() -> list[Route]:
    """Every route the API serves, its own OpenAPI document's included."""
    own = Route("GET", OPENAPI_PATH, _openapi, public=True)
    return [own, *(r for table in TABLES for r in table)]


@lru_cache(maxsize=4)
def _openapi_body(limits: Limits) -> str:
    return json.dumps(document(served_routes(), limits))


def _openapi(req: ApiRequest) -> Response:
    """The OpenAPI document, public like the version documents: it describes the API,
    not anything in it."""
    body = _openapi_body(req.services.limits)
    return Response(body, content_type="application/json")


class DockyardApp:
    def __init__(self, services: Services, auth: Authenticator) -> None:
        self.services = services
        self.auth = auth
        self.routes: dict[str, Route] = {r.key: r for r in served_routes()}
        self.url_map = Map(
            [Rule(r.path, endpoint=key, methods=[r.method]) for key, r in self.routes.items()]
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request_id = f"req-{uuid.uuid4()}"
        # Every line logged while serving it names the request (the caller once known).
        with bound(RequestScope(request_id)):
            return self._serve(environ, start_response, request_id)

    def _serve(
        self, environ: dict[str, Any], start_response: Callable[..., Any], request_id: str
    ) -> Any:
        began = time.perf_counter()
        http = Request(environ)
        path = _normalise(http.path)
        version: versions.Version | None = None
        try:
            if path == "/":
                response = json_response(root.root_document(http.host_url.rstrip("/")))
            else:
                version = self._negotiate(http)
                response = self._dispatch(http, path, version, request_id)
        except versions.UnsupportedVersion as exc:
            version = exc.requested
            response = self._error(*errors.from_domain(exc))
        except DockyardError as exc:
            response = self._error(*errors.from_domain(exc))
        except MethodNotAllowed as exc:
            response = self._error(*errors.from_http(405, str(exc.description)))
            response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        except HTTPException as exc:
            response = self._error(*errors.from_http(exc.code or 500, str(exc.description)))
        except Exception as exc:
            response = self._error(*errors.from_unexpected(exc))
        response.headers["X-OpenStack-Request-Id"] = request_id
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"
        if version is not None:
            for name, value in versions.headers(version):
                response.headers[name] = value
        return response(environ, start_response)

    @staticmethod
    def _negotiate(http: Request) -> versions.Version:
        return versions.negotiate(http.headers.get(versions.HEADER))

    @staticmethod
    def _error(status: int, body: dict[str, Any]) -> Response:
        return json_response(body, status=status)

    def _dispatch(
        self, http: Request, path: str, version: versions.Version, request_id: str
    ) -> Response:
        adapter = self.url_map.bind_to_environ(http.environ)
        key, args = adapter.match(path, method=http.method)
        route = self.routes[key]
        http.environ[ROUTE_KEY] = route.path
        if route.public:
            ctx = self.auth.anonymous(request_id)
        else:
            ctx = self.auth.authenticate(dict(http.headers), request_id)
            bind(RequestScope(request_id, ctx.user_id, ctx.project_id))
        if not route.min_version <= version <= route.max_version:
            raise NotAcceptable(
                f"The API {http.method} {route.path} is not supported at version "
                f"{versions.fmt(version)} (it exists from {versions.fmt(route.min_version)} "
                f"to {versions.fmt(route.max_version)})."
            )
        return route.handler(ApiRequest(http, ctx, version, self.services), **args)
