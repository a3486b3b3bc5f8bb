"""The files creates injected into their containers (``bind`` mounts), kept for rebuilds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, delete, insert, select

from dockyard.db.models import ContainerFileRow
from dockyard.db.session import Database
from dockyard.domain.volumes import MountRequest, MountType

F = cast(Table, ContainerFileRow.__table__)


class ContainerFileRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def keep(self, container_id: str, files: Sequence[MountRequest]) -> None:
        """Record the container's injected files (replacing any it had)."""
        now = self.db.clock.now()
        with self.db.write() as conn:
            conn.execute(delete(F).where(F.c.container_uuid == container_id))
            for file in files:
                conn.execute(
                    insert(F).values(
                        container_uuid=container_id,
                        destination=file.destination,
                        content=file.content or b"",
                        created_at=now,
                    )
                )

    def of(self, container_id: str) -> tuple[MountRequest, ...]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(F.c.destination, F.c.content)
                .where(F.c.container_uuid == container_id)
                .order_by(F.c.id)
            ).all()
        return tuple(
            MountRequest(MountType.BIND, row.destination, content=bytes(row.content))
            for row in rows
        )

    def forget(self, container_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(F).where(F.c.container_uuid == container_id))
