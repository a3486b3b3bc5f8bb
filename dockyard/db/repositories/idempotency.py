"""Idempotency keys of creates: one row per project and key, inserted by one request only."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from dockyard.db.models import IdempotencyKeyRow
from dockyard.db.repositories.hosts import _registration_race
from dockyard.db.session import Database
from dockyard.domain.clock import Clock
from dockyard.domain.idempotency import IdempotencyKey

IK = cast(Table, IdempotencyKeyRow.__table__)
_TRIES = 5


def _key(row: Any) -> IdempotencyKey:
    return IdempotencyKey(
        project_id=row.project_id,
        key=row.key,
        fingerprint=row.fingerprint,
        container_uuid=row.container_uuid,
        created_at=row.created_at,
    )


class IdempotencyRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or db.clock

    def claim(self, project_id: str, key: str, fingerprint: str) -> IdempotencyKey | None:
        """Record ``key`` for a create about to be made: None when this call recorded it,
        else the row another request recorded first (the primary key decides)."""
        row = {"project_id": project_id, "key": key, "fingerprint": fingerprint}
        for _ in range(_TRIES):
            try:
                with self.db.write() as conn:
                    conn.execute(
                        insert(IK).values(**row, container_uuid=None, created_at=self.clock.now())
                    )
                return None
            except (IntegrityError, OperationalError) as exc:
                # MariaDB may report two inserts of one key as a deadlock.
                if not _registration_race(exc):
                    raise
                found = self.get(project_id, key)
            if found is not None:
                return found
            # Forgotten between our insert and the read: insert again.
        raise RuntimeError(f"idempotency key {key!r} kept appearing and vanishing")

    def get(self, project_id: str, key: str) -> IdempotencyKey | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(IK).where(IK.c.project_id == project_id, IK.c.key == key)
            ).first()
        return _key(row) if row is not None else None

    def settle(self, project_id: str, key: str, container_uuid: str) -> None:
        """The create of ``key`` made ``container_uuid``."""
        with self.db.write() as conn:
            conn.execute(
                update(IK)
                .where(IK.c.project_id == project_id, IK.c.key == key)
                .values(container_uuid=container_uuid)
            )

    def forget(self, seen: IdempotencyKey) -> bool:
        """Remove the row exactly as ``seen`` (a failed, abandoned or expired create's),
        unless another request replaced or settled it meanwhile."""
        settled = (
            IK.c.container_uuid.is_(None)
            if seen.container_uuid is None
            else IK.c.container_uuid == seen.container_uuid
        )
        with self.db.write() as conn:
            removed = conn.execute(
                delete(IK).where(
                    IK.c.project_id == seen.project_id,
                    IK.c.key == seen.key,
                    IK.c.created_at == seen.created_at,
                    settled,
                )
            ).rowcount
        return bool(removed)

    def sweep(self, older_than: dt.datetime) -> int:
        """Drop keys recorded before ``older_than``; how many."""
        with self.db.write() as conn:
            return int(conn.execute(delete(IK).where(IK.c.created_at < older_than)).rowcount)

    def count(self) -> int:
        with self.db.read() as conn:
            return len(conn.execute(select(IK.c.key)).all())
