"""Compute hosts: inventory reported by agents, claims made by the scheduler."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, select, update

from dockyard.db.models import HostRow, utcnow
from dockyard.db.session import Database
from dockyard.domain.models import Host

H = cast(Table, HostRow.__table__)


def _to_domain(row: Row[Any], down_after: dt.timedelta) -> Host:
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
        up=utcnow() - row.last_seen <= down_after,
        cpu_count=row.cpus,
        storage_driver=str((row.info or {}).get("storage_driver") or ""),
        supports_disk_quota=bool((row.info or {}).get("supports_disk_quota")),
    )


class HostRepository:
    def __init__(self, db: Database, down_after: dt.timedelta) -> None:
        self.db = db
        self.down_after = down_after

    def report(self, name: str, inventory: dict[str, Any]) -> None:
        """Create or refresh a host's inventory and mark it seen now."""
        values = {**inventory, "last_seen": utcnow()}
        with self.db.write() as conn:
            done = conn.execute(update(H).where(H.c.name == name).values(**values)).rowcount
            if not done:
                conn.execute(insert(H).values(name=name, **values))

    def heartbeat(self, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(H).where(H.c.name == name).values(last_seen=utcnow()))

    def all(self) -> list[Host]:
        with self.db.read() as conn:
            rows = conn.execute(select(H).order_by(H.c.name)).all()
        return [_to_domain(r, self.down_after) for r in rows]

    def get(self, name: str) -> Host | None:
        with self.db.read() as conn:
            row = conn.execute(select(H).where(H.c.name == name)).first()
        return _to_domain(row, self.down_after) if row else None

    def known_runtimes(self) -> set[str]:
        with self.db.read() as conn:
            rows = conn.execute(select(H.c.runtimes)).all()
        return {rt for (runtimes,) in rows for rt in (runtimes or ())}

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(H)).scalar_one())
