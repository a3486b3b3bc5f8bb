"""Container records: lookups, listing, guarded state changes, claims."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid as uuidlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from dockyard.db.models import ActionEventRow, ActionRow, ContainerRow, HostRow
from dockyard.db.repositories import stored_request
from dockyard.db.repositories.actions import record_event_in, start_action
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.session import Database
from dockyard.domain.changes import ChangeFeed
from dockyard.domain.errors import Conflict, ContainerNotFound, InvalidParameterValue
from dockyard.domain.models import ActionEvent, Container, ContainerAction
from dockyard.domain.quotas import held
from dockyard.domain.reports import ANY_TASK, ContainerChange, TaskGuard
from dockyard.domain.states import Status, TaskState

T = cast(Table, ContainerRow.__table__)
H = cast(Table, HostRow.__table__)
_FIELDS = frozenset(f.name for f in dataclasses.fields(Container))
SORTABLE = frozenset(c.name for c in T.columns)

#: A container's claim: (host, cpu, memory, project_id).
_Claim = Row[Any, Any, Any, Any]


def _lookup(by_uuid: bool, in_project: bool) -> Any:
    query = select(T).where((T.c.uuid if by_uuid else T.c.name) == bindparam("ident"))
    if in_project:
        query = query.where(T.c.project_id == bindparam("project_id"))
    return query.limit(2)


#: Built once: composing and keying a statement costs more than running it.
_LOOKUPS = {(u, p): _lookup(u, p) for u in (True, False) for p in (True, False)}


#: (position, name) of the table's columns that are Container fields, in table order.
_PICK = tuple((i, c.name) for i, c in enumerate(T.columns) if c.name in _FIELDS)


def _to_domain(row: Row[Any]) -> Container:
    if len(row) == len(T.columns):  # a whole-table row: pick by position
        data = {name: row[i] for i, name in _PICK}
    else:
        data = {k: v for k, v in row._mapping.items() if k in _FIELDS}
    data["status"] = Status(data["status"])
    if data.get("task_state"):
        data["task_state"] = TaskState(data["task_state"])
    stored_request.from_row(data)
    return Container(**data)


def _values(container: Container) -> dict[str, Any]:
    data = {name: getattr(container, name) for name in _FIELDS if name != "id"}
    stored_request.to_row(data)
    data["status"] = str(container.status)
    data["task_state"] = str(container.task_state) if container.task_state else None
    return data


def _is_uuid(ident: str) -> bool:
    try:
        uuidlib.UUID(ident)
    except ValueError:
        return False
    return True


def cpu_milli(cpu: float | None) -> int:
    return round((cpu or 0.0) * 1000)


def _held(found: Container | Row[Any, Any, Any, Any, Any]) -> dict[str, int]:
    return held(found.cpu, found.memory, found.disk)


def _guard(by_status: bool, expect: TaskGuard) -> Any:
    """The UPDATE of ``ContainerRepository.update`` with its guards and no values: the
    values go as parameters, so each shape is composed and cache-keyed once."""
    query = update(T).where(T.c.uuid == bindparam("g_uuid"))
    if by_status:
        query = query.where(T.c.status.in_(bindparam("g_status", expanding=True)))
    if expect is None:
        query = query.where(T.c.task_state.is_(None))
    elif expect is not ANY_TASK:
        query = query.where(T.c.task_state == bindparam("g_task"))
    return query


#: Every guard shape: (statuses limited?, task guard kind) -> statement.
_GUARDS = {
    (by_status, kind): _guard(by_status, expect)
    for by_status in (False, True)
    for kind, expect in (("none", None), ("any", ANY_TASK), ("task", TaskState.CONTAINER_DELETING))
}
#: The same statements returning the updated row.
_RETURNING = {key: query.returning(*T.columns) for key, query in _GUARDS.items()}


def _guarded(
    uuid: str,
    values: Mapping[str, Any],
    status_in: Collection[Status] | None,
    expect: TaskGuard,
    now: dt.datetime,
) -> tuple[tuple[bool, str], dict[str, Any]]:
    """The key in ``_GUARDS`` of the UPDATE of ``ContainerRepository.update`` and its
    parameters."""
    kind = "none" if expect is None else "any" if expect is ANY_TASK else "task"
    params = {k: (str(v) if isinstance(v, Status | TaskState) else v) for k, v in values.items()}
    params["updated_at"] = now
    params["g_uuid"] = uuid
    if status_in is not None:
        params["g_status"] = [str(s) for s in status_in]
    if kind == "task":
        params["g_task"] = str(expect)
    return (status_in is not None, kind), params


_INSERT = insert(T)

_C_CPU = bindparam("c_cpu", type_=Integer)
_C_MEMORY = bindparam("c_memory", type_=Integer)
_C_DISK = bindparam("c_disk", type_=Integer)
#: A claim on a host's CPU and memory, guarded by its capacity; built once.
_CLAIM = (
    update(H)
    .where(
        H.c.name == bindparam("c_host"),
        H.c.cpu_used_milli + _C_CPU <= H.c.cpu_capacity_milli,
        H.c.memory_used + _C_MEMORY <= H.c.memory_capacity,
    )
    .values(
        cpu_used_milli=H.c.cpu_used_milli + _C_CPU,
        memory_used=H.c.memory_used + _C_MEMORY,
        disk_used=H.c.disk_used + _C_DISK,
    )
)
#: The same, for a container with disk: the host's disk guarded too.
_CLAIM_WITH_DISK = _CLAIM.where(H.c.disk_used + _C_DISK <= H.c.disk_gib)


#: A claim given back (statements of ``_release`` and ``destroy``, built once).
_UNCLAIM = (
    update(T)
    .where(T.c.uuid == bindparam("r_uuid"), T.c.claimed.is_(True))
    .values(claimed=False, updated_at=bindparam("r_now"))
)
_CLAIM_OF = select(T.c.project_id, T.c.host, T.c.cpu, T.c.memory, T.c.disk).where(
    T.c.uuid == bindparam("r_uuid")
)
_UNCLAIM_HOST = (
    update(H)
    .where(H.c.name == bindparam("c_host"))
    .values(
        cpu_used_milli=H.c.cpu_used_milli - _C_CPU,
        memory_used=H.c.memory_used - _C_MEMORY,
        disk_used=H.c.disk_used - _C_DISK,
    )
)
_DELETE_EVENTS = delete(ActionEventRow).where(
    ActionEventRow.action_id.in_(
        select(ActionRow.id).where(ActionRow.container_uuid == bindparam("r_uuid"))
    )
)
_DELETE_ACTIONS = delete(ActionRow).where(ActionRow.container_uuid == bindparam("r_uuid"))
_DELETE = delete(T).where(T.c.uuid == bindparam("r_uuid"))
#: The channel other processes LISTEN on; the payload is the container's uuid.
CHANGES_CHANNEL = "dockyard_containers"
_PG_NOTIFY = text(f"SELECT pg_notify('{CHANGES_CHANNEL}', :n_uuid)")


class _NoRoom(Exception):
    """The host lacks capacity: roll the claim's transaction back."""


