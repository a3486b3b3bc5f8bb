"""What a handler receives: the HTTP request plus context, version and services."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from dockyard.api.json_body import parse_json
from dockyard.api.policy import Target
from dockyard.api.services import Services
from dockyard.api.versions import Version
from dockyard.domain.errors import InvalidParamInVersion
from dockyard.domain.models import RequestContext


@dataclass
class ApiRequest:
    http: Request
    ctx: RequestContext
    version: Version
    services: Services

    @property
    def base_url(self) -> str:
        """Scheme and host the client used, without any path.

        Read straight from the WSGI environ: werkzeug's host_url re-parses and
        IRI-decodes the URL on every call, a visible cost on every rendered link.
        """
        env = self.http.environ
        host = env.get("HTTP_HOST") or f"{env['SERVER_NAME']}:{env['SERVER_PORT']}"
        return f"{env['wsgi.url_scheme']}://{host}"

    def query(self) -> dict[str, Any]:
        """Query parameters; a repeated key becomes a list, which schemas reject."""
        params: dict[str, Any] = {}
        for key, values in self.http.args.lists():
            params[key] = values[0] if len(values) == 1 else values
        return params

    def body(self) -> Any:
        """The JSON body, or None when there is none."""
        data = self.http.get_data(cache=True)
        if not data.strip():
            return None
        return parse_json(data)

    def is_json(self) -> bool:
        return self.http.mimetype == "application/json"

    def merged(self) -> dict[str, Any]:
        """Query parameters merged with the keys of a JSON object body, as Zun does."""
        params = self.query()
        body = self.body() if self.is_json() else None
        if isinstance(body, dict):
            for key, value in body.items():
                params[key] = [params[key], value] if key in params else value
        return params

    def authorize(
        self, rule: str, target: Target | None = None, might_not_exist: bool = False
    ) -> None:
        """403 naming ``rule`` unless it passes; ``target`` defaults to the caller's project."""
        self.services.authorizer.authorize(self.ctx, rule, target, might_not_exist)

    def allows(self, rule: str, target: Target | None = None) -> bool:
        return self.services.authorizer.allows(self.ctx, rule, target)

    def network_ctx(self) -> RequestContext:
        """The caller's context carrying what ``network:attach_external_network`` decides,
        for the requests that plug containers into networks."""
        allowed = self.allows("network:attach_external_network")
        return dataclasses.replace(self.ctx, may_attach_external=allowed)

    @property
    def hidden_fields(self) -> frozenset[str]:
        """Container fields a ``container:get_one:<field>`` rule hides from the caller.

        The authorizer remembers its decisions, so asking again costs a lookup.
        """
        return self.services.authorizer.denied(self.ctx, "container:get_one:")

    def at_least(self, version: Version, parameter: str) -> None:
        if self.version < version:
            raise InvalidParamInVersion(
                f"{parameter} is not supported until microversion {version[0]}.{version[1]}."
            )


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(payload), status=status, headers=headers, content_type="application/json"
    )


def empty_response(status: int = 204) -> Response:
    return Response(status=status)
