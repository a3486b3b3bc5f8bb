"""Container statuses, task states and the table of what may happen in which status.

API precondition checks and agent updates both consult this module, so the
allowed-state rules exist in exactly one place.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CREATING = "Creating"
    CREATED = "Created"
    RUNNING = "Running"
    PAUSED = "Paused"
    STOPPED = "Stopped"
    RESTARTING = "Restarting"
    REBUILDING = "Rebuilding"
    DELETING = "Deleting"
    DELETED = "Deleted"
    ERROR = "Error"
    UNKNOWN = "Unknown"
    DEAD = "Dead"


class TaskState(StrEnum):
    IMAGE_PULLING = "image_pulling"
    CONTAINER_CREATING = "container_creating"
    CONTAINER_STARTING = "container_starting"
    CONTAINER_STOPPING = "container_stopping"
    CONTAINER_REBOOTING = "container_rebooting"
    CONTAINER_PAUSING = "container_pausing"
    CONTAINER_UNPAUSING = "container_unpausing"
    CONTAINER_KILLING = "container_killing"
    CONTAINER_DELETING = "container_deleting"
    CONTAINER_REBUILDING = "container_rebuilding"
    NETWORK_ATTACHING = "network_attaching"
    NETWORK_DETACHING = "network_detaching"
    SG_ADDING = "sg_adding"
    SG_REMOVING = "sg_removing"


S = Status

#: Action key -> statuses in which the API accepts it (409 otherwise).
ALLOWED: dict[str, frozenset[Status]] = {
    "start": frozenset({S.CREATED, S.STOPPED, S.ERROR}),
    "stop": frozenset({S.RUNNING}),
    "reboot": frozenset({S.CREATED, S.RUNNING, S.STOPPED, S.ERROR}),
    "rebuild": frozenset({S.CREATED, S.RUNNING, S.STOPPED, S.ERROR}),
    "pause": frozenset({S.RUNNING}),
    "unpause": frozenset({S.PAUSED}),
    "kill": frozenset({S.RUNNING}),
    "execute": frozenset({S.RUNNING}),
    "execute_resize": frozenset({S.RUNNING}),
    "attach": frozenset({S.RUNNING}),
    "resize": frozenset({S.RUNNING}),
    "top": frozenset({S.RUNNING}),
    "stats": frozenset({S.RUNNING}),
    "logs": frozenset({S.CREATED, S.ERROR, S.PAUSED, S.RUNNING, S.STOPPED, S.UNKNOWN}),
    "get_archive": frozenset({S.CREATED, S.PAUSED, S.RUNNING, S.STOPPED}),
    "put_archive": frozenset({S.CREATED, S.PAUSED, S.RUNNING, S.STOPPED}),
    "commit": frozenset({S.RUNNING, S.STOPPED, S.PAUSED}),
    "update": frozenset({S.CREATED, S.RUNNING, S.STOPPED, S.PAUSED}),
    "resize_container": frozenset({S.CREATED, S.RUNNING, S.STOPPED, S.PAUSED}),
    "add_security_group": frozenset({S.CREATED, S.RUNNING, S.STOPPED, S.PAUSED}),
    "remove_security_group": frozenset({S.CREATED, S.RUNNING, S.STOPPED, S.PAUSED}),
    # Zun checks no state for these two; the task-state reservation still makes one
    # operation at a time (409 while another runs).
    "network_attach": frozenset(Status),
    "network_detach": frozenset(Status),
    "delete": frozenset({S.CREATED, S.ERROR, S.STOPPED, S.DELETED, S.DEAD}),
    "delete_force": frozenset(
        {
            S.CREATED,
            S.CREATING,
            S.ERROR,
            S.RUNNING,
            S.STOPPED,
            S.UNKNOWN,
            S.DELETED,
            S.DEAD,
            S.RESTARTING,
            S.REBUILDING,
            S.DELETING,
        }
    ),
    "delete_after_stop": frozenset({S.RUNNING, S.CREATED, S.ERROR, S.STOPPED, S.DELETED, S.DEAD}),
}

#: Action key -> (task state the agent holds while working, status set at once by the API).
IN_FLIGHT: dict[str, tuple[TaskState, Status | None]] = {
    "start": (TaskState.CONTAINER_STARTING, None),
    "stop": (TaskState.CONTAINER_STOPPING, None),
    "reboot": (TaskState.CONTAINER_REBOOTING, Status.RESTARTING),
    "rebuild": (TaskState.CONTAINER_REBUILDING, Status.REBUILDING),
    "pause": (TaskState.CONTAINER_PAUSING, None),
    "unpause": (TaskState.CONTAINER_UNPAUSING, None),
    "kill": (TaskState.CONTAINER_KILLING, None),
    "add_security_group": (TaskState.SG_ADDING, None),
    "remove_security_group": (TaskState.SG_REMOVING, None),
    "network_attach": (TaskState.NETWORK_ATTACHING, None),
    "network_detach": (TaskState.NETWORK_DETACHING, None),
    "delete": (TaskState.CONTAINER_DELETING, Status.DELETING),
    "delete_force": (TaskState.CONTAINER_DELETING, Status.DELETING),
    "delete_after_stop": (TaskState.CONTAINER_DELETING, Status.DELETING),
}

#: Operations on the container's networks and groups: the record already holds what
#: they make true, the agent makes the engine and the kernel follow it.
NETWORK_TASKS = frozenset(
    {
        TaskState.NETWORK_ATTACHING,
        TaskState.NETWORK_DETACHING,
        TaskState.SG_ADDING,
        TaskState.SG_REMOVING,
    }
)

#: Actions that only read: they need no task-state reservation.
READ_ONLY = frozenset({"execute", "logs", "top", "stats", "get_archive", "attach", "resize"})


def allowed(action: str, status: Status | str | None) -> bool:
    """Whether ``action`` may be requested while the container is in ``status``."""
    states = ALLOWED.get(action)
    if states is None:
        raise KeyError(f"unknown action {action!r}")
    return status is not None and Status(status) in states


#: Engine state strings (``State.Status`` of docker inspect) -> our status.
ENGINE_STATUS: dict[str, Status] = {
    "created": Status.CREATED,
    "running": Status.RUNNING,
    "paused": Status.PAUSED,
    "restarting": Status.RESTARTING,
    "removing": Status.DELETING,
    "exited": Status.STOPPED,
    "dead": Status.DEAD,
}


def from_engine(state: str) -> Status:
    return ENGINE_STATUS.get(state.lower(), Status.UNKNOWN)
