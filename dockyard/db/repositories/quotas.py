"""Quota limits (per project and per class) and usage, kept exact by conditional updates.

A project's usage rows hold what its claimed containers and its volumes use. ``reserve`` and
``give_back`` run inside the caller's transaction, the one that claims or
releases the host, so both commit together or not at all. Usage rows are created
by ``ensure`` in a transaction of their own before any such transaction; that way
no transaction both inserts usage rows and locks container rows, and row locks
are always taken in the order: container, usage (in ``RESOURCES`` order), host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, Integer, Table, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite

from dockyard.db.models import ContainerRow, QuotaClassRow, QuotaRow, QuotaUsageRow, VolumeRow
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict, DockyardError
from dockyard.domain.quotas import (
    DEFAULT_CLASS,
    RESOURCES,
    UNLIMITED,
    QuotaLimits,
    held,
    over,
    over_quota,
    shown,
    usage_limit,
)

C = cast(Table, ContainerRow.__table__)
Q = cast(Table, QuotaRow.__table__)
K = cast(Table, QuotaClassRow.__table__)
U = cast(Table, QuotaUsageRow.__table__)
V = cast(Table, VolumeRow.__table__)

# Usage changes are built once with bound parameters: composing and cache-keying an
# UPDATE per call cost more CPU than running it.
_ROW = (U.c.project_id == bindparam("q_project"), U.c.resource == bindparam("q_resource"))
_AMOUNT = bindparam("q_amount", type_=Integer)
#: Add ``q_amount``; the unlimited case.
_RESERVE_ANY = update(U).where(*_ROW).values(in_use=U.c.in_use + _AMOUNT)
#: Add ``q_amount`` only while usage stays within ``q_limit``.
_RESERVE_WITHIN = (
    update(U)
    .where(*_ROW, U.c.in_use + _AMOUNT <= bindparam("q_limit", type_=Integer))
    .values(in_use=U.c.in_use + _AMOUNT)
)
#: Add ``q_amount`` (a decrease), never going below zero.
_ADD = (
    update(U)
    .where(*_ROW)
    .values(in_use=case((U.c.in_use + _AMOUNT > 0, U.c.in_use + _AMOUNT), else_=0))
)


def _upsert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], value: str, replace: bool
) -> None:
    """Insert ``rows``; where the key exists, set ``value`` from the row (``replace``) or
    leave the stored row alone. Safe against a concurrent insert of the same key."""
    keys = [c.name for c in table.primary_key.columns]
    if conn.dialect.name in ("mysql", "mariadb"):
        my = mysql.insert(table).values(rows)
        kept = my.inserted[value] if replace else table.c[value]
        conn.execute(my.on_duplicate_key_update({value: kept}))
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(rows)
    if replace:
        conn.execute(
            stmt.on_conflict_do_update(index_elements=keys, set_={value: stmt.excluded[value]})
        )
    else:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=keys))


class QuotaRepository:
    def __init__(self, db: Database, defaults: QuotaLimits | None = None) -> None:
        self.db = db
        self.defaults = defaults or QuotaLimits()
        #: Projects whose usage rows exist; rows are never deleted.
        self._ready: set[str] = set()

    # -- limits ------------------------------------------------------------

    def limits(self, project_id: str) -> dict[str, int]:
        """Effective limits: the project's own, else the ``default`` class, else config."""
        with self.db.read() as conn:
            return self._limits(conn, project_id)

    def class_limits(self, class_name: str) -> dict[str, int]:
        with self.db.read() as conn:
            return self._class_limits(conn, class_name)

    def set_limits(self, project_id: str, values: Mapping[str, int]) -> None:
        rows = [
            {"project_id": project_id, "resource": r, "hard_limit": v} for r, v in values.items()
        ]
        if rows:
            with self.db.write() as conn:
                _upsert(conn, Q, rows, "hard_limit", replace=True)

    def set_class_limits(self, class_name: str, values: Mapping[str, int]) -> None:
        rows = [
            {"class_name": class_name, "resource": r, "hard_limit": v} for r, v in values.items()
        ]
        if rows:
            with self.db.write() as conn:
                _upsert(conn, K, rows, "hard_limit", replace=True)

    def delete_limits(self, project_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(Q).where(Q.c.project_id == project_id))

    def _class_limits(self, conn: Connection, class_name: str) -> dict[str, int]:
        limits = self.defaults.as_dict()
        rows = conn.execute(
            select(K.c.resource, K.c.hard_limit).where(K.c.class_name == class_name)
        )
        limits.update((r, v) for r, v in rows if r in limits)
        return limits

    def _limits(self, conn: Connection, project_id: str) -> dict[str, int]:
        limits = self._class_limits(conn, DEFAULT_CLASS)
        rows = conn.execute(
            select(Q.c.resource, Q.c.hard_limit).where(Q.c.project_id == project_id)
        )
        limits.update((r, v) for r, v in rows if r in limits)
        return limits

    # -- usage -------------------------------------------------------------

    def usages(self, project_id: str) -> dict[str, dict[str, int | float]]:
        """``{resource: {"limit": ..., "in_use": ...}}`` with cpu in vCPUs."""
        self.ensure(project_id)
        with self.db.read() as conn:
            limits, in_use = self._limits(conn, project_id), self._in_use(conn, project_id)
        return {r: {"limit": limits[r], "in_use": shown(r, in_use.get(r, 0))} for r in RESOURCES}

    def check(self, project_id: str, delta: Mapping[str, int]) -> dict[str, int]:
        """Raise ``OverQuota`` if ``delta`` does not fit now; reserves nothing.

        Returns the limits it checked against, for a ``reserve`` that follows at once.
        """
        self.ensure(project_id)
        with self.db.read() as conn:
            limits, in_use = self._limits(conn, project_id), self._in_use(conn, project_id)
        resources = over(limits, in_use, delta)
        if resources:
            raise over_quota(resources, limits, in_use, delta)
        return limits

    def ensure(self, project_id: str) -> None:
        """Create the project's missing usage rows, counting what its claimed containers
        hold (records older than quota accounting); a concurrent insert wins harmlessly."""
        if project_id in self._ready:
            return
        with self.db.write() as conn:
            have = set(
                conn.execute(select(U.c.resource).where(U.c.project_id == project_id)).scalars()
            )
            missing = [r for r in RESOURCES if r not in have]
            if missing:
                counted = self._count(conn, project_id)
                rows = [
                    {"project_id": project_id, "resource": r, "in_use": counted[r]} for r in missing
                ]
                _upsert(conn, U, rows, "in_use", replace=False)
        self._ready.add(project_id)

    @staticmethod
    def _count(conn: Connection, project_id: str) -> dict[str, int]:
        total = dict.fromkeys(RESOURCES, 0)
        rows = conn.execute(
            select(C.c.cpu, C.c.memory, C.c.disk).where(
                C.c.project_id == project_id, C.c.claimed.is_(True)
            )
        )
        for row in rows:
            for resource, amount in held(row.cpu, row.memory, row.disk).items():
                total[resource] += amount
        # Volumes count in disk too, whether or not a container holds them.
        volumes = select(func.coalesce(func.sum(V.c.size_gib), 0)).where(
            V.c.project_id == project_id
        )
        total["disk"] += int(conn.execute(volumes).scalar_one())
        return total

    @staticmethod
    def _in_use(conn: Connection, project_id: str, lock: bool = False) -> dict[str, int]:
        query = select(U.c.resource, U.c.in_use).where(U.c.project_id == project_id)
        if lock:
            query = query.with_for_update()
        return {r: int(v) for r, v in conn.execute(query)}

    # -- inside a caller's transaction (after ``ensure``) --------------------

    def reserve(
        self,
        conn: Connection,
        project_id: str,
        delta: Mapping[str, int],
        limits: Mapping[str, int] | None = None,
    ) -> None:
        """Add ``delta`` to the project's usage where every increase stays within its limit.

        ``limits``: the limits a ``check`` of this same request just read (they are
        read here otherwise). Usage is what must not race, and it is guarded by the
        conditional update either way. Raises ``OverQuota`` naming the resources; the
        caller's transaction must then roll back. Decreases always apply and never
        take usage below zero.
        """
        for resource in RESOURCES:
            amount = delta.get(resource, 0)
            if amount <= 0:
                self._add(conn, project_id, resource, amount)
                continue
            limits = limits or self._limits(conn, project_id)
            params = {"q_project": project_id, "q_resource": resource, "q_amount": amount}
            statement = _RESERVE_ANY
            if limits[resource] != UNLIMITED:
                statement = _RESERVE_WITHIN
                params["q_limit"] = usage_limit(resource, limits[resource])
            if not conn.execute(statement, params).rowcount:
                raise self._refusal(conn, project_id, limits, delta, resource)

    def give_back(self, conn: Connection, project_id: str, amounts: Mapping[str, int]) -> None:
        for resource in RESOURCES:
            self._add(conn, project_id, resource, -amounts.get(resource, 0))

    @staticmethod
    def _add(conn: Connection, project_id: str, resource: str, amount: int) -> None:
        if amount == 0:
            return
        conn.execute(_ADD, {"q_project": project_id, "q_resource": resource, "q_amount": amount})

    def _refusal(
        self,
        conn: Connection,
        project_id: str,
        limits: Mapping[str, int],
        delta: Mapping[str, int],
        failed: str,
    ) -> DockyardError:
        in_use = self._in_use(conn, project_id, lock=True)
        if failed not in in_use:
            self._ready.discard(project_id)
            return Conflict(f"The usage of project {project_id} was not recorded yet; retry.")
        return over_quota(over(limits, in_use, delta) or [failed], limits, in_use, delta)
