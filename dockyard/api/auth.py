"""Turning a request's credentials into a RequestContext."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

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
