"""The Keystone-v3 subset clients need to log in to Dockyard (auth_strategy = local).

Served under ``/v3``: the version document keystoneauth discovers, and
``/v3/auth/tokens`` to issue (password method, project scope), validate and
revoke tokens. The catalog in each token points the ``container`` service at this
server's ``/v1``, ``network`` at its root (under the neutron network driver: at the
cloud's Neutron) and ``block-storage`` at ``/volume/v3/{project}``. Errors use
Keystone's ``{"error": {code, title, message}}`` body.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from dockyard.api.block_storage.views import VERSION_PATH as VOLUME_API
from dockyard.api.identity_schemas import check_auth
from dockyard.api.json_body import parse_json
from dockyard.api.request import json_response
from dockyard.domain.errors import DockyardError, InvalidInput, Unauthorized
from dockyard.domain.identity import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, TokenInfo
from dockyard.service.identity import IdentityService, Ref

LOG = logging.getLogger(__name__)

VERSION_ID = "v3.14"
VERSION_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"
REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")
DOMAIN = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}
MAX_AUTH_BODY = 64 * 1024


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": status, "title": HTTPStatus(status).phrase, "message": message}}
    return json_response(body, status=status, headers=headers)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def _stable_id(kind: str, value: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"dockyard:{kind}:{value}").hex


def version_document(base: str) -> dict[str, Any]:
    return {
        "version": {
            "id": VERSION_ID,
            "status": "stable",
            "updated": VERSION_UPDATED,
            "links": [{"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
        }
    }


def _service(kind: str, name: str, url: str) -> dict[str, Any]:
    endpoints = [
        {
            "id": _stable_id(f"{kind}-endpoint", interface),
            "interface": interface,
            "region": REGION,
            "region_id": REGION,
            "url": url,
        }
        for interface in INTERFACES
    ]
    return {"id": _stable_id("service", kind), "type": kind, "name": name, "endpoints": endpoints}


#: The network endpoint for a server root (``base``): the server's own root, the cloud's
#: Neutron, or None (no network service is listed).
NetworkEndpoint = Callable[[str], str | None]


def own_network(base: str) -> str:
    """This server serves ``/v2.0``: the network endpoint is its root, as Neutron's is."""
    return f"{base}/"


def token_body(
    info: TokenInfo, base: str, catalog: bool = True, network: NetworkEndpoint = own_network
) -> dict[str, Any]:
    claims = info.claims
    audit_id = base64.urlsafe_b64encode(bytes.fromhex(claims.token_id)).rstrip(b"=").decode()
    token: dict[str, Any] = {
        "methods": ["password"],
        "user": {
            "id": info.user.id,
            "name": info.user.name,
            "domain": dict(DOMAIN),
            "password_expires_at": None,
        },
        "audit_ids": [audit_id],
        "expires_at": _timestamp(claims.expires_at),
        "issued_at": _timestamp(claims.issued_at),
        "project": {"id": info.project.id, "name": info.project.name, "domain": dict(DOMAIN)},
        "is_domain": False,
        "roles": [{"id": _stable_id("role", r), "name": r} for r in info.roles],
    }
    if catalog:
        token["catalog"] = service_catalog(base, info.project.id, network)
    return {"token": token}


#: How Keystone spells the scoped project in an endpoint's URL until a token fills it in.
PROJECT_TEMPLATE = "%(project_id)s"


def service_catalog(
    base: str, project_id: str = PROJECT_TEMPLATE, network: NetworkEndpoint = own_network
) -> list[dict[str, Any]]:
    """The services this server offers. The network endpoint is a root, as Neutron's is:
    clients append ``/v2.0``; ``network`` gives it (this server's own root, or under the
    neutron network driver the cloud's Neutron; None: none is listed). The
    block-storage endpoint names the project, as Cinder's does: a token's catalog has
    the token's project there, the endpoint list Keystone's template."""
    services = [
        _service("container", "zun", f"{base}/v1"),
        _service("identity", "keystone", f"{base}/v3"),
        _service("block-storage", "cinder", f"{base}{VOLUME_API}/{project_id}"),
    ]
    network_url = network(base)
    if network_url:
        services.append(_service("network", "neutron", network_url))
    return services


