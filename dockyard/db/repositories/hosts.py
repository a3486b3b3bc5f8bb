"""Compute hosts: inventory reported by agents, claims made by the scheduler."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid as uuidlib
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import Row, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from dockyard.db.models import ContainerRow, HostRow
from dockyard.db.session import Database
from dockyard.domain.clock import Clock
from dockyard.domain.errors import HostNotFound, InvalidParameterValue
from dockyard.domain.models import Host, service_is_up
from dockyard.domain.networks import TUNNEL_ADDRESS

H = cast(Table, HostRow.__table__)
C = cast(Table, ContainerRow.__table__)
#: Tries of a first report lost to a concurrent registration, with a short random
#: pause between them so that the racers do not meet again at once.
_REGISTER_TRIES = 8
_REGISTER_PAUSE = 0.02
#: Deadlock codes: MySQL/MariaDB error number, PostgreSQL SQLSTATE.
_MYSQL_DEADLOCK = 1213
_PG_DEADLOCK = "40P01"


def _registration_race(exc: IntegrityError | OperationalError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    orig = exc.orig
    code = orig.args[0] if orig is not None and orig.args else None
    return code == _MYSQL_DEADLOCK or getattr(orig, "sqlstate", None) == _PG_DEADLOCK


def _is_uuid(text: str) -> bool:
    try:
        uuidlib.UUID(text)
    except ValueError:
        return False
    return True


#: API sort keys of the host list (api-other §9) and the columns behind them.
SORT_COLUMNS = {
    "id": "id",
    "uuid": "uuid",
    "hostname": "name",
    "cpus": "cpus",
    "cpu_used": "cpu_used_milli",
    "mem_total": "memory_mib",
    "mem_used": "memory_used",
    "disk_total": "disk_gib",
    "disk_used": "disk_used",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def _to_domain(row: Row[Any], up: bool, containers: int = 0) -> Host:
    info = dict(row.info or {})
    return Host(
        name=row.name,
        cpus=row.cpu_capacity_milli / 1000,
        memory_mib=row.memory_capacity,
        disk_gib=row.disk_gib,
        cpu_used=row.cpu_used_milli / 1000,
        memory_used=row.memory_used,
        disk_used=row.disk_used,
        runtimes=tuple(row.runtimes or ()),
        availability_zone=row.availability_zone,
        enabled=row.enabled,
        up=up,
        containers=containers,
        cpu_count=row.cpus,
        storage_driver=str(info.get("storage_driver") or ""),
        supports_disk_quota=bool(info.get("supports_disk_quota")),
        id=row.id,
        uuid=row.uuid,
        memory_total_mib=row.memory_mib,
        disabled_reason=row.disabled_reason,
        forced_down=row.forced_down,
        last_seen=row.last_seen,
        report_count=row.report_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        info=info,
    )


class HostRepository:
    def __init__(
        self,
        db: Database,
        down_after: dt.timedelta,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        #: A host whose last report is older than this is down (``service_down_time``).
        self.down_after = down_after
        self.clock = clock or db.clock

    def _domain(self, row: Row[Any], containers: int = 0) -> Host:
        up = service_is_up(row.last_seen, row.forced_down, self.clock.now(), self.down_after)
        return _to_domain(row, up, containers)

    def report(self, name: str, inventory: dict[str, Any]) -> None:
        """Create or refresh a host's inventory; counts as a heartbeat."""
        # Agents starting together race to register: on MariaDB the update's gap locks
        # deadlock the inserts, elsewhere the unique name refuses the second insert.
        # Tried again, the loser finds the row and updates it.
        for attempt in range(_REGISTER_TRIES):
            try:
                self._report(name, inventory)
                return
            except (IntegrityError, OperationalError) as exc:
                if attempt + 1 == _REGISTER_TRIES or not _registration_race(exc):
                    raise
                time.sleep(random.uniform(0, _REGISTER_PAUSE * (attempt + 1)))

    def _report(self, name: str, inventory: dict[str, Any]) -> None:
        now = self.clock.now()
        values = {**inventory, "last_seen": now, "updated_at": now}
        with self.db.write() as conn:
            done = conn.execute(
                update(H)
                .where(H.c.name == name)
                .values(report_count=H.c.report_count + 1, **values)
            ).rowcount
            if not done:
                conn.execute(
                    insert(H).values(
                        name=name, uuid=str(uuid4()), report_count=1, created_at=now, **values
                    )
                )

    def heartbeat(self, name: str) -> bool:
        """Mark the host seen now; False when it is not registered."""
        now = self.clock.now()
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    update(H)
                    .where(H.c.name == name)
                    .values(last_seen=now, updated_at=now, report_count=H.c.report_count + 1)
                ).rowcount
            )

    def all(self) -> list[Host]:
        with self.db.read() as conn:
            rows = conn.execute(select(H).order_by(H.c.name)).all()
        return [self._domain(r) for r in rows]

    def get(self, name: str) -> Host | None:
        with self.db.read() as conn:
            row = conn.execute(select(H).where(H.c.name == name)).first()
        return self._domain(row) if row else None

    def services(self) -> list[Host]:
        """Every host, in registration order (the service list)."""
        with self.db.read() as conn:
            rows = conn.execute(select(H).order_by(H.c.id)).all()
        return [self._domain(r) for r in rows]

    def find(self, ident: str) -> Host | None:
        """A host by uuid or by name, with its container count."""
        column = H.c.uuid if _is_uuid(ident) else H.c.name
        with self.db.read() as conn:
            row = conn.execute(select(H).where(column == ident)).first()
        if row is None:
            return None
        return self._domain(row, self._counts([row.name]).get(row.name, 0))

    def page(
        self, limit: int, marker: str | None, sort_key: str = "hostname", sort_dir: str = "asc"
    ) -> list[Host]:
        """A page of hosts after the host with uuid ``marker``, with container counts."""
        if sort_key not in SORT_COLUMNS:
            raise InvalidParameterValue(f"sort_key: {sort_key} is not a host attribute.")
        column, desc = H.c[SORT_COLUMNS[sort_key]], sort_dir == "desc"
        query = select(H)
        with self.db.read() as conn:
            if marker is not None:
                mark = conn.execute(select(H).where(H.c.uuid == marker)).first()
                if mark is None or not _is_uuid(marker):
                    raise HostNotFound(f"Marker {marker} could not be found.")
                value = getattr(mark, column.name)
                after = H.c.uuid < mark.uuid if desc else H.c.uuid > mark.uuid
                if value is None:
                    query = query.where(after)
                else:
                    beyond = column < value if desc else column > value
                    query = query.where(or_(beyond, and_(column == value, after)))
            order = [column.desc(), H.c.uuid.desc()] if desc else [column.asc(), H.c.uuid.asc()]
            rows = conn.execute(query.order_by(*order).limit(limit)).all()
        counts = self._counts([r.name for r in rows])
        return [self._domain(r, counts.get(r.name, 0)) for r in rows]

    def _counts(self, names: list[str]) -> dict[str, int]:
        if not names:
            return {}
        query = select(C.c.host, func.count()).where(C.c.host.in_(names)).group_by(C.c.host)
        with self.db.read() as conn:
            return {host: int(n) for host, n in conn.execute(query).all()}

    def set_switches(self, name: str, **values: Any) -> bool:
        """Change ``enabled``/``disabled_reason``/``forced_down``; False for an unknown host."""
        with self.db.write() as conn:
            done = conn.execute(
                update(H).where(H.c.name == name).values(updated_at=self.clock.now(), **values)
            ).rowcount
        return bool(done)

    def delete(self, name: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute(delete(H).where(H.c.name == name)).rowcount)

    def zones(self, limit: int) -> list[str]:
        """Availability zones of the first ``limit`` hosts by zone, without repeats."""
        query = select(H.c.availability_zone).order_by(H.c.availability_zone, H.c.id)
        with self.db.read() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return list(dict.fromkeys(zone for (zone,) in rows))

    def known_runtimes(self) -> set[str]:
        with self.db.read() as conn:
            rows = conn.execute(select(H.c.runtimes)).all()
        return {rt for (runtimes,) in rows for rt in (runtimes or ())}

    def tunnel_addresses(self) -> dict[str, str]:
        """Each host's underlay address for project networks' tunnels, where it has one."""
        with self.db.read() as conn:
            rows = conn.execute(select(H.c.name, H.c.info)).all()
        found = {name: str((info or {}).get(TUNNEL_ADDRESS) or "") for name, info in rows}
        return {name: address for name, address in found.items() if address}

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(H)).scalar_one())
