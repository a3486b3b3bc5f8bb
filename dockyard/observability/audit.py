"""The audit trail: one line on the ``dockyard.audit`` logger per container state change.

Written by the container repository, the one place every change of a record's status
or task state (and its creation and removal) passes through, whichever process
makes it. Each line names the container, what it became, when (the log line's time),
the request it was made for and who made that request (empty when the change came
from the engine, e.g. a container that exited, or from a periodic repair), and the
process part that made it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dockyard.observability.context import current
from dockyard.observability.metrics import STATE_CHANGES

LOG = logging.getLogger("dockyard.audit")


def state_changed(
    container: str, change: str, fields: Mapping[str, object], project_id: str | None = None
) -> None:
    """Record that ``container`` was created, updated or deleted (``change``) and the
    state it now holds (``fields``: status and/or task_state; absent keys unchanged)."""
    scope = current()
    status = _text(fields["status"]) if "status" in fields else None
    task = _text(fields["task_state"]) if "task_state" in fields else None
    if change == "delete":
        status = "Deleted"
    STATE_CHANGES.labels(status or "-").inc()
    described = ", ".join(
        f"{name}={value}"
        for name, value in (("status", status), ("task_state", task))
        if name in fields or (name == "status" and status)
    )
    LOG.info(
        "container %s %s: %s (request %s, user %s)",
        container,
        change,
        described or "removed",
        scope.request_id if scope else "-",
        scope.user_id if scope and scope.user_id else "-",
        extra={
            "audit": {
                "container": container,
                "change": change,
                "status": status,
                "task_state": task,
                "task_state_changed": "task_state" in fields,
                "container_project_id": project_id,
                "request_id": scope.request_id if scope else None,
                "user_id": (scope.user_id or None) if scope else None,
                "project_id": (scope.project_id or None) if scope else None,
            }
        },
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
