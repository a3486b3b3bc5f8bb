"""Dockyard's own identity (auth_strategy = local): projects, users, roles and tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: The only domain local identity knows; clients name it in their auth requests.
DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    enabled: bool = True


@dataclass(frozen=True)
class User:
    """A user as shown to operators; the password hash never leaves the repository's
    ``credentials`` lookup."""

    id: str
    name: str
    enabled: bool = True


@dataclass(frozen=True)
class RoleAssignment:
    user_id: str
    project_id: str
    role: str


@dataclass(frozen=True)
class Claims:
    """What a token asserts; signed, so it cannot be altered by its holder."""

    token_id: str
    user_id: str
    project_id: str
    roles: tuple[str, ...]
    issued_at: dt.datetime
    expires_at: dt.datetime
    #: The user's token generation at issue; a new password raises it, and tokens of
    #: an older generation are no longer accepted.
    generation: int = 0


@dataclass(frozen=True)
class TokenInfo:
    """A validated token with the current names of its user and project."""

    claims: Claims
    user: User
    project: Project
    roles: tuple[str, ...]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    info: TokenInfo
