"""What an agent reports of a container, as the record change it makes.

An agent observes the engine and says what the record should now hold; the
control side applies that change only while its guard on the task state holds.
"No task" is spelled ``None`` everywhere; ``ANY_TASK`` is the guard that holds
whatever the task is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from dockyard.domain.models import Container, ObservedContainer
from dockyard.domain.states import Status, TaskState


class AnyTask(Enum):
    """Whatever task the record holds (as a guard: no guard; as a change: unchanged)."""

    ANY = "*"


ANY_TASK = AnyTask.ANY

#: The request id of an event for "the container's newest unfinished action": what a
#: reconcile pass closes when it finishes an operation whose agent died (it never
#: saw the request).
OPEN_ACTION = "*"

#: A task the record must hold: a task state, None for "no task", or ANY_TASK.
TaskGuard = TaskState | AnyTask | None

OOM_REASON = "The container ran out of memory and was killed (OOM)."


@dataclass(frozen=True)
class RuntimeFields:
    """The record fields an engine reports of one container, set together."""

    runtime_id: str | None = None
    status_detail: str | None = None
    exit_code: int | None = None
    restart_count: int = 0
    hostname: str | None = None
    ports: tuple[int, ...] = ()
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def of(cls, obs: ObservedContainer) -> RuntimeFields:
        return cls(
            runtime_id=obs.runtime_id,
            status_detail=obs.status_detail,
            exit_code=obs.exit_code,
            restart_count=obs.restart_count,
            hostname=obs.hostname,
            ports=obs.ports,
            started_at=obs.started_at,
            finished_at=obs.finished_at,
        )

    @classmethod
    def recorded(cls, rec: Container) -> RuntimeFields:
        """The fields as ``rec`` holds them."""
        return cls(
            runtime_id=rec.runtime_id,
            status_detail=rec.status_detail,
            exit_code=rec.exit_code,
            restart_count=rec.restart_count,
            hostname=rec.hostname,
            ports=tuple(rec.ports),
            started_at=rec.started_at,
            finished_at=rec.finished_at,
        )


@dataclass(frozen=True)
class ContainerChange:
    """A change to one container record; what it leaves out stays as it is.

    ``status`` comes with its ``reason`` (None clears it); without a status, a
    ``reason`` is recorded on its own when given. ``task`` is the task the record
    holds afterwards (None: no task; ``ANY_TASK``: unchanged). ``runtime``, when
    given, replaces every runtime field; else ``detail``, when given, replaces only
    ``status_detail`` ("" clears it), as pull progress does.
    """

    status: Status | None = None
    reason: str | None = None
    task: TaskGuard = ANY_TASK
    runtime: RuntimeFields | None = None
    detail: str | None = None

    @classmethod
    def observed(
        cls, obs: ObservedContainer, task: TaskGuard = ANY_TASK, reason: str | None = None
    ) -> ContainerChange:
        """The record as ``obs`` shows it; ``reason`` overrides the one ``obs`` implies."""
        return cls(obs.status, reason or reason_of(obs), task, RuntimeFields.of(obs))

    @classmethod
    def failed(cls, reason: str, task: TaskGuard = None) -> ContainerChange:
        """The record goes to Error for ``reason`` and, by default, ends its task."""
        return cls(Status.ERROR, reason, task)

    def fields(self) -> dict[str, object]:
        """The record fields this change sets, by name."""
        values: dict[str, object] = {}
        if self.status is not None:
            values["status"] = self.status
            values["status_reason"] = self.reason
        elif self.reason is not None:
            values["status_reason"] = self.reason
        if self.task is not ANY_TASK:
            values["task_state"] = self.task
        if self.runtime is not None:
            r = self.runtime
            values.update(
                runtime_id=r.runtime_id,
                status_detail=r.status_detail,
                exit_code=r.exit_code,
                restart_count=r.restart_count,
                hostname=r.hostname,
                ports=list(r.ports),
                started_at=r.started_at,
                finished_at=r.finished_at,
            )
        elif self.detail is not None:
            values["status_detail"] = self.detail or None
        return values


def reason_of(obs: ObservedContainer) -> str | None:
    """Why the engine shows ``obs`` as it does, when it says."""
    if obs.oom_killed:
        return OOM_REASON
    return obs.error or None
