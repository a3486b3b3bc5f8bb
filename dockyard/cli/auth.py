"""Who the command line acts as: ``OS_*`` settings, ``clouds.yaml`` or the saved login.

Logging in goes through keystoneauth, so it works against Dockyard's built-in
``/v3`` identity and against Keystone alike; it is imported only when a login is
actually made, to keep the command line fast to start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.cli import clouds, login_file
from dockyard.cli.errors import CLIError
from dockyard.cli.login_file import Login

NO_AUTH = ("none", "noauth")
SERVICE_TYPE = "container"


@dataclass(frozen=True)
class Settings:
    """A keystoneauth plugin and its options, plus where to find the container service."""

    auth_type: str
    options: dict[str, str] = field(default_factory=dict, repr=False)
    endpoint: str | None = None
    region: str | None = None
    interface: str = "public"

    def with_options(self, **values: str | None) -> Settings:
        given = {k: v for k, v in values.items() if v is not None}
        return replace(self, options={**self.options, **given})


def from_env(env: Mapping[str, str]) -> Settings | None:
    """Settings from ``OS_*`` variables, or None when they name no way to authenticate."""
    auth_type = env.get("OS_AUTH_TYPE") or ("password" if env.get("OS_AUTH_URL") else "")
    endpoint = env.get("OS_ENDPOINT") or env.get("OS_URL") or None
    if not auth_type:
        if endpoint and env.get("OS_TOKEN"):
            return Settings("admin_token", {"token": env["OS_TOKEN"]}, endpoint)
        return None
    prefix = "OS_"
    options = {
        key[len(prefix) :].lower(): value
        for key, value in env.items()
        if key.startswith(prefix) and value
    }
    for unrelated in ("auth_type", "endpoint", "url", "region_name", "interface", "cloud"):
        options.pop(unrelated, None)
    return Settings(
        auth_type.replace("-", "_"),
        options,
        endpoint,
        env.get("OS_REGION_NAME") or None,
        env.get("OS_INTERFACE") or "public",
    )


def from_cloud(name: str, env: Mapping[str, str]) -> Settings:
    try:
        cloud = clouds.find_cloud(name, env)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    auth = cloud.get("auth") or {}
    options = {str(k).replace("-", "_"): str(v) for k, v in auth.items() if v is not None}
    endpoint = cloud.get("container_endpoint_override") or cloud.get("container_endpoint")
    endpoint = endpoint or options.pop("endpoint", None)
    return Settings(
        str(cloud.get("auth_type") or "password").replace("-", "_"),
        options,
        endpoint,
        cloud.get("region_name"),
        str(cloud.get("interface") or "public"),
    )


def resolve(env: Mapping[str, str], cloud: str | None, now: dt.datetime) -> Login:
    """The login a command uses: a named cloud, then ``OS_*``, then ``dockyard login``'s."""
    name = cloud or env.get("OS_CLOUD")
    if name:
        return authenticate(from_cloud(name, env))
    settings = from_env(env)
    if settings is not None:
        return authenticate(settings)
    try:
        saved = login_file.load(env)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if saved is None:
        raise CLIError(
            "not logged in: run `dockyard login AUTH_URL -u USER --project PROJECT`, "
            "or set OS_* variables (source an openrc) or OS_CLOUD"
        )
    if saved.expired(now):
        raise CLIError(f"your login expired at {saved.expires_at}: run `dockyard login` again")
    return saved


def authenticate(settings: Settings) -> Login:
    """Get a token (and the container endpoint from its catalog) for ``settings``."""
    if settings.auth_type in NO_AUTH:
        if not settings.endpoint:
            raise CLIError("auth type none needs the API's address in OS_ENDPOINT")
        return Login(endpoint=settings.endpoint)
    if settings.auth_type == "admin_token":
        assert settings.endpoint is not None
        return Login(endpoint=settings.endpoint, token=settings.options["token"])
    return _keystone_login(settings)


def _keystone_login(settings: Settings) -> Login:
    from keystoneauth1 import exceptions, loading, session

    try:
        loader: Any = loading.get_plugin_loader(settings.auth_type)
    except exceptions.NoMatchingPlugin as exc:
        raise CLIError(f"unknown auth type {settings.auth_type!r}") from exc
    known = {opt.dest for opt in loader.get_options()}
    options: dict[str, Any] = {k: v for k, v in settings.options.items() if k in known}
    if not options.get("auth_url"):
        raise CLIError("no identity service: set OS_AUTH_URL (or pass it to `dockyard login`)")
    _default_domain(options, known)
    try:
        plugin = loader.load_from_options(**options)
        keystone = session.Session(auth=plugin)
        access = plugin.get_access(keystone)
        endpoint = settings.endpoint or keystone.get_endpoint(
            service_type=SERVICE_TYPE, interface=settings.interface, region_name=settings.region
        )
    except exceptions.MissingRequiredOptions as exc:
        missing = ", ".join("OS_" + o.dest.upper() for o in exc.options)
        raise CLIError(f"cannot log in without {missing}") from exc
    except exceptions.Unauthorized as exc:
        raise CLIError(f"login refused by {options['auth_url']}: {_reason(exc)}") from exc
    except exceptions.ConnectFailure as exc:
        raise CLIError(f"cannot reach the identity service at {options['auth_url']}") from exc
    except exceptions.ClientException as exc:
        raise CLIError(f"login failed: {_reason(exc)}") from exc
    if not endpoint:
        raise CLIError(f"the service catalog lists no {SERVICE_TYPE!r} endpoint")
    expires = access.expires.astimezone(dt.UTC).isoformat() if access.expires else None
    return Login(
        endpoint=str(endpoint),
        token=access.auth_token,
        auth_url=str(options["auth_url"]),
        expires_at=expires,
        user=access.username,
        project=access.project_name,
    )


def _default_domain(options: dict[str, Any], known: set[str]) -> None:
    """Keystone v3 needs a domain for names; like ``openstack``, assume ``default``."""
    domains = ("user_domain_id", "user_domain_name", "project_domain_id", "project_domain_name")
    chosen = ("default_domain_id", "default_domain_name")
    if "default_domain_id" in known and not any(options.get(k) for k in domains + chosen):
        options["default_domain_id"] = "default"


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message).split(" (HTTP")[0]


def revoke(login: Login) -> None:
    """Best effort: ask the identity service to revoke the saved token."""
    if login.auth_url is None or login.token is None:
        return
    import requests

    url = login.auth_url.rstrip("/")
    if not url.endswith("/v3"):
        url += "/v3"
    headers = {"X-Auth-Token": login.token, "X-Subject-Token": login.token}
    with contextlib.suppress(requests.RequestException):
        requests.delete(url + "/auth/tokens", headers=headers, timeout=10)
