"""Image records: one row per repo:tag on a host (api-other §8)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, and_, case, delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from dockyard.db.models import ImageRow
from dockyard.db.session import Database
from dockyard.domain.errors import ImageAlreadyExists, ImageNotFound, InvalidParameterValue
from dockyard.domain.image_records import (
    ImageRecord,
    ImageStatus,
    ImageUse,
    LocalImage,
    PullProgress,
)

LOG = logging.getLogger(__name__)

I = cast(Table, ImageRow.__table__)  # noqa: E741 - the table, as elsewhere

#: Columns a list may be sorted by: those the API shows.
SORTABLE = frozenset(c.name for c in I.columns) - {
    "progress",
    "pulled_by_dockyard",
    "last_used_at",
}


def _is_uuid(ident: str) -> bool:
    try:
        uuidlib.UUID(ident)
    except ValueError:
        return False
    return True


def _progress(value: Any) -> PullProgress | None:
    if not isinstance(value, dict):
        return None
    return PullProgress(**{f.name: int(value.get(f.name) or 0) for f in _PROGRESS_FIELDS})


_PROGRESS_FIELDS = dataclasses.fields(PullProgress)


def _to_domain(row: Row[Any]) -> ImageRecord:
    return ImageRecord(
        id=row.id,
        uuid=row.uuid,
        repo=row.repo,
        tag=row.tag,
        host=row.host,
        project_id=row.project_id,
        user_id=row.user_id,
        image_id=row.image_id,
        size=row.size,
        status=ImageStatus(row.status),
        status_reason=row.status_reason,
        progress=_progress(row.progress),
        pulled_by_dockyard=bool(row.pulled_by_dockyard),
        last_used_at=row.last_used_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ImageRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, record: ImageRecord) -> ImageRecord:
        """Insert a pulling record; a failed pull of the same repo:tag:host is taken over
        (retried), any other one is ``ImageAlreadyExists``."""
        now = self.db.clock.now()
        values = {
            "uuid": record.uuid,
            "repo": record.repo,
            "tag": record.tag,
            "host": record.host,
            "project_id": record.project_id,
            "user_id": record.user_id,
            "image_id": None,
            "size": None,
            "status": str(ImageStatus.PULLING),
            "status_reason": None,
            "progress": None,
            "created_at": now,
        }
        same = and_(I.c.repo == record.repo, I.c.tag == record.tag, I.c.host == record.host)
        try:
            with self.db.write() as conn:
                retried = conn.execute(
                    update(I)
                    .where(same, I.c.status == str(ImageStatus.ERROR))
                    .values(updated_at=now, **values)
                ).rowcount
                if not retried:
                    conn.execute(insert(I).values(**values))
                row = conn.execute(select(I).where(I.c.uuid == record.uuid)).one()
        except IntegrityError as exc:
            raise ImageAlreadyExists(
                f"An image {record.reference} already exists on host {record.host}.",
                repo=record.repo,
                tag=record.tag,
                host=record.host,
            ) from exc
        return _to_domain(row)

    def get(self, uuid: str, project_id: str | None) -> ImageRecord:
        """The record ``uuid`` (of ``project_id`` unless None); ``ImageNotFound`` else."""
        found = self.find(uuid) if _is_uuid(uuid) else None
        if found is None or (project_id is not None and found.project_id != project_id):
            raise ImageNotFound(f"Image {uuid} could not be found.")
        return found

    def find(self, uuid: str) -> ImageRecord | None:
        with self.db.read() as conn:
            row = conn.execute(select(I).where(I.c.uuid == uuid)).first()
        return None if row is None else _to_domain(row)

    def page(
        self,
        project_id: str | None,
        limit: int,
        marker: str | None = None,
        sort_key: str = "id",
        sort_dir: str = "asc",
    ) -> list[ImageRecord]:
        """A page of records (of ``project_id`` unless None) in ``sort_key`` order."""
        if sort_key not in SORTABLE:
            raise InvalidParameterValue(f"sort_key: {sort_key} is not an image attribute.")
        query = select(I)
        if project_id is not None:
            query = query.where(I.c.project_id == project_id)
        column, desc = I.c[sort_key], sort_dir == "desc"
        if marker is not None:
            mark = self.get(marker, project_id) if _is_uuid(marker) else None
            if mark is None:
                raise ImageNotFound(f"Marker {marker} could not be found.")
            query = query.where(_after(mark, sort_key, desc))
        has_value = case((column.is_(None), 0), else_=1)
        if desc:
            order = [has_value.desc(), column.desc(), I.c.id.desc()]
        else:
            order = [has_value.asc(), column.asc(), I.c.id.asc()]
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(*order).limit(limit)).all()
        return [_to_domain(r) for r in rows]

    def on_host(self, host: str) -> list[ImageRecord]:
        with self.db.read() as conn:
            rows = conn.execute(select(I).where(I.c.host == host).order_by(I.c.id)).all()
        return [_to_domain(r) for r in rows]

    def report(
        self,
        uuid: str,
        status: ImageStatus,
        *,
        progress: PullProgress | None = None,
        image_id: str | None = None,
        size: int | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record a pull's progress (while it is pulling) or its outcome; False when the
        record is gone or no longer pulling."""
        values: dict[str, Any] = {"status": str(status), "updated_at": self.db.clock.now()}
        if status == ImageStatus.PULLING:
            values["progress"] = None if progress is None else dataclasses.asdict(progress)
        elif status == ImageStatus.READY:
            values.update(image_id=image_id, size=size, status_reason=None, progress=None)
        else:
            values.update(status_reason=reason)
        query = update(I).where(I.c.uuid == uuid, I.c.status == str(ImageStatus.PULLING))
        with self.db.write() as conn:
            return bool(conn.execute(query.values(**values)).rowcount)

    def delete(self, uuid: str) -> None:
        with self.db.write() as conn:
            if not conn.execute(delete(I).where(I.c.uuid == uuid)).rowcount:
                raise ImageNotFound(f"Image {uuid} could not be found.")

    def sync(
        self,
        host: str,
        engine: list[LocalImage],
        owners: Mapping[str, tuple[str, str]],
        stale_pull: dt.timedelta,
        uses: Sequence[ImageUse] = (),
        listed_at: dt.datetime | None = None,
    ) -> None:
        """Make ``host``'s records match its engine's tags.

        A tag the engine holds is recorded (owned by the project of a container that
        uses it, else by nobody) and its id and size kept current; a record whose
        image left the engine goes. A pull in progress is left alone unless no
        report has come for ``stale_pull``: then it failed. Failed pulls stay, to
        say why, until pulled again or deleted. A record changed after ``listed_at``
        (when the agent listed its engine) is not removed: the list is older than it.
        ``uses`` (the agent's pulls and container creates) move records'
        ``last_used_at`` forward and mark the tags Dockyard's own pulls brought.
        """
        try:
            self._sync(host, engine, owners, stale_pull, listed_at)
            self._note_uses(host, uses)
        except IntegrityError:
            # A pull recorded one of these tags meanwhile: the next sync sees it.
            LOG.info("image sync of host %s raced with a pull; done again next time", host)

    def _sync(
        self,
        host: str,
        engine: list[LocalImage],
        owners: Mapping[str, tuple[str, str]],
        stale_pull: dt.timedelta,
        listed_at: dt.datetime | None,
    ) -> None:
        now = self.db.clock.now()
        present = {f"{i.repo}:{i.tag}": i for i in engine}
        with self.db.write() as conn:
            records = conn.execute(select(I).where(I.c.host == host)).all()
            recorded = set()
            for row in records:
                reference = f"{row.repo}:{row.tag}"
                recorded.add(reference)
                seen = present.get(reference)
                if row.status == str(ImageStatus.PULLING):
                    if (row.updated_at or row.created_at) < now - stale_pull:
                        self._fail_stale(conn, row.id, now)
                elif seen is not None:
                    if (row.image_id, row.size, row.status) != (
                        seen.image_id,
                        seen.size,
                        str(ImageStatus.READY),
                    ):
                        conn.execute(
                            update(I)
                            .where(I.c.id == row.id)
                            .values(
                                image_id=seen.image_id,
                                size=seen.size,
                                status=str(ImageStatus.READY),
                                status_reason=None,
                                updated_at=now,
                            )
                        )
                elif row.status == str(ImageStatus.READY) and (
                    listed_at is None or (row.updated_at or row.created_at) <= listed_at
                ):
                    conn.execute(delete(I).where(I.c.id == row.id))
            for reference, image in present.items():
                if reference in recorded:
                    continue
                project_id, user_id = owners.get(reference, (None, None))
                conn.execute(
                    insert(I).values(
                        uuid=str(uuidlib.uuid4()),
                        repo=image.repo,
                        tag=image.tag,
                        host=host,
                        project_id=project_id,
                        user_id=user_id,
                        image_id=image.image_id,
                        size=image.size,
                        status=str(ImageStatus.READY),
                        created_at=now,
                    )
                )

    def _note_uses(self, host: str, uses: Sequence[ImageUse]) -> None:
        latest: dict[str, ImageUse] = {}
        for use in uses:
            seen = latest.get(use.reference)
            pulled = use.pulled or (seen is not None and seen.pulled)
            at = use.at if seen is None else max(seen.at, use.at)
            latest[use.reference] = ImageUse(use.reference, at, pulled)
        if not latest:
            return
        with self.db.write() as conn:
            rows = conn.execute(select(I).where(I.c.host == host)).all()
            for row in rows:
                noted = latest.get(f"{row.repo}:{row.tag}")
                if noted is None:
                    continue
                values: dict[str, Any] = {}
                if row.last_used_at is None or row.last_used_at < noted.at:
                    values["last_used_at"] = noted.at
                if noted.pulled and not row.pulled_by_dockyard:
                    values["pulled_by_dockyard"] = True
                if values:
                    conn.execute(update(I).where(I.c.id == row.id).values(**values))

    @staticmethod
    def _fail_stale(conn: Connection, row_id: int, now: dt.datetime) -> None:
        conn.execute(
            update(I)
            .where(I.c.id == row_id)
            .values(
                status=str(ImageStatus.ERROR),
                status_reason="The pull was interrupted (no progress reported by the host).",
                progress=None,
                updated_at=now,
            )
        )


def _after(mark: ImageRecord, sort_key: str, desc: bool) -> Any:
    """Rows after ``mark`` in the order of ``page``."""
    column, value = I.c[sort_key], getattr(mark, sort_key)
    if isinstance(value, ImageStatus):
        value = str(value)
    if desc:
        if value is None:
            return and_(column.is_(None), I.c.id < mark.id)
        return or_(column < value, and_(column == value, I.c.id < mark.id), column.is_(None))
    if value is None:
        return or_(and_(column.is_(None), I.c.id > mark.id), column.is_not(None))
    return or_(column > value, and_(column == value, I.c.id > mark.id))
