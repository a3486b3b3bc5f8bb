"""Neutron's REST API through keystoneauth, with its answers turned into domain errors.

Only the calls the driver makes, as plain JSON: a thin adapter, so the driver reads
like the API it drives. Unreachable, timing out or answering 5xx → ``Unavailable``
(503), so a create can say "try again" and leave nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading, session

from dockyard.domain.errors import (
    Conflict,
    DockyardError,
    DriverError,
    Forbidden,
    InvalidInput,
    IpAddressAlreadyAllocated,
    NotFound,
    Unavailable,
)

LOG = logging.getLogger(__name__)

Query = Mapping[str, str | Sequence[str]]


class NeutronApi(Protocol):
    """What the driver needs of Neutron: ``/v2.0`` calls with JSON bodies."""

    def get(self, path: str, query: Query | None = None) -> dict[str, Any]: ...

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def delete(self, path: str) -> bool: ...


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text or response.reason)[:300]
    fault = body.get("NeutronError") if isinstance(body, dict) else None
    if isinstance(fault, dict):
        return str(fault.get("message") or fault.get("type") or body)
    return str(body)[:300]


def _kind(response: Any) -> str:
    try:
        fault = response.json().get("NeutronError") or {}
    except (ValueError, AttributeError):
        return ""
    return str(fault.get("type") or "") if isinstance(fault, dict) else ""


def error_for(status: int, kind: str, message: str) -> DockyardError:
    """The domain error for a Neutron answer that is not a success."""
    text = f"Neutron: {message}"
    if status == 409 and kind == "IpAddressAlreadyAllocated":
        return IpAddressAlreadyAllocated(text)
    if status == 409:
        return Conflict(text)
    if status == 404:
        return NotFound(text)
    if status == 403:
        return Forbidden(text)
    if status == 400:
        return InvalidInput(text)
    if status >= 500 or status == 401:
        # 401: the service user's token or password stopped working; try again later.
        return Unavailable(f"Neutron cannot serve the request now ({status}): {message}")
    return DriverError(f"Neutron answered {status}: {message}")


class NeutronClient:
    """``/v2.0`` of the cloud's Neutron, as Dockyard's service user."""

    def __init__(
        self,
        *,
        auth_url: str,
        username: str,
        password: str,
        project_name: str,
        user_domain_name: str = "Default",
        project_domain_name: str = "Default",
        region_name: str = "",
        endpoint_override: str = "",
        interface: str = "public",
        timeout: float = 30.0,
    ) -> None:
        auth: Any = loading.get_plugin_loader("password").load_from_options(
            auth_url=auth_url,
            username=username,
            password=password,
            project_name=project_name,
            user_domain_name=user_domain_name,
            project_domain_name=project_domain_name,
        )
        self.session = session.Session(auth=auth, timeout=timeout)
        self.filter: dict[str, Any] = {"service_type": "network", "interface": interface}
        if region_name:
            self.filter["region_name"] = region_name
        self.endpoint_override = endpoint_override.rstrip("/") or None
        self._root: str | None = None

    def root_url(self) -> str | None:
        """Neutron's root URL as clients are given it (``endpoint_override``, else the
        service user's catalog's ``network`` endpoint), found once; None while Keystone
        cannot say."""
        if self.endpoint_override is not None:
            return f"{self.endpoint_override}/"
        if self._root is None:
            try:
                found = self.session.get_endpoint(**self.filter)
            except ks_exceptions.ClientException as exc:
                LOG.warning("Neutron's endpoint is not known yet: %s", exc)
                return None
            if not found:
                LOG.warning("the service user's catalog has no network endpoint")
                return None
            self._root = f"{str(found).rstrip('/')}/"
        return self._root

    def _url(self, path: str) -> str:
        if self.endpoint_override is not None:
            return f"{self.endpoint_override}/v2.0{path}"
        return f"/v2.0{path}"

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: Query | None = None,
    ) -> Any:
        try:
            response = self.session.request(
                self._url(path),
                method,
                json=body,
                params=dict(query) if query else None,
                endpoint_filter=None if self.endpoint_override else self.filter,
                raise_exc=False,
                connect_retries=1,
            )
        except ks_exceptions.EndpointNotFound as exc:
            raise Unavailable(f"No network endpoint in the catalog: {exc}") from exc
        except ks_exceptions.ClientException as exc:
            # Refused, timed out, or Keystone would not give the service user a token.
            raise Unavailable(f"Neutron cannot be reached: {exc}") from exc
        if response.status_code >= 400:
            raise error_for(response.status_code, _kind(response), _message(response))
        return response

    def get(self, path: str, query: Query | None = None) -> dict[str, Any]:
        return dict(self._call("GET", path, query=query).json())

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", path, body=body).json())

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("PUT", path, body=body).json())

    def delete(self, path: str) -> bool:
        """Delete; ``False`` when it was gone already."""
        try:
            self._call("DELETE", path)
        except NotFound:
            return False
        return True
