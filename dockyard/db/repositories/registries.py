"""Registry records, always looked up within a scope (api-other §3.2)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Row,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from dockyard.db.models import ContainerRow, RegistryRow
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict, InvalidParameterValue, RegistryNotFound
from dockyard.domain.registries import Registry

R = cast(Table, RegistryRow.__table__)
C = cast(Table, ContainerRow.__table__)

#: Columns a list may be sorted by (not the encrypted password).
SORTABLE = frozenset(c.name for c in R.columns) - {"password"}
#: Columns a list may be filtered on, exactly.
FILTERS = ("name", "domain", "username", "project_id", "user_id")


@dataclass(frozen=True)
class Scope:
    """Whose rows a caller sees: a project's, else a user's; neither means every row."""

    project_id: str | None = None
    user_id: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.project_id:
            return query.where(R.c.project_id == self.project_id)
        if self.user_id:
            return query.where(R.c.user_id == self.user_id)
        return query


EVERYWHERE = Scope()


def _is_uuid(ident: str) -> bool:
    try:
        uuidlib.UUID(ident)
    except ValueError:
        return False
    return True


def _to_domain(row: Row[Any]) -> Registry:
    return Registry(
        id=row.id,
        uuid=row.uuid,
        name=row.name,
        domain=row.domain,
        username=row.username,
        secret=row.password,
        project_id=row.project_id,
        user_id=row.user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class RegistryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, registry: Registry) -> Registry:
        values = {
            "uuid": registry.uuid,
            "name": registry.name,
            "domain": registry.domain,
            "username": registry.username,
            "password": registry.secret,
            "project_id": registry.project_id,
            "user_id": registry.user_id,
            "created_at": registry.created_at or self.db.clock.now(),
        }
        with self.db.write() as conn:
            conn.execute(insert(R).values(**values))
            row = conn.execute(select(R).where(R.c.uuid == registry.uuid)).one()
        return _to_domain(row)

    def get(self, ident: str, scope: Scope) -> Registry:
        """By UUID, else by exact name; 404 outside ``scope``, 409 for a shared name."""
        column = R.c.uuid if _is_uuid(ident) else R.c.name
        query = scope.apply(select(R).where(column == ident))
        with self.db.read() as conn:
            rows = conn.execute(query.limit(2)).all()
        if not rows:
            raise RegistryNotFound(f"Registry {ident} could not be found.")
        if len(rows) > 1:
            raise Conflict(f"Multiple registries exist with name {ident}. Please use the UUID.")
        return _to_domain(rows[0])

    def page(
        self,
        scope: Scope,
        filters: Mapping[str, str],
        limit: int,
        marker: str | None = None,
        sort_key: str = "id",
        sort_dir: str = "asc",
    ) -> list[Registry]:
        if sort_key not in SORTABLE:
            raise InvalidParameterValue(f"sort_key: {sort_key} is not a registry attribute.")
        query = scope.apply(select(R))
        for key, value in filters.items():
            query = query.where(R.c[key] == value)
        column, desc = R.c[sort_key], sort_dir == "desc"
        if marker is not None:
            query = query.where(self._after(marker, scope, sort_key, desc))
        # NULLs first ascending, last descending, the same on every database.
        has_value = case((column.is_(None), 0), else_=1)
        if desc:
            order = [has_value.desc(), column.desc(), R.c.id.desc()]
        else:
            order = [has_value.asc(), column.asc(), R.c.id.asc()]
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(*order).limit(limit)).all()
        return [_to_domain(r) for r in rows]

    def _after(self, marker: str, scope: Scope, sort_key: str, desc: bool) -> Any:
        """Rows after the marker in the order of ``page``."""
        try:
            mark = self.get(marker, scope) if _is_uuid(marker) else None
        except RegistryNotFound:
            mark = None
        if mark is None:
            raise RegistryNotFound(f"Marker {marker} could not be found.")
        column, value = R.c[sort_key], getattr(mark, sort_key)
        if desc:
            if value is None:
                return and_(column.is_(None), R.c.id < mark.id)
            tie = and_(column == value, R.c.id < mark.id)
            return or_(column < value, tie, column.is_(None))
        if value is None:
            return or_(and_(column.is_(None), R.c.id > mark.id), column.is_not(None))
        return or_(column > value, and_(column == value, R.c.id > mark.id))

    def update(self, uuid: str, values: Mapping[str, Any]) -> Registry:
        """Change the given columns (``secret`` is the encrypted password)."""
        columns = {("password" if k == "secret" else k): v for k, v in values.items()}
        with self.db.write() as conn:
            if columns:
                conn.execute(
                    update(R)
                    .where(R.c.uuid == uuid)
                    .values(updated_at=self.db.clock.now(), **columns)
                )
            row = conn.execute(select(R).where(R.c.uuid == uuid)).first()
        if row is None:
            raise RegistryNotFound(f"Registry {uuid} could not be found.")
        return _to_domain(row)

    def delete(self, uuid: str) -> None:
        """Remove the registry; 409 while a container refers to it."""
        with self.db.write() as conn:
            users = conn.execute(
                select(func.count()).select_from(C).where(C.c.registry_id == uuid)
            ).scalar_one()
            if users:
                raise Conflict(
                    f"Registry {uuid} is used by {users} container(s); delete them first."
                )
            if not conn.execute(delete(R).where(R.c.uuid == uuid)).rowcount:
                raise RegistryNotFound(f"Registry {uuid} could not be found.")
