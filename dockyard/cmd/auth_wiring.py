"""Puts the API behind the configured authentication strategy."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.api.app import DockyardApp, Services, WSGIApp
from dockyard.api.auth import NoAuth
from dockyard.api.body_limit import BodyLimit
from dockyard.api.keystone_auth import keystone_app
from dockyard.cmd.identity import local_app
from dockyard.config import api, default
from dockyard.db.session import Database


def api_app(conf: cfg.ConfigOpts, services: Services, db: Database) -> WSGIApp:
    """The WSGI application for ``[DEFAULT] auth_strategy``, behind the body size limit."""
    return BodyLimit(_authenticated(conf, services, db), api.view(conf).max_request_body_size)


def _authenticated(conf: cfg.ConfigOpts, services: Services, db: Database) -> WSGIApp:
    """The application for ``[DEFAULT] auth_strategy``.

    - ``noauth``: every request acts as one admin user in one project.
    - ``keystone``: keystonemiddleware validates tokens against Keystone and sets
      the identity headers that ``HeaderAuth`` reads.
    - ``local``: Dockyard's own users, projects and tokens (a Keystone-v3
      compatible subset under ``/v3``), setting the same identity headers.
    """
    defaults = default.view(conf)
    if defaults.auth_strategy == "noauth":
        return DockyardApp(services, NoAuth(defaults.noauth_user_id, defaults.noauth_project_id))
    if defaults.auth_strategy == "keystone":
        return keystone_app(conf, services)
    if defaults.auth_strategy == "local":
        return local_app(conf, services, db)
    raise ValueError(f"auth_strategy {defaults.auth_strategy!r} is not available")
