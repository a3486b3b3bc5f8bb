"""WSGI app for ``/v2.0``: the Neutron API subset the OpenStack network commands use.

Mounted beside the Zun routes behind the same authentication (the caller's
context comes from the same ``Authenticator``). Errors use Neutron's body:
``{"NeutronError": {"type", "message", "detail"}}``, the type being Neutron's
exception name (``NetworkNotFound``, ``IpAddressAlreadyAllocated``, ...).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from dockyard.api.auth import Authenticator
from dockyard.api.neutron import parse, views
from dockyard.api.neutron.resources import Fields, Resources
from dockyard.api.request import json_response
from dockyard.domain.errors import (
    ClientError,
    Conflict,
    DockyardError,
    Forbidden,
    InvalidInput,
)
from dockyard.domain.errors import (
    NotFound as NotFoundError,
)
from dockyard.domain.models import RequestContext
from dockyard.service.networks import NetworkService

LOG = logging.getLogger(__name__)

PREFIX: Final = "/v2.0"

#: collection path → (Neutron's singular key, the name in ``Resources``' methods).
COLLECTIONS: Final = {
    "networks": ("network", "network"),
    "subnets": ("subnet", "subnet"),
    "ports": ("port", "port"),
    "security-groups": ("security_group", "group"),
    "security-group-rules": ("security_group_rule", "rule"),
}


def _routes() -> tuple[tuple[str, str, str], ...]:
    found = [
        ("GET", PREFIX, "root"),
        ("GET", f"{PREFIX}/extensions", "extensions"),
        ("GET", f"{PREFIX}/extensions/<alias>", "extension"),
    ]
    for path, (_, name) in COLLECTIONS.items():
        found += [
            ("GET", f"{PREFIX}/{path}", f"list:{path}"),
            ("POST", f"{PREFIX}/{path}", f"create:{path}"),
            ("GET", f"{PREFIX}/{path}/<ident>", f"show:{path}"),
            ("DELETE", f"{PREFIX}/{path}/<ident>", f"delete:{path}"),
        ]
        if hasattr(Resources, f"update_{name}"):  # rules are not changed, only replaced
            found.append(("PUT", f"{PREFIX}/{path}/<ident>", f"update:{path}"))
    return tuple(found)


#: (method, path, endpoint) of every route served; the OpenAPI document describes each.
ROUTES: Final = _routes()
#: Domain errors whose class name is not Neutron's exception name for the case.
_TYPES: Final[dict[type[DockyardError], str]] = {
    InvalidInput: "InvalidInput",
    Forbidden: "PolicyNotAuthorized",
    NotFoundError: "HTTPNotFound",
    Conflict: "Conflict",
}


def error_response(status: int, kind: str, message: str) -> Response:
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return json_response(body, status=status)


def _neutron_type(exc: DockyardError) -> str:
    cls = type(exc)
    if cls in _TYPES:
        return _TYPES[cls]
    if cls.__name__ in ("ValidationFailed", "SchemaValidationError", "InvalidParameterValue"):
        return "InvalidInput"
    return cls.__name__


#: Openings of the messages the request parser writes in Neutron's own words.
_NEUTRON_WORDED: Final = (
    "Invalid input",
    "Unrecognized",
    "Failed to parse",
    "Unable to find",
    "Resource body",
)


def _message(exc: DockyardError) -> str:
    if type(exc) is InvalidInput and not exc.detail.startswith(_NEUTRON_WORDED):
        return f"Invalid input for operation: {exc.detail}"
    return exc.detail


class NeutronApp:
    """WSGI app for ``/v2.0`` (PATH_INFO keeps the prefix)."""

    def __init__(
        self,
        service: NetworkService,
        auth: Authenticator,
        reader_only: Callable[[RequestContext], bool] = lambda ctx: False,
    ) -> None:
        self.auth = auth
        self.reader_only = reader_only
        self.resources = Resources(service)
        self.url_map = Map(
            [Rule(path, endpoint=endpoint, methods=[method]) for method, path, endpoint in ROUTES],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        http = Request(environ)
        request_id = f"req-{uuid.uuid4()}"
        try:
            path = http.path.rstrip("/")
            if path.endswith(".json"):
                path = path[: -len(".json")]
            endpoint, args = self.url_map.bind_to_environ(environ).match(path, method=http.method)
            ctx = self.auth.authenticate(dict(http.headers), request_id)
            if http.method != "GET" and not ctx.is_admin and self.reader_only(ctx):
                raise Forbidden("A reader of the project may not change its network records.")
            response = self._dispatch(http, ctx, endpoint, args)
        except DockyardError as exc:
            response = self._error(exc)
        except MethodNotAllowed as exc:
            response = error_response(405, "HTTPMethodNotAllowed", "The method is not allowed.")
            response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        except NotFound:
            response = error_response(404, "HTTPNotFound", "The resource could not be found.")
        except HTTPException as exc:
            code = exc.code or 500
            response = error_response(code, "HTTPError", str(exc.description))
        except Exception:
            LOG.exception("network request %s %s failed (%s)", http.method, http.path, request_id)
            response = error_response(
                500, "HTTPInternalServerError", "Request Failed: internal server error while "
                f"processing your request ({request_id})."
            )  # fmt: skip
        response.headers["X-OpenStack-Request-Id"] = request_id
        return response(environ, start_response)

    @staticmethod
    def _error(exc: DockyardError) -> Response:
        if exc.status >= 500 and not exc.public:
            LOG.error("network request failed: %s", exc)
            return error_response(
                exc.status, "HTTPInternalServerError", "Request Failed: internal server error."
            )
        if not isinstance(exc, ClientError):
            return error_response(exc.status, type(exc).__name__, exc.detail)
        return error_response(exc.status, _neutron_type(exc), _message(exc))

    def _dispatch(
        self, http: Request, ctx: RequestContext, endpoint: str, args: Mapping[str, Any]
    ) -> Response:
        if endpoint == "root":
            return json_response({"resources": self._resources(http)})
        if endpoint == "extensions":
            return json_response({"extensions": []})
        if endpoint == "extension":
            raise NotFoundError(f"Extension with alias {args['alias']} does not exist")
        action, path = endpoint.split(":")
        key, name = COLLECTIONS[path]
        fields = [f for f in http.args.getlist("fields") if f]
        res = self.resources
        if action == "list":
            items: list[Fields] = getattr(res, f"{name}_views")(ctx)
            query = {k: http.args.getlist(k) for k in http.args}
            base = f"{http.host_url.rstrip('/')}{PREFIX}/{path}"
            collection = key + "s"
            return json_response(parse.select(items, query, collection, lambda q: f"{base}?{q}"))
        if action == "show":
            item = getattr(res, f"show_{name}")(ctx, args["ident"])
            return json_response({key: views.only(item, fields)})
        if action == "delete":
            getattr(res, f"delete_{name}")(ctx, args["ident"])
            return Response(status=204)
        body = parse.body(http.get_data(), key)
        if action == "create":
            return json_response({key: getattr(res, f"create_{name}")(ctx, body)}, status=201)
        return json_response({key: getattr(res, f"update_{name}")(ctx, args["ident"], body)})

    @staticmethod
    def _resources(http: Request) -> list[dict[str, Any]]:
        base = f"{http.host_url.rstrip('/')}{PREFIX}"
        return [
            {
                "name": key,
                "collection": key + "s",
                "links": [{"rel": "self", "href": f"{base}/{path}"}],
            }
            for path, (key, _) in COLLECTIONS.items()
        ]
