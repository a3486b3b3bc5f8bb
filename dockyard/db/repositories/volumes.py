"""Volume records and their attachments, scoped to a project; volume GiB count in ``disk``.

Each change that must not race (attach, delete) locks the volume's row first,
then applies the domain's rule to what it read, so an attach and a delete of
the same volume are serialised and exactly one of two attaches wins. The
attachments table is keyed by volume, so the database itself refuses a second
holder too.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.db.models import HostRow, VolumeAttachmentRow, VolumeRow
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.session import Database
from dockyard.domain.errors import Conflict, VolumeInUse, VolumeNotFound
from dockyard.domain.volumes import (
    HostVolume,
    Volume,
    VolumeAttachment,
    VolumeStatus,
    ensure_attachable,
    ensure_deletable,
)

V = cast(Table, VolumeRow.__table__)
A = cast(Table, VolumeAttachmentRow.__table__)
H = cast(Table, HostRow.__table__)


def _is_uuid(ident: str) -> bool:
    try:
        uuidlib.UUID(ident)
    except ValueError:
        return False
    return True


def _attachment(row: Row[Any]) -> VolumeAttachment:
    return VolumeAttachment(row.container_uuid, row.host, row.destination)


def _to_domain(row: Row[Any], attachments: tuple[VolumeAttachment, ...]) -> Volume:
    return Volume(
        id=row.uuid,
        project_id=row.project_id,
        size_gib=row.size_gib,
        name=row.name,
        status=VolumeStatus(row.status),
        host=row.host or "",
        attachments=attachments,
        auto_remove=row.auto_remove,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class VolumeRepository:
    def __init__(self, db: Database, quotas: QuotaRepository) -> None:
        self.db = db
        self.quotas = quotas

    def _load(self, conn: Connection, rows: list[Row[Any]]) -> list[Volume]:
        ids = [r.uuid for r in rows]
        held: dict[str, list[VolumeAttachment]] = {}
        if ids:
            for a in conn.execute(select(A).where(A.c.volume_uuid.in_(ids))):
                held.setdefault(a.volume_uuid, []).append(_attachment(a))
        return [_to_domain(r, tuple(held.get(r.uuid, ()))) for r in rows]

    def _locked(self, conn: Connection, volume_id: str) -> Volume | None:
        row = conn.execute(select(V).where(V.c.uuid == volume_id).with_for_update()).first()
        return None if row is None else self._load(conn, [row])[0]

    def create(self, volume: Volume) -> Volume:
        """Record ``volume`` (checked by ``domain.volumes.new_volume``), its GiB reserved
        in the project's ``disk`` quota in the same transaction (``OverQuota``: nothing)."""
        self.quotas.ensure(volume.project_id)
        now = self.db.clock.now()
        with self.db.write() as conn:
            self.quotas.reserve(conn, volume.project_id, {"disk": volume.size_gib})
            conn.execute(
                insert(V).values(
                    uuid=volume.id,
                    name=volume.name,
                    project_id=volume.project_id,
                    size_gib=volume.size_gib,
                    status=volume.status.value,
                    host=volume.host or None,
                    auto_remove=volume.auto_remove,
                    description=volume.description,
                    created_at=now,
                )
            )
            row = conn.execute(select(V).where(V.c.uuid == volume.id)).one()
            return self._load(conn, [row])[0]

    def get(self, volume_id: str) -> Volume:
        """Any project's volume by id (for the control side's own use)."""
        with self.db.read() as conn:
            row = conn.execute(select(V).where(V.c.uuid == volume_id)).first()
            if row is None:
                raise VolumeNotFound(f"Volume {volume_id} not found.", volume=volume_id)
            return self._load(conn, [row])[0]

    def find(self, project_id: str, name_or_id: str) -> Volume:
        """The project's volume by id, else by exact name; 404 outside it, 409 for a shared name."""
        scoped = select(V).where(V.c.project_id == project_id)
        with self.db.read() as conn:
            rows: list[Row[Any]] = []
            if _is_uuid(name_or_id):
                rows = list(conn.execute(scoped.where(V.c.uuid == name_or_id)).all())
            if not rows:
                rows = list(conn.execute(scoped.where(V.c.name == name_or_id).limit(2)).all())
            if not rows:
                raise VolumeNotFound(f"Volume {name_or_id} not found.", volume=name_or_id)
            if len(rows) > 1:
                raise Conflict(
                    f"Several volumes are named {name_or_id}; use the id.", volume=name_or_id
                )
            return self._load(conn, rows)[0]

    def list_volumes(self, project_id: str) -> tuple[Volume, ...]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(V).where(V.c.project_id == project_id).order_by(V.c.id)
            ).all()
            return tuple(self._load(conn, list(rows)))

    def placed(self, volume_id: str, host: str) -> Volume:
        """The volume's data is on ``host``: set it there, ``creating`` → ``available``."""
        with self.db.write() as conn:
            volume = self._locked(conn, volume_id)
            if volume is None:
                raise VolumeNotFound(f"Volume {volume_id} not found.", volume=volume_id)
            if volume.host and volume.host != host:
                raise Conflict(
                    f"Volume {volume_id} lives on host {volume.host}, not {host}.",
                    volume=volume_id,
                )
            if not volume.host:
                self._claim_disk(conn, volume, host)
            values: dict[str, Any] = {"host": host, "updated_at": self.db.clock.now()}
            if volume.status is VolumeStatus.CREATING:
                values["status"] = VolumeStatus.AVAILABLE.value
            conn.execute(update(V).where(V.c.uuid == volume_id).values(**values))
            return self._load(conn, [conn.execute(select(V).where(V.c.uuid == volume_id)).one()])[0]

    @staticmethod
    def _claim_disk(conn: Connection, volume: Volume, host: str) -> None:
        """The volume's GiB join its host's claimed disk, as a container's ``disk`` does.

        A host that is not registered claims nothing (nothing schedules onto it).
        """
        row = conn.execute(
            select(H.c.disk_used, H.c.disk_gib).where(H.c.name == host).with_for_update()
        ).first()
        if row is None:
            return
        if row.disk_used + volume.size_gib > row.disk_gib:
            raise Conflict(
                f"Host {host} has no room for volume {volume.id} of {volume.size_gib} GiB "
                f"({row.disk_used} of {row.disk_gib} GiB claimed).",
                volume=volume.id,
            )
        conn.execute(
            update(H).where(H.c.name == host).values(disk_used=H.c.disk_used + volume.size_gib)
        )

    def attach(self, project_id: str, volume_id: str, attachment: VolumeAttachment) -> Volume:
        """Record the container holding the volume (``in-use``); idempotent per container."""
        try:
            with self.db.write() as conn:
                volume = self._locked(conn, volume_id)
                if volume is None or volume.project_id != project_id:
                    raise VolumeNotFound(f"Volume {volume_id} not found.", volume=volume_id)
                if attachment in volume.attachments:
                    return volume
                ensure_attachable(volume, project_id, attachment.host)
                conn.execute(
                    insert(A).values(
                        volume_uuid=volume_id,
                        container_uuid=attachment.container_id,
                        host=attachment.host,
                        destination=attachment.destination,
                        created_at=self.db.clock.now(),
                    )
                )
                conn.execute(
                    update(V)
                    .where(V.c.uuid == volume_id)
                    .values(
                        status=VolumeStatus.IN_USE.value,
                        host=volume.host or attachment.host,
                        updated_at=self.db.clock.now(),
                    )
                )
                row = conn.execute(select(V).where(V.c.uuid == volume_id)).one()
                return self._load(conn, [row])[0]
        except IntegrityError as exc:  # a concurrent attach won the volume's key
            raise VolumeInUse(f"Volume {volume_id} is in use.", volume=volume_id) from exc

    def detach(self, volume_id: str, container_id: str) -> None:
        """Forget the container's hold; ``available`` again. Absent either way → nothing."""
        with self.db.write() as conn:
            gone = conn.execute(
                delete(A).where(A.c.volume_uuid == volume_id, A.c.container_uuid == container_id)
            ).rowcount
            if gone:
                conn.execute(
                    update(V)
                    .where(V.c.uuid == volume_id, V.c.status == VolumeStatus.IN_USE.value)
                    .values(status=VolumeStatus.AVAILABLE.value, updated_at=self.db.clock.now())
                )

    def attachments_of(self, container_id: str) -> tuple[Volume, ...]:
        """The volumes a container holds (what its delete must detach, or remove)."""
        with self.db.read() as conn:
            held = select(A.c.volume_uuid).where(A.c.container_uuid == container_id)
            rows = conn.execute(select(V).where(V.c.uuid.in_(held)).order_by(V.c.id)).all()
            return tuple(self._load(conn, list(rows)))

    def delete(self, project_id: str, volume_id: str) -> Volume:
        """Mark the project's volume ``deleting`` for its host to remove; in use → 409."""
        with self.db.write() as conn:
            volume = self._locked(conn, volume_id)
            if volume is None:
                raise VolumeNotFound(f"Volume {volume_id} not found.", volume=volume_id)
            ensure_deletable(volume, project_id)
            conn.execute(
                update(V)
                .where(V.c.uuid == volume_id)
                .values(status=VolumeStatus.DELETING.value, updated_at=self.db.clock.now())
            )
            row = conn.execute(select(V).where(V.c.uuid == volume_id)).one()
            return self._load(conn, [row])[0]

    def forget(self, volume_id: str) -> None:
        """Drop the record and give its GiB back to the project's ``disk``, exactly once."""
        with self.db.write() as conn:
            volume = self._locked(conn, volume_id)
            if volume is None:
                return
            if volume.in_use:
                raise VolumeInUse(f"Volume {volume_id} is still attached.", volume=volume_id)
            conn.execute(delete(V).where(V.c.uuid == volume_id))
            self.quotas.give_back(conn, volume.project_id, {"disk": volume.size_gib})
            if volume.host:
                conn.execute(
                    update(H)
                    .where(H.c.name == volume.host, H.c.disk_used >= volume.size_gib)
                    .values(disk_used=H.c.disk_used - volume.size_gib)
                )

    def volumes_for_host(self, host: str) -> tuple[HostVolume, ...]:
        """The volumes whose data ``host`` must keep realised (all but those being deleted)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(V.c.uuid, V.c.size_gib)
                .where(V.c.host == host, V.c.status != VolumeStatus.DELETING.value)
                .order_by(V.c.id)
            ).all()
        return tuple(HostVolume.of(Volume(r.uuid, "", r.size_gib)) for r in rows)

    def deleting_on_host(self, host: str) -> tuple[str, ...]:
        with self.db.read() as conn:
            return tuple(
                conn.execute(
                    select(V.c.uuid)
                    .where(V.c.host == host, V.c.status == VolumeStatus.DELETING.value)
                    .order_by(V.c.id)
                ).scalars()
            )

    def list_all_volumes(self) -> tuple[Volume, ...]:
        """Every project's volumes, oldest first (an admin's ``all_tenants`` list)."""
        with self.db.read() as conn:
            rows = conn.execute(select(V).order_by(V.c.id)).all()
            return tuple(self._load(conn, list(rows)))

    def describe(self, volume_id: str, name: str, description: str) -> Volume:
        """Set the volume's name and description (checked by the caller)."""
        with self.db.write() as conn:
            found = conn.execute(
                update(V)
                .where(V.c.uuid == volume_id)
                .values(name=name, description=description, updated_at=self.db.clock.now())
            ).rowcount
            if not found:
                raise VolumeNotFound(f"Volume {volume_id} not found.", volume=volume_id)
            row = conn.execute(select(V).where(V.c.uuid == volume_id)).one()
            return self._load(conn, [row])[0]
