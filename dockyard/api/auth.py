"""Turning a request's credentials into a RequestContext."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol

from dockyard.domain.errors import Unauthorized
from dockyard.domain.models import RequestContext


class Authenticator(Protocol):
    def authenticate(self, headers: Mapping[str, str], request_id: str) -> RequestContext:
        """The caller's context; raises an error with status 401 when not authenticated."""

    def anonymous(self, request_id: str) -> RequestContext:
        """The context of a request to a public route."""


class NoAuth:
    """Every request acts as one admin user in one project, whatever its token."""

    def __init__(self, user_id: str, project_id: str) -> None:
        self.user_id = user_id
        self.project_id = project_id

    def authenticate(self, headers: Mapping[str, str], request_id: str) -> RequestContext:
        return RequestContext(
            request_id=request_id,
            user_id=self.user_id,
            project_id=self.project_id,
            roles=("admin",),
            is_admin=True,
            user_name=self.user_id,
            project_name=self.project_id,
        )

    def anonymous(self, request_id: str) -> RequestContext:
        return RequestContext(request_id=request_id, user_id="", project_id="")


class HeaderAuth:
    """Builds the context from the identity headers an auth middleware set.

    Both keystonemiddleware (auth_strategy = keystone) and Dockyard's own token
    middleware (auth_strategy = local) validate the token and then set these
    headers; requests without a confirmed identity never reach the app.
    ``is_admin`` decides admin from the caller's credentials (the policy rule
    ``context_is_admin``).
    """

    def __init__(self, is_admin: Callable[[RequestContext], bool]) -> None:
        self.is_admin = is_admin

    def authenticate(self, headers: Mapping[str, str], request_id: str) -> RequestContext:
        get = {k.lower(): v for k, v in headers.items()}.get
        if get("x-identity-status", "Confirmed") != "Confirmed" or not get("x-user-id"):
            raise Unauthorized("The request you have made requires authentication.")
        roles = tuple(r.strip() for r in get("x-roles", "").split(",") if r.strip())
        ctx = RequestContext(
            request_id=request_id,
            user_id=get("x-user-id", ""),
            project_id=get("x-project-id", ""),
            roles=roles,
            user_name=get("x-user-name", ""),
            project_name=get("x-project-name", ""),
        )
        return dataclasses.replace(ctx, is_admin=self.is_admin(ctx))

    def anonymous(self, request_id: str) -> RequestContext:
        return RequestContext(request_id=request_id, user_id="", project_id="")
