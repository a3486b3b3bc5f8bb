"""Local identity: projects, users, role assignments and revoked tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.db.models import (
    ContainerRow,
    ProjectRow,
    QuotaRow,
    RevokedTokenRow,
    RoleAssignmentRow,
    UserRow,
)
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict
from dockyard.domain.identity import Project, RoleAssignment, User

P = cast(Table, ProjectRow.__table__)
U = cast(Table, UserRow.__table__)
RA = cast(Table, RoleAssignmentRow.__table__)
RT = cast(Table, RevokedTokenRow.__table__)
C = cast(Table, ContainerRow.__table__)
Q = cast(Table, QuotaRow.__table__)


@dataclass(frozen=True)
class Credentials:
    """What checking a password needs; never leaves the identity service."""

    user: User
    password_hash: str
    token_generation: int


def _naive(moment: dt.datetime) -> dt.datetime:
    """The schema stores naive UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _project(row: Row[Any]) -> Project:
    return Project(id=row.id, name=row.name, enabled=row.enabled)


def _user(row: Any) -> User:  # a Row of users columns
    return User(id=row.id, name=row.name, enabled=row.enabled)


class IdentityRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_project(self, project: Project) -> None:
        """Raises Conflict when the name is taken."""
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(P).values(
                        id=project.id,
                        name=project.name,
                        enabled=True,
                        created_at=self.db.clock.now(),
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"A project named {project.name} already exists.") from exc

    def add_user(self, user: User, password_hash: str) -> None:
        """Raises Conflict when the name is taken."""
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(U).values(
                        id=user.id,
                        name=user.name,
                        password_hash=password_hash,
                        enabled=True,
                        created_at=self.db.clock.now(),
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"A user named {user.name} already exists.") from exc

    def add_role(self, assignment: RoleAssignment) -> bool:
        """Grant a role; False when the user already had it on that project."""
        with self.db.write() as conn:
            present = conn.execute(
                select(
                    exists().where(
                        RA.c.user_id == assignment.user_id,
                        RA.c.project_id == assignment.project_id,
                        RA.c.role == assignment.role,
                    )
                )
            ).scalar_one()
            if not present:
                conn.execute(
                    insert(RA).values(
                        user_id=assignment.user_id,
                        project_id=assignment.project_id,
                        role=assignment.role,
                    )
                )
        return not present

    def project(self, *, id: str | None = None, name: str | None = None) -> Project | None:
        column, value = (P.c.id, id) if id is not None else (P.c.name, name)
        with self.db.read() as conn:
            row = conn.execute(select(P).where(column == value)).first()
        return _project(row) if row else None

    def user(self, *, id: str | None = None, name: str | None = None) -> User | None:
        column, value = (U.c.id, id) if id is not None else (U.c.name, name)
        with self.db.read() as conn:
            row = conn.execute(select(U.c.id, U.c.name, U.c.enabled).where(column == value)).first()
        return _user(row) if row else None

    def credentials(self, *, id: str | None = None, name: str | None = None) -> Credentials | None:
        """The user, their password hash and token generation, for checking a password."""
        column, value = (U.c.id, id) if id is not None else (U.c.name, name)
        with self.db.read() as conn:
            row = conn.execute(select(U).where(column == value)).first()
        return Credentials(_user(row), row.password_hash, row.token_generation) if row else None

    def set_enabled(self, user_id: str, enabled: bool) -> bool:
        """Disabling also starts a new token generation, so that enabling the user again
        does not bring their old tokens back. False when there is no such user."""
        generation = U.c.token_generation + (0 if enabled else 1)
        with self.db.write() as conn:
            changed = conn.execute(
                update(U)
                .where(U.c.id == user_id)
                .values(enabled=enabled, token_generation=generation)
            )
        return bool(changed.rowcount)

    def set_password(self, user_id: str, password_hash: str) -> bool:
        """Store a new hash and start a new token generation, so that every token issued
        before stops working in the same commit. False when there is no such user."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(U)
                .where(U.c.id == user_id)
                .values(password_hash=password_hash, token_generation=U.c.token_generation + 1)
            )
        return bool(changed.rowcount)

    def delete_user(self, user_id: str) -> bool:
        """Delete a user and their role assignments; False when there is no such user."""
        with self.db.write() as conn:
            conn.execute(delete(RA).where(RA.c.user_id == user_id))
            return bool(conn.execute(delete(U).where(U.c.id == user_id)).rowcount)

    def delete_project(self, project_id: str) -> bool:
        """Delete a project, its role assignments and its own quota limits. Raises
        Conflict while containers of the project exist; False when there is no such
        project."""
        with self.db.write() as conn:
            if conn.execute(select(exists().where(C.c.project_id == project_id))).scalar_one():
                raise Conflict("The project still has containers; delete them first.")
            conn.execute(delete(RA).where(RA.c.project_id == project_id))
            conn.execute(delete(Q).where(Q.c.project_id == project_id))
            return bool(conn.execute(delete(P).where(P.c.id == project_id)).rowcount)

    def remove_role(self, assignment: RoleAssignment) -> bool:
        """Take a role away; False when the user did not have it on that project."""
        with self.db.write() as conn:
            removed = conn.execute(
                delete(RA).where(
                    RA.c.user_id == assignment.user_id,
                    RA.c.project_id == assignment.project_id,
                    RA.c.role == assignment.role,
                )
            )
        return bool(removed.rowcount)

    def users(self) -> list[User]:
        with self.db.read() as conn:
            rows = conn.execute(select(U.c.id, U.c.name, U.c.enabled).order_by(U.c.name)).all()
        return [_user(r) for r in rows]

    def projects(self) -> list[Project]:
        with self.db.read() as conn:
            rows = conn.execute(select(P).order_by(P.c.name)).all()
        return [_project(r) for r in rows]

    def assignments(self, user_id: str | None = None) -> list[RoleAssignment]:
        query = select(RA).order_by(RA.c.user_id, RA.c.project_id, RA.c.role)
        if user_id is not None:
            query = query.where(RA.c.user_id == user_id)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [RoleAssignment(r.user_id, r.project_id, r.role) for r in rows]

    def roles(self, user_id: str, project_id: str) -> tuple[str, ...]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(RA.c.role)
                .where(RA.c.user_id == user_id, RA.c.project_id == project_id)
                .order_by(RA.c.role)
            ).all()
        return tuple(r.role for r in rows)

    def subject(
        self, token_id: str, user_id: str, project_id: str, generation: int = 0
    ) -> tuple[User, Project, tuple[str, ...]] | None:
        """A token's user, project and current roles in one read; None when the token
        is revoked, of an older generation than its user's, or its user or project is
        gone or disabled."""
        with self.db.read() as conn:
            if conn.execute(select(exists().where(RT.c.token_id == token_id))).scalar_one():
                return None
            user = conn.execute(
                select(U.c.id, U.c.name, U.c.enabled, U.c.token_generation).where(U.c.id == user_id)
            ).first()
            project = conn.execute(select(P).where(P.c.id == project_id)).first()
            if not user or not project or not user.enabled or not project.enabled:
                return None
            if user.token_generation != generation:
                return None
            roles = conn.execute(
                select(RA.c.role)
                .where(RA.c.user_id == user_id, RA.c.project_id == project_id)
                .order_by(RA.c.role)
            ).all()
        return _user(user), _project(project), tuple(r.role for r in roles)

    def revoke_token(self, token_id: str, expires_at: dt.datetime) -> None:
        with self.db.write() as conn:
            known = conn.execute(select(exists().where(RT.c.token_id == token_id))).scalar_one()
            if not known:
                conn.execute(insert(RT).values(token_id=token_id, expires_at=_naive(expires_at)))

    def is_revoked(self, token_id: str) -> bool:
        with self.db.read() as conn:
            return bool(
                conn.execute(select(exists().where(RT.c.token_id == token_id))).scalar_one()
            )

    def purge_revoked(self, now: dt.datetime) -> int:
        """Forget revocations of tokens that have expired anyway."""
        with self.db.write() as conn:
            return int(conn.execute(delete(RT).where(RT.c.expires_at <= _naive(now))).rowcount)