class ContainerRepository:
    """Container records. ``claimed`` marks a record that holds both its host claim and
    its project's quota reservation; they are taken and given back together, once."""

    def __init__(
        self,
        db: Database,
        quotas: QuotaRepository | None = None,
        changes: ChangeFeed | None = None,
        tell_others: bool = True,
    ) -> None:
        """``tell_others``: other processes may wait on this one's writes (see
        db/notifications.py); PostgreSQL then notifies them of each."""
        self.db = db
        self.quotas = quotas or QuotaRepository(db)
        self.changes = changes
        self._notify = tell_others and db.engine.dialect.name == "postgresql"

    def _changing(self, conn: Connection, uuid: str) -> None:
        """Inside the write: tell other processes once it commits (PostgreSQL only)."""
        if self._notify:
            conn.execute(_PG_NOTIFY, {"n_uuid": uuid})

    def _changed(self, uuid: str) -> None:
        """After the commit: wake this process's requests waiting on ``uuid``."""
        if self.changes is not None:
            self.changes.changed(uuid)

    def create(self, container: Container) -> Container:
        with self.db.write() as conn:
            return self._insert(conn, container)

    def check_quota(self, container: Container) -> dict[str, int]:
        """Raise ``OverQuota`` when the project could not take this record now; returns
        the project's limits, for ``create_claimed``."""
        return self.quotas.check(container.project_id, _held(container))

    def create_claimed(
        self,
        container: Container,
        host: str,
        action: ContainerAction | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> Container | None:
        """Insert the record, reserve its quota, claim its resources on ``host`` and open
        ``action`` (if given) in one transaction.

        ``limits``: the project's quota limits as ``check_quota`` just read them.
        Returns None, inserting nothing, when the host lacks the capacity; raises
        ``OverQuota``, changing nothing, when the project's quota does not allow it.
        """
        self.quotas.ensure(container.project_id)
        try:
            with self.db.write() as conn:
                # Row locks in the order every claim change takes them: container,
                # usage, host. (Inserting last could deadlock with a delete's gap lock.)
                claimed = dataclasses.replace(container, host=host, claimed=True)
                created = self._insert(conn, claimed)
                self.quotas.reserve(conn, container.project_id, _held(container), limits)
                self._claim(conn, container, host)
                if action is not None:
                    conn.execute(*start_action(action))
                return created
        except _NoRoom:
            return None

    def _claim(self, conn: Connection, container: Container, host: str) -> None:
        disk = container.disk or 0
        # As the scheduler's DiskFilter: a container without disk takes none.
        query = _CLAIM_WITH_DISK if disk else _CLAIM
        params = {
            "c_host": host,
            "c_cpu": cpu_milli(container.cpu),
            "c_memory": container.memory or 0,
            "c_disk": disk,
        }
        if not conn.execute(query, params).rowcount:
            raise _NoRoom

    def _insert(self, conn: Connection, container: Container) -> Container:
        values = _values(container)
        values["created_at"] = values["created_at"] or self.db.clock.now()
        # Values as parameters, not in the statement: one cached statement for every insert.
        result = conn.execute(_INSERT, values)
        pk = result.inserted_primary_key
        return dataclasses.replace(
            container, id=int(pk[0]) if pk else None, created_at=values["created_at"]
        )

    def get(self, ident: str, project_id: str | None = None) -> Container:
        """Find by UUID or exact name, within ``project_id`` unless it is None."""
        query = _LOOKUPS[(_is_uuid(ident), project_id is not None)]
        with self.db.read() as conn:
            rows = conn.execute(query, {"ident": ident, "project_id": project_id}).all()
        if not rows:
            raise ContainerNotFound(f"Container {ident} could not be found.")
        if len(rows) > 1:
            raise Conflict(f"Multiple containers exist with name {ident}. Please use the UUID.")
        return _to_domain(rows[0])

    def find(self, uuid: str) -> Container | None:
        with self.db.read() as conn:
            row = conn.execute(_LOOKUPS[(True, False)], {"ident": uuid}).first()
        return _to_domain(row) if row else None

    def page(
        self,
        *,
        project_id: str | None,
        filters: Mapping[str, Any],
        limit: int,
        marker: str | None = None,
        sort_key: str = "id",
        sort_dir: str = "asc",
    ) -> list[Container]:
        if sort_key not in SORTABLE:
            raise InvalidParameterValue(f"sort_key: {sort_key} is not a container attribute.")
        query = select(T)
        if project_id is not None:
            query = query.where(T.c.project_id == project_id)
        for key, value in filters.items():
            query = query.where(T.c[key] == value)
        column, tiebreak = T.c[sort_key], T.c.id
        desc = sort_dir == "desc"
        if marker is not None:
            query = query.where(self._after(marker, project_id, sort_key, desc))
        order = [column.desc(), tiebreak.desc()] if desc else [column.asc(), tiebreak.asc()]
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(*order).limit(limit)).all()
        return [_to_domain(r) for r in rows]

    def _after(self, marker: str, project_id: str | None, sort_key: str, desc: bool) -> Any:
        mark = self.get(marker, project_id) if _is_uuid(marker) else None
        if mark is None:
            raise ContainerNotFound(f"Marker {marker} could not be found.")
        value, mark_id = {**_values(mark), "id": mark.id}.get(sort_key), mark.id
        column = T.c[sort_key]
        if value is None:
            return T.c.id < mark_id if desc else T.c.id > mark_id
        beyond = column < value if desc else column > value
        tie = and_(column == value, T.c.id < mark_id if desc else T.c.id > mark_id)
        return or_(beyond, tie)

    def update(
        self,
        uuid: str,
        values: Mapping[str, Any],
        *,
        status_in: Collection[Status] | None = None,
        expect: TaskGuard = ANY_TASK,
        action: ContainerAction | None = None,
    ) -> Container | None:
        """Compare-and-swap: apply ``values`` only if the guards hold.

        ``status_in`` limits the statuses the row may be in; ``expect`` is the task
        state the row must hold (None: no task in flight; ``ANY_TASK``: no guard).
        ``action``, if given, is opened in the same transaction when the change
        applies. Returns the updated record, or None when a guard failed or the row
        is gone.
        """
        key, params = _guarded(uuid, values, status_in, expect, self.db.clock.now())
        with self.db.write() as conn:
            if self.db.engine.dialect.update_returning:
                row = conn.execute(_RETURNING[key], params).first()
            elif conn.execute(_GUARDS[key], params).rowcount:
                row = conn.execute(select(T).where(T.c.uuid == uuid)).one()
            else:
                row = None
            if row is None:
                return None
            if action is not None:
                conn.execute(*start_action(action))
            self._changing(conn, uuid)
        self._changed(uuid)
        return _to_domain(row)

    def apply(
        self,
        uuid: str,
        change: ContainerChange,
        *,
        expect: TaskGuard = ANY_TASK,
        event: tuple[str, ActionEvent, bool] | None = None,
    ) -> bool:
        """Make ``change`` while the record holds the task ``expect``; whether it applied.

        ``event`` (request id, event, whether it finishes the action) is recorded in
        the same transaction when the change applies.
        """
        now = self.db.clock.now()
        with self.db.write() as conn:
            key, params = _guarded(uuid, change.fields(), None, expect, now)
            if not conn.execute(_GUARDS[key], params).rowcount:
                return False
            if event is not None:
                record_event_in(conn, uuid, *event, now)
            self._changing(conn, uuid)
        self._changed(uuid)
        return True

    def check_room(self, uuid: str, cpu: float, memory: int) -> None:
        """Raise ``OverQuota`` or ``Conflict`` naming the resource when the project's quota
        or the host cannot take new limits."""
        with self.db.read() as conn:
            row = self._claim_of(conn, uuid)
        if row is None:
            return
        d_cpu, d_memory = self._deltas(row, cpu, memory)
        self.quotas.check(row.project_id, {"cpu": d_cpu, "memory": d_memory})
        with self.db.read() as conn:
            self._raise_if_short(conn, row.host, d_cpu, d_memory)

    def resize(self, uuid: str, cpu: float, memory: int) -> Container | None:
        """Store new limits and move the host claim by the difference, in one transaction.

        The host row and the quota usage change only if every increased resource
        still fits, so neither is ever exceeded; otherwise ``Conflict`` (host) or
        ``OverQuota`` names the resource and nothing changes. Returns None when
        the record is gone.
        """
        self._ensure_usage(uuid)
        with self.db.write() as conn:
            row = self._claim_of(conn, uuid, lock=True)
            if row is not None:
                d_cpu, d_memory = self._deltas(row, cpu, memory)
                self.quotas.reserve(conn, row.project_id, {"cpu": d_cpu, "memory": d_memory})
                fits = [H.c.name == row.host]
                if d_cpu > 0:
                    fits.append(H.c.cpu_used_milli + d_cpu <= H.c.cpu_capacity_milli)
                if d_memory > 0:
                    fits.append(H.c.memory_used + d_memory <= H.c.memory_capacity)
                moved = conn.execute(
                    update(H)
                    .where(*fits)
                    .values(
                        cpu_used_milli=H.c.cpu_used_milli + d_cpu,
                        memory_used=H.c.memory_used + d_memory,
                    )
                ).rowcount
                if not moved:
                    self._raise_if_short(conn, row.host, d_cpu, d_memory)
                    raise Conflict(f"Host {row.host} changed meanwhile; retry the change.")
            values = {"cpu": cpu, "memory": memory, "updated_at": self.db.clock.now()}
            if not conn.execute(update(T).where(T.c.uuid == uuid).values(**values)).rowcount:
                return None
            resized = _to_domain(conn.execute(select(T).where(T.c.uuid == uuid)).one())
            self._changing(conn, uuid)
        self._changed(uuid)
        return resized

    @staticmethod
    def _claim_of(conn: Connection, uuid: str, lock: bool = False) -> _Claim | None:
        """The claimed host and amounts of ``uuid``; None when it holds no claim."""
        query = select(T.c.host, T.c.cpu, T.c.memory, T.c.project_id).where(
            T.c.uuid == uuid, T.c.claimed.is_(True), T.c.host.is_not(None)
        )
        return conn.execute(query.with_for_update() if lock else query).first()

    def _ensure_usage(self, uuid: str) -> None:
        """Make sure the usage rows a change to ``uuid``'s claim will touch exist."""
        with self.db.read() as conn:
            project = conn.execute(select(T.c.project_id).where(T.c.uuid == uuid)).scalar()
        if project is not None:
            self.quotas.ensure(project)

    @staticmethod
    def _deltas(row: _Claim, cpu: float, memory: int) -> tuple[int, int]:
        return cpu_milli(cpu) - cpu_milli(row.cpu), memory - (row.memory or 0)

    @staticmethod
    def _raise_if_short(conn: Connection, host: str, d_cpu: int, d_memory: int) -> None:
        found = conn.execute(select(H).where(H.c.name == host)).first()
        if found is None:
            raise Conflict(f"Host {host} is not registered; its claims cannot change.")
        free_cpu = found.cpu_capacity_milli - found.cpu_used_milli
        free_memory = found.memory_capacity - found.memory_used
        if d_cpu > 0 and d_cpu > free_cpu:
            raise Conflict(
                f"Host {host} has not enough cpu for this change: {d_cpu / 1000:g} more "
                f"requested, {max(free_cpu, 0) / 1000:g} free."
            )
        if d_memory > 0 and d_memory > free_memory:
            raise Conflict(
                f"Host {host} has not enough memory for this change: {d_memory} MiB more "
                f"requested, {max(free_memory, 0)} MiB free."
            )

    def release_claim(self, uuid: str) -> bool:
        """Give the container's resources back to its host and its quota, at most once."""
        self._ensure_usage(uuid)
        with self.db.write() as conn:
            return self._release(conn, uuid)

    def _release(self, conn: Connection, uuid: str) -> bool:
        # Flip the flag first: it locks the row, so the amounts read next are current.
        now = self.db.clock.now()
        if not conn.execute(_UNCLAIM, {"r_uuid": uuid, "r_now": now}).rowcount:
            return False
        row = conn.execute(_CLAIM_OF, {"r_uuid": uuid}).one()
        self.quotas.give_back(conn, row.project_id, _held(row))
        params = {
            "c_host": row.host,
            "c_cpu": cpu_milli(row.cpu),
            "c_memory": row.memory or 0,
            "c_disk": row.disk or 0,
        }
        conn.execute(_UNCLAIM_HOST, params)
        return True

    def destroy(self, uuid: str) -> bool:
        """Delete the record, its claim, its quota reservation and its action log in one
        transaction."""
        self._ensure_usage(uuid)
        with self.db.write() as conn:
            self._release(conn, uuid)
            conn.execute(_DELETE_EVENTS, {"r_uuid": uuid})
            conn.execute(_DELETE_ACTIONS, {"r_uuid": uuid})
            gone = bool(conn.execute(_DELETE, {"r_uuid": uuid}).rowcount)
            if gone:
                self._changing(conn, uuid)
        if gone:
            self._changed(uuid)
        return gone

    def on_host(self, host: str) -> list[Container]:
        with self.db.read() as conn:
            rows = conn.execute(select(T).where(T.c.host == host)).all()
        return [_to_domain(r) for r in rows]

    def count(self, project_id: str | None = None) -> int:
        query = select(func.count()).select_from(T)
        if project_id is not None:
            query = query.where(T.c.project_id == project_id)
        with self.db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def uuids(self) -> Sequence[str]:
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(select(T.c.uuid)).all()]
