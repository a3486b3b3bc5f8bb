"""Puts the API behind the configured authentication strategy."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.api import identity_v3
from dockyard.api.app import DockyardApp, WSGIApp
from dockyard.api.auth import NoAuth
from dockyard.api.block_storage import app as block_storage
from dockyard.api.block_storage import views as volume_views
from dockyard.api.block_storage.mount import with_volume_api
from dockyard.api.body_limit import BodyLimit, Refusal
from dockyard.api.dashboard.identity import InProcess, OverHttp, Session, TokenApi
from dockyard.api.dashboard.server import mount
from dockyard.api.keystone_auth import keystone_app
from dockyard.api.metrics import RequestMetrics
from dockyard.api.neutron import app as neutron
from dockyard.api.neutron.mount import with_network_api
from dockyard.api.services import Services
from dockyard.cmd.identity import local_app
from dockyard.config import api, dashboard, default
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.session import Database
from dockyard.observability.metrics import count_containers_with


def api_app(conf: cfg.ConfigOpts, services: Services, db: Database) -> WSGIApp:
    """The API for ``[DEFAULT] auth_strategy``, with the dashboard when it is enabled,
    behind the request body size limit, timed and with /metrics (docs/operations.md)."""
    app = _strategy_app(conf, services, db)
    settings = dashboard.view(conf)
    if settings.enabled:
        app = mount(app, dashboard_identity(conf, app, settings))
    served = api.view(conf)
    if served.metrics_enabled:
        count_containers_with(ContainerRepository(db).count_by_host_status)
    limited = BodyLimit(app, served.max_request_body_size, REFUSALS)
    return RequestMetrics(limited, served.metrics_enabled)


#: Each OpenStack subset's error body for a refusal before its app is reached.
REFUSALS: dict[str, Refusal] = {
    neutron.PREFIX: lambda status, detail: neutron.error_response(
        status, "HTTPRequestEntityTooLarge", detail
    ),
    volume_views.PREFIX: block_storage.error_response,
    "/v3": identity_v3.error_response,
}


def dashboard_identity(
    conf: cfg.ConfigOpts, app: WSGIApp, settings: dashboard.DashboardConfig
) -> TokenApi | Session:
    """Where the dashboard's login form gets tokens (the built-in /v3 or Keystone); under
    noauth, the one session every visitor has."""
    if settings.identity_url:
        return TokenApi(OverHttp(settings.identity_url, settings.identity_timeout))
    strategy = default.view(conf).auth_strategy
    if strategy == "local":
        return TokenApi(InProcess(app))
    if strategy == "keystone":
        url = str(conf.keystone_authtoken.www_authenticate_uri or "")
        if not url:
            raise ValueError(
                "[dashboard] identity_url or [keystone_authtoken] www_authenticate_uri "
                "must name Keystone for the dashboard's login"
            )
        base = url.rstrip("/")
        return TokenApi(OverHttp(base if base.endswith("/v3") else base + "/v3",
                                 settings.identity_timeout))  # fmt: skip
    defaults = default.view(conf)
    return Session(
        token="",
        user=defaults.noauth_user_id,
        user_id=defaults.noauth_user_id,
        project=defaults.noauth_project_id,
        project_id=defaults.noauth_project_id,
        roles=("admin",),
        expires_at="",
    )


def _strategy_app(conf: cfg.ConfigOpts, services: Services, db: Database) -> WSGIApp:
    """The WSGI application for ``[DEFAULT] auth_strategy``.

    - ``noauth``: every request acts as one admin user in one project.
    - ``keystone``: keystonemiddleware validates tokens against Keystone and sets
      the identity headers that ``HeaderAuth`` reads.
    - ``local``: Dockyard's own users, projects and tokens (a Keystone-v3
      compatible subset under ``/v3``), setting the same identity headers.
    """
    defaults = default.view(conf)
    if defaults.auth_strategy == "noauth":
        auth = NoAuth(defaults.noauth_user_id, defaults.noauth_project_id)
        apis = with_network_api(DockyardApp(services, auth), services, auth)
        return with_volume_api(apis, services, auth)
    if defaults.auth_strategy == "keystone":
        return keystone_app(conf, services)
    if defaults.auth_strategy == "local":
        return local_app(conf, services, db)
    raise ValueError(f"auth_strategy {defaults.auth_strategy!r} is not available")
