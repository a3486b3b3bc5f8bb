"""The per-container action log users read through container_actions."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, insert, select, update

from dockyard.db.models import ActionEventRow, ActionRow
from dockyard.db.session import Database
from dockyard.domain.errors import NotFound
from dockyard.domain.models import ActionEvent, ContainerAction
from dockyard.domain.reports import OPEN_ACTION

A = cast(Table, ActionRow.__table__)
E = cast(Table, ActionEventRow.__table__)


def _action(row: Row[Any]) -> ContainerAction:
    return ContainerAction(
        id=row.id,
        action=row.action,
        container_uuid=row.container_uuid,
        request_id=row.request_id,
        user_id=row.user_id,
        project_id=row.project_id,
        start_time=row.start_time,
        finish_time=row.finish_time,
        message=row.message,
    )


# Built once, values as parameters: composing and keying a statement per call cost
# more CPU than running it.
_START = insert(A)
_ACTION_OF = (
    select(A.c.id)
    .where(A.c.container_uuid == bindparam("a_container"), A.c.request_id == bindparam("a_request"))
    .order_by(A.c.id.desc())
)
_OPEN_ACTION_OF = (
    select(A.c.id)
    .where(A.c.container_uuid == bindparam("a_container"), A.c.finish_time.is_(None))
    .order_by(A.c.id.desc())
)
_ADD_EVENT = insert(E)
_FINISH = update(A).where(A.c.id == bindparam("a_id"))


def start_action(action: ContainerAction) -> tuple[Any, dict[str, Any]]:
    """The INSERT that opens ``action`` and its parameters, for ``conn.execute(*...)``
    (callers batch it into their transaction). One statement for every action: its
    values are parameters, so it is compiled and cache-keyed once."""
    return _START, {
        "action": action.action,
        "container_uuid": action.container_uuid,
        "request_id": action.request_id,
        "user_id": action.user_id,
        "project_id": action.project_id,
        "start_time": action.start_time,
    }


def record_event_in(
    conn: Connection,
    container_uuid: str,
    request_id: str,
    event: ActionEvent,
    finish_action: bool,
    now: dt.datetime,
) -> None:
    """``ActionRepository.record_event`` inside the caller's transaction (``now`` ends
    the action when the event has no finish time)."""
    if request_id == OPEN_ACTION:
        action_id = conn.execute(_OPEN_ACTION_OF, {"a_container": container_uuid}).scalar()
    else:
        found = {"a_container": container_uuid, "a_request": request_id}
        action_id = conn.execute(_ACTION_OF, found).scalar()
    if action_id is None:
        return
    conn.execute(
        _ADD_EVENT,
        {
            "action_id": action_id,
            "event": event.event,
            "start_time": event.start_time,
            "finish_time": event.finish_time,
            "result": event.result,
            "traceback": event.traceback,
        },
    )
    if finish_action:
        failed = event.result == "Error"
        conn.execute(
            _FINISH,
            {
                "a_id": action_id,
                "finish_time": event.finish_time or now,
                "message": "Error" if failed else None,
            },
        )


class ActionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, action: ContainerAction) -> None:
        with self.db.write() as conn:
            conn.execute(*start_action(action))

    def record_event(
        self,
        container_uuid: str,
        request_id: str,
        event: ActionEvent,
        finish_action: bool,
    ) -> None:
        """Add an event to the action and, when ``finish_action``, close the action."""
        with self.db.write() as conn:
            now = self.db.clock.now()
            record_event_in(conn, container_uuid, request_id, event, finish_action, now)

    def for_container(self, container_uuid: str) -> list[ContainerAction]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(A).where(A.c.container_uuid == container_uuid).order_by(A.c.id.desc())
            ).all()
        return [_action(r) for r in rows]

    def get(
        self, container_uuid: str, request_id: str
    ) -> tuple[ContainerAction, list[ActionEvent]]:
        with self.db.read() as conn:
            row = conn.execute(
                select(A).where(A.c.container_uuid == container_uuid, A.c.request_id == request_id)
            ).first()
            if row is None:
                raise NotFound(f"Action {request_id} could not be found.")
            events = conn.execute(
                select(E).where(E.c.action_id == row.id).order_by(E.c.id.desc())
            ).all()
        return _action(row), [
            ActionEvent(e.event, e.start_time, e.finish_time, e.result, e.traceback) for e in events
        ]
