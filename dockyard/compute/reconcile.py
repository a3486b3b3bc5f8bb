"""Make the records of one host agree with what its runtime really has."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Collection

from dockyard.compute.networking import HostNetworkSteps
from dockyard.compute.volume_sync import HostVolumeSteps
from dockyard.domain.clock import Clock
from dockyard.domain.errors import DockyardError, NotFound
from dockyard.domain.labels import Owner
from dockyard.domain.models import ActionEvent, Container, ObservedContainer
from dockyard.domain.reports import OPEN_ACTION, ContainerChange, RuntimeFields, TaskGuard
from dockyard.domain.states import NETWORK_TASKS, Status, TaskState
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.observability.metrics import RECONCILE_CLOCK, RECONCILE_CORRECTIONS, RECONCILE_SECONDS
from dockyard.rpc.api import ControlAPI
from dockyard.rpc.messages import ContainerReport, EventReport

LOG = logging.getLogger(__name__)

#: A Creating record no agent has touched for this long lost its create cast
#: (the default of [compute] lost_create_after).
LOST_CREATE_AFTER = dt.timedelta(seconds=120)
#: A task this old that the agent is not working on was refused or lost in transit
#: (the default of [compute] stuck_task_after).
STUCK_TASK_AFTER = dt.timedelta(seconds=120)

#: The action each network task belongs to.
_NETWORK_ACTIONS = {
    TaskState.NETWORK_ATTACHING: "network_attach",
    TaskState.NETWORK_DETACHING: "network_detach",
    TaskState.SG_ADDING: "add_security_group",
    TaskState.SG_REMOVING: "remove_security_group",
}


class Reconciler:
    def __init__(
        self,
        host: str,
        runtime: RuntimeDriver,
        control: ControlAPI,
        clock: Clock,
        busy: Callable[[], Collection[str]] = frozenset,
        lost_create_after: dt.timedelta = LOST_CREATE_AFTER,
        stuck_task_after: dt.timedelta = STUCK_TASK_AFTER,
        *,
        installation: str,
        networks: HostNetworkSteps | None = None,
        volumes: HostVolumeSteps | None = None,
    ) -> None:
        self.host = host
        self.networks = networks
        self.volumes = volumes
        self.owner = Owner(installation, host)
        self.runtime = runtime
        self.control = control
        self.clock = clock
        self.busy = busy
        self.lost_create_after = lost_create_after
        self.stuck_task_after = stuck_task_after

    def run(self, after_restart: bool = False) -> None:
        """One pass. ``after_restart`` also finishes operations a crash interrupted."""
        began = time.perf_counter()
        self._pass(after_restart)
        RECONCILE_SECONDS.labels(self.host).observe(time.perf_counter() - began)
        RECONCILE_CLOCK.finished(self.host)

    def _corrected(self, kind: str, applied: bool = True) -> None:
        if applied:
            RECONCILE_CORRECTIONS.labels(self.host, kind).inc()

    def _pass(self, after_restart: bool) -> None:
        if self.volumes is not None:
            # Volumes first: after a reboot they must be mounted again before the
            # containers using them are looked at (or restarted onto them).
            try:
                self.volumes.sync()
            except DockyardError as exc:
                LOG.warning("could not reconcile the volumes of %s: %s", self.host, exc)
        # Busy first: an operation that ends meanwhile shows in the records read after.
        busy = self.busy()
        listed = self.runtime.list_managed(self.host)
        records = self.control.containers_on_host(self.host)
        known = {r.uuid for r in records}
        # Only this installation's containers, and unlabelled ones it has a record of.
        observed = {
            o.uuid: o for o in listed if self.owner.may_consider(o.installation, o.uuid, known)
        }
        for record in records:
            if record.uuid in busy:
                # Queued or running here: its operation reports when it ends.
                continue
            stuck = self._stale(record, self.stuck_task_after)
            try:
                self._one(record, observed.get(record.uuid), after_restart or stuck)
            except DockyardError as exc:
                LOG.warning("could not reconcile %s: %s", record.uuid, exc)
        for uuid in observed.keys() - known:
            if self.owner.may_remove_unrecorded(observed[uuid].installation):
                LOG.info("removing orphan container %s (no record)", uuid)
                self.runtime.remove(uuid, force=True)
                self._corrected("orphan_removed")
        if self.networks is not None:
            # After the orphans: a network only they held can go in the same pass.
            try:
                self.networks.reconcile()
            except DockyardError as exc:
                LOG.warning("could not reconcile the networks of %s: %s", self.host, exc)

    def refresh(self, uuid: str) -> None:
        """Bring one record up to date after the engine reported a change to it."""
        record = self.control.container(uuid)
        if record is None or record.host != self.host:
            return
        try:
            observed: ObservedContainer | None = self.runtime.inspect(uuid)
        except NotFound:
            observed = None
        if record.task_state is None and observed is not None:
            if _failure_stands(record, observed):
                return
            change = ContainerChange.observed(observed)
            self._corrected("observed", self.control.report(ContainerReport(uuid, change, None)))
        else:
            self._one(record, observed, after_restart=False)

    def _one(self, rec: Container, obs: ObservedContainer | None, after_restart: bool) -> None:
        if rec.task_state is not None:
            if after_restart:
                self._recover(rec, obs)
            return
        if rec.status is Status.CREATING:
            created = rec.updated_at or rec.created_at or dt.datetime.min
            if self.clock.now() - created > self.lost_create_after:
                self._fail(rec, None, "The create request was lost before any host acted on it.")
            return
        if obs is None:
            if rec.runtime_id is None or rec.status in (Status.ERROR, Status.DELETED):
                return
            # The listing was taken before the records were read (so that orphans are
            # never a container whose record is still to come); a create that ran to
            # its end in between is missing from it. Ask the engine before concluding.
            obs = self._inspect(rec.uuid)
            if obs is not None:
                self._one(rec, obs, after_restart)
                return
            if rec.auto_remove:
                # The engine removed it when it exited, as asked: the record goes too.
                self.control.container_removed(rec.uuid)
                self._corrected("auto_removed")
                return
            # Only the summary goes: the rest is what the engine last showed.
            gone = dataclasses.replace(RuntimeFields.recorded(rec), status_detail=None)
            reason = "The container was removed from the engine outside Dockyard."
            change = ContainerChange(Status.ERROR, reason, runtime=gone)
            applied = self.control.report(ContainerReport(rec.uuid, change, None))
            self._corrected("removed_outside", applied)
            return
        if _failure_stands(rec, obs):
            return
        # The listing is cheap but summary-only (no timestamps): it only tells
        # whether something changed; inspect then tells exactly what.
        if any(getattr(rec, k) != v for k, v in _listed(obs).items()):
            change = ContainerChange.observed(self.runtime.inspect(rec.uuid))
            self._corrected(
                "observed", self.control.report(ContainerReport(rec.uuid, change, None))
            )

    def _inspect(self, uuid: str) -> ObservedContainer | None:
        """The engine's container for our record ``uuid``, if it is there and ours."""
        try:
            found = self.runtime.inspect(uuid)
        except NotFound:
            return None
        return found if self.owner.may_consider(found.installation, uuid, {uuid}) else None

    def _recover(self, rec: Container, obs: ObservedContainer | None) -> None:
        task = rec.task_state
        if self._maybe_queued(rec, obs):
            return
        if rec.task_state in (TaskState.IMAGE_PULLING, TaskState.CONTAINER_CREATING):
            self.runtime.remove(rec.uuid, force=True)
            self._fail(
                rec,
                task,
                "Creation did not finish (the agent restarted or never received the "
                "request); delete the container and create it again.",
            )
        elif rec.task_state is TaskState.CONTAINER_DELETING:
            self.runtime.remove(rec.uuid, force=True)
            self.control.container_removed(rec.uuid)
            self._corrected("deleted")
        elif rec.task_state in NETWORK_TASKS and obs is not None:
            self._finish_network_task(rec, obs)
        elif obs is None:
            self._fail(rec, task, "The container disappeared while an operation was running.")
        else:
            change = ContainerChange.observed(obs, task=None)
            self._corrected(
                "recovered", self.control.report(ContainerReport(rec.uuid, change, task))
            )

    def _finish_network_task(self, rec: Container, obs: ObservedContainer) -> None:
        """An attach, detach or group change whose agent stopped midway: the engine's
        attachments and the rules are made the record's again, the task ends and its
        action closes as failed (an attach stands, a detach not recorded is undone)."""
        task = rec.task_state
        assert task is not None
        began = self.clock.now()
        if self.networks is not None:
            self.networks.converge(obs.runtime_id, rec)
        name = _NETWORK_ACTIONS[task]
        event = ActionEvent(
            event=f"compute__do_container_{name}",
            start_time=began,
            finish_time=self.clock.now(),
            result="Error",
            traceback=f"{name} was interrupted (the agent stopped); the container's "
            "networks and rules were made to match its record again.",
        )
        change = ContainerChange.observed(obs, task=None)
        report = ContainerReport(
            rec.uuid, change, task, event=EventReport(rec.uuid, OPEN_ACTION, event)
        )
        self._corrected("recovered", self.control.report(report))

    def _fail(self, rec: Container, expect: TaskGuard, reason: str) -> None:
        change = ContainerChange.failed(reason)
        report = ContainerReport(rec.uuid, change, expect, release_claim=True)
        self._corrected("failed", self.control.report(report))

    def _maybe_queued(self, rec: Container, obs: ObservedContainer | None) -> bool:
        """A young record the agent has not touched yet: its create may still be queued.

        The API stores new records in ``container_creating``; until the engine has the
        container (or a pull was reported), nothing says an agent ever started on it.
        """
        return (
            rec.task_state is TaskState.CONTAINER_CREATING
            and obs is None
            and not self._stale(rec, self.lost_create_after)
        )

    def _stale(self, rec: Container, age: dt.timedelta) -> bool:
        changed = rec.updated_at or rec.created_at
        return (
            rec.task_state is not None and changed is not None and self.clock.now() - changed > age
        )


def _listed(obs: ObservedContainer) -> dict[str, object]:
    """The fields a runtime's listing reliably reports."""
    return {
        "status": obs.status,
        "runtime_id": obs.runtime_id,
        "exit_code": obs.exit_code,
        "health": obs.health,
    }


def _failure_stands(rec: Container, obs: ObservedContainer) -> bool:
    """An operation failed and the engine still holds the never-started container.

    "Created" would hide why: the record keeps Error and its reason until the
    container really runs or exits.
    """
    return rec.status is Status.ERROR and obs.status is Status.CREATED