def _services(base: str, network: NetworkEndpoint = own_network) -> list[dict[str, Any]]:
    """The catalog as ``/v3/services`` lists it."""
    return [
        {
            "id": service["id"],
            "type": service["type"],
            "name": service["name"],
            "description": "",
            "enabled": True,
            "links": {"self": f"{base}/v3/services/{service['id']}"},
        }
        for service in service_catalog(base, network=network)
    ]


def _endpoints(base: str, network: NetworkEndpoint = own_network) -> list[dict[str, Any]]:
    """The catalog as ``/v3/endpoints`` lists it."""
    return [
        {
            **endpoint,
            "service_id": service["id"],
            "enabled": True,
            "links": {"self": f"{base}/v3/endpoints/{endpoint['id']}"},
        }
        for service in service_catalog(base, network=network)
        for endpoint in service["endpoints"]
    ]


def _listed(kind: str, items: list[dict[str, Any]], http: Request) -> dict[str, Any]:
    """Keystone's list body, narrowed by the exact-match query filters it supports."""
    filters = {k: v for k, v in http.args.items() if k in _FILTERS[kind]}
    chosen = [i for i in items if all(str(i.get(k)) == v for k, v in filters.items())]
    links = {"self": http.base_url, "next": None, "previous": None}
    return {kind: chosen, "links": links}


_FILTERS: dict[str, frozenset[str]] = {
    "services": frozenset({"type", "name"}),
    "endpoints": frozenset({"interface", "service_id", "region_id", "region"}),
}


def _in_default_domain(entity: dict[str, Any], where: str) -> None:
    domain = entity.get("domain")
    if domain is None:
        return
    if domain.get("id", DEFAULT_DOMAIN_ID) != DEFAULT_DOMAIN_ID or (
        str(domain.get("name", DEFAULT_DOMAIN_NAME)).lower() != DEFAULT_DOMAIN_NAME.lower()
    ):
        raise Unauthorized("Dockyard knows only the Default domain.")


def _ref(entity: dict[str, Any], where: str) -> Ref:
    ident, name = entity.get("id"), entity.get("name")
    if isinstance(ident, str) and ident:
        return Ref(id=ident)
    if isinstance(name, str) and name:
        _in_default_domain(entity, where)
        return Ref(name=name)
    raise InvalidInput(f"Invalid input for field '{where}': an id or a name is required.")


def parse_password_auth(body: Any) -> tuple[Ref, str, Ref]:
    """(user, password, project) from a Keystone v3 password auth request: its shape is
    ``identity_schemas.AUTH`` (→ 400), its method password and its scope a project (→ 401)."""
    check_auth(body)
    auth = body["auth"]
    identity = auth["identity"]
    if identity["methods"] != ["password"]:
        raise Unauthorized("Only the password authentication method is supported.")
    if "password" not in identity:
        raise InvalidInput("Invalid input for field 'identity.password': it is required.")
    user = identity["password"]["user"]
    scope = auth.get("scope")
    if not isinstance(scope, dict) or not isinstance(scope.get("project"), dict):
        raise Unauthorized("Dockyard issues project-scoped tokens only: name a project.")
    return _ref(user, "user"), user["password"], _ref(scope["project"], "scope.project")


#: (method, path, endpoint) of every route served; the OpenAPI document describes each.
ROUTES: Final = (
    ("GET", "/v3", "version"),
    ("GET", "/v3/", "version"),
    ("POST", "/v3/auth/tokens", "issue"),
    ("GET", "/v3/auth/tokens", "check"),
    ("DELETE", "/v3/auth/tokens", "revoke"),
    ("GET", "/v3/services", "services"),
    ("GET", "/v3/services/<ident>", "service"),
    ("GET", "/v3/endpoints", "endpoints"),
    ("GET", "/v3/endpoints/<ident>", "endpoint"),
)


