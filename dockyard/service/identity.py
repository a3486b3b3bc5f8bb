"""Local identity use cases: managing users and projects, issuing and checking tokens."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass

from dockyard.db.repositories.identity import IdentityRepository
from dockyard.domain.clock import Clock
from dockyard.domain.errors import Forbidden, InvalidInput, NotFound, TooManyRequests
from dockyard.domain.identity import (
    Claims,
    IssuedToken,
    Project,
    RoleAssignment,
    TokenInfo,
    User,
)
from dockyard.service.passwords import PasswordHasher
from dockyard.service.ratelimit import AttemptLimiter
from dockyard.service.tokens import InvalidToken, TokenSigner, new_token_id

ADMIN_ROLE = "admin"
_ROLE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
AUTH_FAILED = "The request you have made requires authentication."


@dataclass(frozen=True)
class Ref:
    """A user or project named by id or by name, as in a Keystone auth request."""

    id: str | None = None
    name: str | None = None

    @property
    def key(self) -> str:
        return f"id:{self.id}" if self.id is not None else f"name:{self.name}"


@dataclass(frozen=True)
class Bootstrap:
    project: Project
    user: User
    password: str


def _check_name(kind: str, name: str) -> None:
    if not name or len(name) > 255 or name != name.strip():
        raise InvalidInput(f"A {kind} name needs 1 to 255 characters, without outer spaces.")


class IdentityAdmin:
    """Managing projects, users and role assignments (``dockyard-manage``, bootstrap)."""

    def __init__(self, repo: IdentityRepository, hasher: PasswordHasher) -> None:
        self.repo = repo
        self.hasher = hasher

    def create_project(self, name: str) -> Project:
        """Create a project; raises InvalidInput for a bad name, Conflict if it exists."""
        _check_name("project", name)
        project = Project(id=uuid.uuid4().hex, name=name)
        self.repo.add_project(project)
        return project

    def create_user(
        self, name: str, password: str, project: str | None = None, role: str = "member"
    ) -> User:
        """Create a user with a bcrypt-hashed password and, given ``project``, ``role`` on
        it. Raises InvalidInput, NotFound (no such project) or Conflict (name taken)."""
        _check_name("user", name)
        if not password:
            raise InvalidInput("A password cannot be empty.")
        scope = self._project(project, role) if project is not None else None
        user = User(id=uuid.uuid4().hex, name=name)
        self.repo.add_user(user, self.hasher.hash(password))
        if scope is not None:
            self.repo.add_role(RoleAssignment(user.id, scope.id, role))
        return user

    def grant(self, user_name: str, project_name: str, role: str) -> bool:
        """Give a user a role on a project; False if they had it. Raises NotFound."""
        scope = self._project(project_name, role)
        user = self._user(user_name)
        return self.repo.add_role(RoleAssignment(user.id, scope.id, role))

    def revoke_role(self, user_name: str, project_name: str, role: str) -> bool:
        """Take a role away at once (tokens scoped to the project lose it on their next
        request); False if the user did not have it. Raises NotFound."""
        scope = self._project(project_name, role)
        user = self._user(user_name)
        return self.repo.remove_role(RoleAssignment(user.id, scope.id, role))

    def set_enabled(self, user_name: str, enabled: bool) -> User:
        """Disable a user (their tokens stop working at once, no new ones are issued)
        or enable them again. Raises NotFound."""
        user = self._user(user_name)
        if not self.repo.set_enabled(user.id, enabled):
            raise NotFound(f"No user named {user_name}.")
        return User(user.id, user.name, enabled)

    def set_password(self, user_name: str, password: str) -> User:
        """Give a user a new password; every token issued before stops working."""
        if not password:
            raise InvalidInput("A password cannot be empty.")
        user = self._user(user_name)
        if not self.repo.set_password(user.id, self.hasher.hash(password)):
            raise NotFound(f"No user named {user_name}.")
        return user

    def delete_user(self, user_name: str) -> User:
        """Delete a user and their role assignments; their tokens stop working."""
        user = self._user(user_name)
        if not self.repo.delete_user(user.id):
            raise NotFound(f"No user named {user_name}.")
        return user

    def delete_project(self, name: str) -> Project:
        """Delete a project without containers, its role assignments and quota limits.
        Raises NotFound, or Conflict while it has containers."""
        project = self.repo.project(name=name)
        if project is None or not self.repo.delete_project(project.id):
            raise NotFound(f"No project named {name}.")
        return project

    def _user(self, name: str) -> User:
        user = self.repo.user(name=name)
        if user is None:
            raise NotFound(f"No user named {name}.")
        return user

    def _project(self, name: str, role: str) -> Project:
        if not _ROLE.match(role):
            raise InvalidInput("A role name is 1 to 64 letters, digits, '_', '.' or '-'.")
        project = self.repo.project(name=name)
        if project is None:
            raise NotFound(f"No project named {name}.")
        return project

    def users(self) -> list[tuple[User, list[tuple[str, str]]]]:
        """Every user with their (project name, role) pairs."""
        names = {p.id: p.name for p in self.repo.projects()}
        by_user: dict[str, list[tuple[str, str]]] = {}
        for a in self.repo.assignments():
            project = names.get(a.project_id, a.project_id)
            by_user.setdefault(a.user_id, []).append((project, a.role))
        return [(u, by_user.get(u.id, [])) for u in self.repo.users()]

    def bootstrap(self, name: str = "admin") -> Bootstrap | None:
        """On an empty user table, create project and user ``name`` with role admin and a
        random password; None when any user exists already."""
        if self.repo.users():
            return None
        password = secrets.token_urlsafe(24)
        project = self.repo.project(name=name) or self.create_project(name)
        user = self.create_user(name, password, project.name, ADMIN_ROLE)
        return Bootstrap(project, user, password)


class IdentityService:
    """Issuing, validating and revoking tokens."""

    def __init__(
        self,
        repo: IdentityRepository,
        signer: TokenSigner,
        hasher: PasswordHasher,
        token_ttl: dt.timedelta,
        per_user: AttemptLimiter,
        per_address: AttemptLimiter,
        clock: Clock,
    ) -> None:
        self.repo = repo
        self.signer = signer
        self.hasher = hasher
        self.token_ttl = token_ttl
        self.per_user = per_user
        self.per_address = per_address
        self.clock = clock
        self._dummy_hash: str | None = None

    def _now(self) -> dt.datetime:
        """Now as an aware UTC time: tokens carry epoch seconds."""
        return self.clock.now().replace(tzinfo=dt.UTC)

    def _check_password(self, password: str, hashed: str | None) -> bool:
        if hashed is None:
            # Spend the same time on an unknown user, so that timing does not tell.
            self._dummy_hash = self._dummy_hash or self.hasher.hash(secrets.token_urlsafe(16))
            self.hasher.verify(password, self._dummy_hash)
            return False
        return self.hasher.verify(password, hashed)

    def authenticate(self, user: Ref, password: str, project: Ref, address: str) -> IssuedToken:
        """Check a password and issue a token scoped to ``project``.

        Raises Unauthorized for a wrong user, password or project (alike, so that
        names cannot be probed) and TooManyRequests after too many failures for the
        user name or the client address.
        """
        found = self.repo.credentials(id=user.id, name=user.name)
        # Count by user id when the user exists, so naming them by id or name is one budget.
        user_key = f"id:{found.user.id}" if found else user.key
        wait = self.per_user.admit(user_key)
        if not wait:
            wait = self.per_address.admit(address)
            if wait:
                self.per_user.forgive(user_key)
        if wait:
            raise TooManyRequests(
                f"Too many failed authentication attempts; retry in {wait} seconds.",
                retry_after=wait,
            )
        valid = self._check_password(password, found.password_hash if found else None)
        if found is None or not valid or not found.user.enabled:
            raise InvalidToken(AUTH_FAILED)
        self.per_user.reset(user_key)
        self.per_address.forgive(address)
        scope = self.repo.project(id=project.id, name=project.name)
        roles = self.repo.roles(found.user.id, scope.id) if scope and scope.enabled else ()
        if scope is None or not roles:
            raise InvalidToken("The user has no role on the requested project.")
        now = self._now().replace(microsecond=0)
        claims = Claims(
            new_token_id(), found.user.id, scope.id, roles, now, now + self.token_ttl,
            generation=found.token_generation,
        )  # fmt: skip
        return IssuedToken(self.signer.sign(claims), TokenInfo(claims, found.user, scope, roles))

    def validate(self, token: str) -> TokenInfo:
        """The identity behind a token; raises Unauthorized when it is malformed, forged,
        expired or revoked, or its user lost access to its project, was disabled or
        deleted, or has had a new password since it was issued."""
        claims = self.signer.verify(token, self._now())
        subject = self.repo.subject(
            claims.token_id, claims.user_id, claims.project_id, claims.generation
        )
        if subject is None or not subject[2]:
            raise InvalidToken("The token is no longer valid.")
        return TokenInfo(claims, *subject)

    def inspect(self, caller: TokenInfo, subject_token: str) -> TokenInfo:
        """Validate another token on behalf of ``caller`` (its owner or an admin).

        Raises NotFound for an invalid subject token and Forbidden for other callers.
        """
        try:
            subject = self.validate(subject_token)
        except InvalidToken as exc:
            raise NotFound("Could not find token.") from exc
        if subject.user.id != caller.user.id and ADMIN_ROLE not in caller.roles:
            raise Forbidden("You are not authorized to inspect this token.")
        return subject

    def revoke(self, caller: TokenInfo, subject_token: str) -> None:
        """Revoke a token at once (see ``inspect`` for who may), forgetting revocations
        of tokens that have expired since."""
        subject = self.inspect(caller, subject_token)
        self.repo.revoke_token(subject.claims.token_id, subject.claims.expires_at)
        self.repo.purge_revoked(self._now())