class IdentityApp:
    """WSGI app for ``/v3`` (PATH_INFO keeps the ``/v3`` prefix)."""

    def __init__(self, identity: IdentityService, network: NetworkEndpoint = own_network) -> None:
        self.identity = identity
        #: The catalog's network endpoint: this server's root, or the cloud's Neutron.
        self.network = network
        handlers: dict[str, Callable[..., Response]] = {
            "version": self.version,
            "issue": self.issue,
            "check": self.check,
            "revoke": self.revoke,
            "services": self.services,
            "service": self.service,
            "endpoints": self.endpoints,
            "endpoint": self.endpoint,
        }
        self.handlers = handlers
        self.url_map = Map(
            [Rule(path, endpoint=endpoint, methods=[method]) for method, path, endpoint in ROUTES],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        http = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = self.handlers[endpoint](http, **args)
        except DockyardError as exc:
            response = self._error(exc, self._base(http))
        except MethodNotAllowed as exc:
            response = error_response(405, "The method is not allowed for this resource.")
            response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        except NotFound:
            response = error_response(404, "Could not find the requested resource.")
        except HTTPException as exc:
            response = error_response(exc.code or 500, str(exc.description))
        except Exception:
            LOG.exception("identity request %s %s failed", http.method, http.path)
            response = error_response(500, "An unexpected error prevented the request.")
        return response(environ, start_response)

    @staticmethod
    def _error(exc: DockyardError, base: str) -> Response:
        if exc.status >= 500 and not exc.public:
            LOG.error("identity request failed: %s", exc)
            return error_response(exc.status, "An unexpected error prevented the request.")
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = f'Keystone uri="{base}/v3"'
        if "retry_after" in exc.fields:
            headers["Retry-After"] = str(exc.fields["retry_after"])
        return error_response(exc.status, exc.detail, headers)

    @staticmethod
    def _base(http: Request) -> str:
        return http.url_root.rstrip("/")

    def version(self, http: Request) -> Response:
        return json_response(version_document(self._base(http)))

    def issue(self, http: Request) -> Response:
        http.max_content_length = MAX_AUTH_BODY  # larger bodies get 413
        body = parse_json(http.get_data())
        user, password, project = parse_password_auth(body)
        address = str(http.environ.get("REMOTE_ADDR") or "unknown")
        issued = self.identity.authenticate(user, password, project, address)
        return json_response(
            token_body(issued.info, self._base(http), network=self.network),
            status=201,
            headers={"X-Subject-Token": issued.token},
        )

    def _caller_and_subject(self, http: Request) -> TokenInfo:
        caller = self.identity.validate(http.headers.get("X-Auth-Token", ""))
        subject = http.headers.get("X-Subject-Token")
        if not subject:
            raise InvalidInput("The X-Subject-Token header is required.")
        return self.identity.inspect(caller, subject)

    def check(self, http: Request) -> Response:
        info = self._caller_and_subject(http)
        nocatalog = "nocatalog" in http.args
        body = token_body(info, self._base(http), catalog=not nocatalog, network=self.network)
        token = http.headers.get("X-Subject-Token", "")
        return json_response(body, headers={"X-Subject-Token": token})

    def revoke(self, http: Request) -> Response:
        caller = self.identity.validate(http.headers.get("X-Auth-Token", ""))
        subject = http.headers.get("X-Subject-Token")
        if not subject:
            raise InvalidInput("The X-Subject-Token header is required.")
        self.identity.revoke(caller, subject)
        return Response(status=204)

    # The catalog, for `openstack service list`, `endpoint list` and friends: any
    # valid token may read it (each token carries it anyway).

    def services(self, http: Request) -> Response:
        self.identity.validate(http.headers.get("X-Auth-Token", ""))
        return json_response(_listed("services", _services(self._base(http), self.network), http))

    def service(self, http: Request, ident: str) -> Response:
        return self._one(http, ident, "service", _services(self._base(http), self.network))

    def endpoints(self, http: Request) -> Response:
        self.identity.validate(http.headers.get("X-Auth-Token", ""))
        return json_response(_listed("endpoints", _endpoints(self._base(http), self.network), http))

    def endpoint(self, http: Request, ident: str) -> Response:
        return self._one(http, ident, "endpoint", _endpoints(self._base(http), self.network))

    def _one(self, http: Request, ident: str, kind: str, items: list[dict[str, Any]]) -> Response:
        self.identity.validate(http.headers.get("X-Auth-Token", ""))
        for item in items:
            if item["id"] == ident:
                return json_response({kind: item})
        return error_response(404, f"Could not find {kind}: {ident}.")
