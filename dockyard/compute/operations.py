"""One method per container operation, run by the agent under the container's lock.

Each operation records its progress as a task state through ControlAPI, guarded
on the task state it expects the record to hold: when another operation (a
forced delete) has taken the record over, the guard fails and this one stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence

from dockyard.compute.freshness import Freshness
from dockyard.compute.networking import HostNetworkSteps, Meanwhile
from dockyard.compute.pull_reports import ThrottledProgress
from dockyard.compute.volume_sync import HostVolumeSteps
from dockyard.domain import failpoints
from dockyard.domain.bind_files import bind_archive
from dockyard.domain.clock import Clock
from dockyard.domain.errors import (
    DockyardError,
    DriverError,
    InvalidImage,
    NotFound,
    VolumeUnsupported,
)
from dockyard.domain.image_records import PullProgress
from dockyard.domain.models import ActionEvent, Container, ContainerSpec, PullPolicy
from dockyard.domain.networks import HostNetwork
from dockyard.domain.recent import Recent
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.reports import ContainerChange, TaskGuard
from dockyard.domain.states import IN_FLIGHT, Status, TaskState
from dockyard.domain.volumes import MountRequest
from dockyard.drivers.image.base import ImageDriver
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.observability.metrics import CREATE_TO_RUNNING_SECONDS
from dockyard.rpc.api import ControlAPI
from dockyard.rpc.messages import (
    CommitContainer,
    ContainerOperation,
    ContainerReport,
    CreateContainer,
    EventReport,
    RebuildContainer,
    ResizeContainer,
)

LOG = logging.getLogger(__name__)

#: Seconds an image found on the engine is taken to be still there.
LOCAL_IMAGE_TTL = 10.0


class Interrupted(Exception):
    """The record was taken over by another operation; stop quietly."""


def _failure(exc: Exception) -> str:
    return exc.detail if isinstance(exc, DockyardError) else f"Unexpected error: {exc}"


def _local_key(image: str, driver: str) -> str:
    """What ``_seen_local`` remembers: a Glance name may look like a registry reference."""
    return image if driver == "docker" else f"{driver}:{image}"


class _Progress:
    """The task state a create has reported so far: the guard of its next report."""

    def __init__(
        self, uuid: str, task: TaskState, report: Callable[[str, TaskState, TaskState], None]
    ) -> None:
        self.uuid = uuid
        self.task = task
        self._report = report

    def step(self, task: TaskState) -> None:
        self._report(self.uuid, task, self.task)
        self.task = task


class Operations:
    def __init__(
        self,
        host: str,
        runtime: RuntimeDriver,
        images: ImageDriver,
        control: ControlAPI,
        default_stop_timeout: int,
        clock: Clock,
        freshness: Freshness | None = None,
        networks: HostNetworkSteps | None = None,
        volumes: HostVolumeSteps | None = None,
        image_drivers: Mapping[str, ImageDriver] | None = None,
    ) -> None:
        self.host = host
        self.networks = networks
        self.volumes = volumes
        self.runtime = runtime
        self.images = images
        #: The image drivers a create may name (image_driver), "docker" being ``images``.
        self.image_drivers = {**(image_drivers or {}), "docker": images}
        self.control = control
        self.default_stop_timeout = default_stop_timeout
        self.clock = clock
        self.freshness = freshness or Freshness()
        self._seen_local: Recent[str] = Recent(LOCAL_IMAGE_TTL, clock.monotonic, limit=256)

    # -- helpers -----------------------------------------------------------

    def _step(self, uuid: str, task: TaskState, expect: TaskState) -> None:
        done = self.control.report(ContainerReport(uuid, ContainerChange(task=task), expect))
        if not done:
            raise Interrupted(uuid)

    def _event_report(
        self, uuid: str, request_id: str, name: str, start: dt.datetime, error: str | None
    ) -> EventReport:
        event = ActionEvent(
            event=f"compute__do_container_{name}",
            start_time=start,
            finish_time=self.clock.now(),
            result="Error" if error else "Success",
            traceback=error,
        )
        return EventReport(uuid, request_id, event)

    def _event(
        self, uuid: str, request_id: str, name: str, start: dt.datetime, error: str | None
    ) -> None:
        self.control.record_event(self._event_report(uuid, request_id, name, start, error))

    def _settle(
        self,
        uuid: str,
        expect: TaskGuard,
        reason: str | None = None,
        event: EventReport | None = None,
    ) -> bool:
        """Record what the runtime now reports and end the task (and its action, if given).

        Returns whether the report applied (the record still held ``expect``).
        """
        self.freshness.mark(uuid)
        try:
            change = ContainerChange.observed(self.runtime.inspect(uuid), task=None, reason=reason)
        except DockyardError as exc:
            change = ContainerChange.failed(reason or exc.detail)
        return self.control.report(ContainerReport(uuid, change, expect, event=event))

    def _succeeded(self, uuid: str, expect: TaskState, event: EventReport) -> None:
        """Record what the runtime now reports, end the task and its action, without
        waiting for the control side (``ControlAPI.settle``).

        Only after an operation that succeeded and whose task the reconciliation
        repairs from the engine's view if the report is lost. Should the guard fail,
        another operation took the record over and removes the container, or the
        record is gone and the reconciliation removes it as an orphan.
        """
        self.freshness.mark(uuid)
        try:
            change = ContainerChange.observed(self.runtime.inspect(uuid), task=None)
        except DockyardError as exc:
            # Not what was asked for after all: say so, and hear whether it applied.
            self.control.report(
                ContainerReport(uuid, ContainerChange.failed(exc.detail), expect, event=event)
            )
            return
        self.control.settle(ContainerReport(uuid, change, expect, event=event))

    # -- create ------------------------------------------------------------

    def _driver(self, name: str) -> ImageDriver:
        driver = self.image_drivers.get(name)
        if driver is None:
            raise DriverError(
                f"Host {self.host} has no image driver {name!r} (its image_driver_list: "
                f"{', '.join(sorted(self.image_drivers))})."
            )
        return driver

    def _local(self, image: str, driver: str = "docker") -> bool:
        """Whether the engine has ``image``; a yes is trusted for LOCAL_IMAGE_TTL seconds.

        A burst of creates from one image then asks the engine once. An image
        removed meanwhile fails the create with the engine's 'No such image'.
        """
        key = _local_key(image, driver)
        if key in self._seen_local:
            return True
        found = self._driver(driver).exists_locally(image)
        if found:
            self._seen_local.add(key)
        return found

    def check_image(
        self, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None = None
    ) -> None:
        local = self._local(image)
        if pull_policy == PullPolicy.NEVER and not local:
            raise InvalidImage(
                f"image: {image} is not present on host {self.host} and the pull policy "
                "'never' forbids pulling it.",
                field="image",
            )
        if pull_policy == PullPolicy.ALWAYS or not local:
            self.images.check_remote(image, auth)

    def _needs_pull(self, image: str, pull_policy: PullPolicy, driver: str = "docker") -> bool:
        if driver != "docker":
            # A catalog's image is fetched once per host, whatever the policy.
            return not self._local(image, driver)
        if pull_policy == PullPolicy.ALWAYS or not self._local(image):
            if pull_policy == PullPolicy.NEVER:
                raise InvalidImage(f"Image {image} is not present and may not be pulled.")
            return True
        return False

    def _ensure_image(
        self,
        image: str,
        pull_policy: PullPolicy,
        auth: RegistryAuth | None = None,
        driver: str = "docker",
    ) -> str:
        """Fetch ``image`` with ``driver`` as the policy asks; the reference the runtime
        creates from (a Glance image's local tag: downloaded only when the host lacks it)."""
        if self._needs_pull(image, pull_policy, driver):
            self._driver(driver).pull(image, auth)
        return self._driver(driver).engine_reference(image)

    def create(self, msg: CreateContainer, received: float | None = None) -> None:
        """Pull if needed, create, start if asked, then report once.

        The API stores the record already in ``container_creating``; the pull (when
        there is one) shows as ``image_pulling``. Only the steps that change what a
        client can see are reported, and the final state travels with the action's
        event: two round trips for a ``run`` of a local image. ``received``: when the
        agent took the message (``time.monotonic()``), for the create-to-running time.
        """
        uuid, start = msg.spec.uuid, self.clock.now()
        received = time.monotonic() if received is None else received
        at = _Progress(uuid, TaskState.CONTAINER_CREATING, self._step)
        created: str | None = None
        try:
            if self._needs_pull(msg.spec.image, msg.pull_policy, msg.image_driver):
                self._pull(msg, at)
            self._prepare_volumes(msg.spec)
            with self._networks_used(msg.networks):
                spec = self._network_spec(msg)
                engine_image = self._driver(msg.image_driver).engine_reference(msg.spec.image)
                spec = dataclasses.replace(spec, image=engine_image)
                # The rules need only be in force before the start: the kernel takes
                # them while the engine makes the container.
                rules = self._rules_meanwhile(msg)
                try:
                    try:
                        created = self.runtime.create(spec)
                    except NotFound:
                        # The image was trusted from memory and is gone meanwhile: pull
                        # it as the policy allows, then create once more.
                        forgot = self._seen_local.forget(
                            _local_key(msg.spec.image, msg.image_driver)
                        )
                        if not forgot:
                            raise
                        if self._needs_pull(msg.spec.image, msg.pull_policy, msg.image_driver):
                            self._pull(msg, at)
                        created = self.runtime.create(spec)
                finally:
                    if rules is not None:
                        rules.wait()
                self._plug(created, spec, msg)
            self._inject(uuid, msg.binds)
            failpoints.hit("create.before_start", msg.spec.name, uuid)
            if msg.run:
                at.step(TaskState.CONTAINER_STARTING)
                self.runtime.start(uuid)
            failpoints.hit("create.before_report", msg.spec.name, uuid)
            event = self._event_report(uuid, msg.request_id, "create", start, None)
            if msg.run:
                # Started: a lost report leaves container_starting, which the
                # reconciliation ends from the engine's view once stuck.
                self._succeeded(uuid, TaskState.CONTAINER_STARTING, event)
            elif not self._settle(uuid, at.task, event=event):
                # Created only: the record may have been ended meanwhile (a down host's
                # create is failed by the conductor), and then what was made must go.
                raise Interrupted(uuid)
            if msg.run:
                CREATE_TO_RUNNING_SECONDS.labels(self.host).observe(time.monotonic() - received)
            LOG.info("created container %s on host %s (run: %s)", uuid, self.host, msg.run)
        except Interrupted:
            LOG.info("create of %s was superseded by another operation", uuid)
            self._abandon(uuid)
        except Exception as exc:
            LOG.warning("create of %s failed: %s", uuid, exc)
            if created is not None and self.networks is not None:
                self.networks.unplug(created, msg.ports)
            if created is not None and msg.spec.volumes:
                # It would hold its volumes: the ones this create made must go with it.
                with contextlib.suppress(DockyardError):
                    self.runtime.remove(uuid, force=True)
            change = ContainerChange.failed(_failure(exc))
            if at.task == TaskState.IMAGE_PULLING:
                change = dataclasses.replace(change, detail="")
            event = self._event_report(
                uuid, msg.request_id, "create", start, traceback.format_exc()
            )
            # Releasing the claim gives the ports back too; then their rules go.
            self.control.report(
                ContainerReport(uuid, change, at.task, release_claim=True, event=event)
            )
            if msg.ports and self.networks is not None:
                self.networks.refresh_firewall()
            if msg.spec.volumes:
                # The control side marked the volumes it made for removal: remove them now.
                self._sync_volumes()

    def _prepare_volumes(self, spec: ContainerSpec) -> None:
        """Realise the container's volumes (never formatting existing data) before it exists."""
        if not spec.volumes:
            return
        if self.volumes is None:
            raise VolumeUnsupported(
                f"mounts: host {self.host} has no volume support configured.", field="mounts"
            )
        self.volumes.prepare(spec.volumes)

    def _inject(self, uuid: str, binds: Sequence[MountRequest]) -> None:
        """Write the create's ``bind`` files into the container before it starts."""
        archive = bind_archive(binds, self.clock.now().timestamp())
        if archive is not None:
            self.runtime.put_archive(uuid, "/", archive)

    def _sync_volumes(self) -> None:
        if self.volumes is None:
            return
        try:
            self.volumes.sync()
        except DockyardError as exc:
            LOG.warning("volume pass of host %s failed: %s", self.host, exc.detail)

    def _networks_used(
        self, networks: Sequence[HostNetwork]
    ) -> contextlib.AbstractContextManager[None]:
        if self.networks is None:
            return contextlib.nullcontext()
        return self.networks.using(n.network_id for n in networks)

    def _network_spec(self, msg: CreateContainer) -> ContainerSpec:
        """The spec to create: on the first port's network, realised here first."""
        if not msg.ports:
            return msg.spec
        if self.networks is None:
            # Created on the engine's default bridge it would have none of its addresses
            # and none of its rules: refuse rather than pretend.
            raise DriverError(
                f"Host {self.host} cannot plug containers into networks (no nft command)."
            )
        return self.networks.prepare(msg.spec, msg.networks, msg.ports)

    def _rules_meanwhile(self, msg: CreateContainer) -> Meanwhile | None:
        if self.networks is None or not msg.ports:
            return None
        return self.networks.enforce_meanwhile(msg.firewall)

    def _plug(self, container: str, spec: ContainerSpec, msg: CreateContainer) -> None:
        """Connect the other ports, before the process starts (the rules are in place)."""
        if self.networks is None or not msg.ports:
            return
        self.networks.plug_rest(container, spec, msg.networks, msg.ports)

    def _pull(self, msg: CreateContainer, at: _Progress) -> None:
        """Pull the create's image, showing ``image_pulling`` meanwhile."""
        at.step(TaskState.IMAGE_PULLING)
        failpoints.hit("create.pulling", msg.spec.name, msg.spec.uuid)
        uuid = msg.spec.uuid

        def show(progress: PullProgress) -> None:
            change = ContainerChange(detail=progress.describe())
            self.control.report(ContainerReport(uuid, change, TaskState.IMAGE_PULLING))

        shown = ThrottledProgress(show, self.clock.monotonic)
        self._driver(msg.image_driver).pull(msg.spec.image, msg.auth, shown)
        shown.flush()
        at.step(TaskState.CONTAINER_CREATING)

    def _abandon(self, uuid: str) -> None:
        """Remove what a superseded create made, unless another operation will or the
        record stands for it.

        A delete that took the record over removes the engine container itself;
        a record that was ended meanwhile (failed by recovery, or gone) has nobody
        else to do it. A record that settled without this create (the same create
        delivered twice; recovery that adopted the engine's state) describes this
        very container, which must stay.
        """
        record = self.control.container(uuid)
        if record is not None and (record.task_state is not None or record.status != Status.ERROR):
            return
        with contextlib.suppress(NotFound):
            self.runtime.remove(uuid, force=True)

    # -- lifecycle -----------------------------------------------------------

    def operate(self, msg: ContainerOperation) -> None:
        handler: Callable[[ContainerOperation], None] = getattr(self, f"_do_{msg.operation}")
        task = IN_FLIGHT[msg.operation][0]
        start = self.clock.now()
        try:
            handler(msg)
        except Interrupted:
            return
        except Exception as exc:
            LOG.warning("%s of %s failed: %s", msg.operation, msg.uuid, exc)
            error = traceback.format_exc()
            event = self._event_report(msg.uuid, msg.request_id, msg.operation, start, error)
            reason = f"{msg.operation} failed: {_failure(exc)}"
            self._settle(msg.uuid, task, reason=reason, event=event)
            return
        if msg.operation != "delete":
            event = self._event_report(msg.uuid, msg.request_id, msg.operation, start, None)
            self._succeeded(msg.uuid, task, event)
        # A delete's action log went with the record: there is nothing to add an event to.

    def _timeout(self, msg: ContainerOperation) -> int:
        return self.default_stop_timeout if msg.timeout is None else msg.timeout

    def _do_start(self, msg: ContainerOperation) -> None:
        self.runtime.start(msg.uuid)

    def _do_stop(self, msg: ContainerOperation) -> None:
        failpoints.hit("stop", msg.uuid)
        self.runtime.stop(msg.uuid, self._timeout(msg))

    def _do_reboot(self, msg: ContainerOperation) -> None:
        self.runtime.restart(msg.uuid, self._timeout(msg))

    def _do_pause(self, msg: ContainerOperation) -> None:
        self.runtime.pause(msg.uuid)

    def _do_unpause(self, msg: ContainerOperation) -> None:
        self.runtime.unpause(msg.uuid)

    def _do_kill(self, msg: ContainerOperation) -> None:
        self.runtime.kill(msg.uuid, msg.signal)

    # -- networks and security groups (the record holds the outcome already) --

    def _do_network_attach(self, msg: ContainerOperation) -> None:
        assert msg.network_id is not None
        networks, record = self._networked(msg.uuid)
        runtime_id = self.runtime.inspect(msg.uuid).runtime_id
        try:
            networks.attach_recorded(runtime_id, record, msg.network_id)
        except Exception:
            # Nothing stays half-made: the port goes, and its rules with it.
            self.control.network_detached(msg.uuid, msg.network_id)
            networks.refresh_firewall()
            raise

    def _do_network_detach(self, msg: ContainerOperation) -> None:
        assert msg.network_id is not None
        networks, _ = self._networked(msg.uuid)
        networks.networking.unplug(self.runtime.inspect(msg.uuid).runtime_id, msg.network_id)
        self.control.network_detached(msg.uuid, msg.network_id)
        networks.apply_current()

    def _do_add_security_group(self, msg: ContainerOperation) -> None:
        if self.networks is not None:
            self.networks.apply_current()

    _do_remove_security_group = _do_add_security_group

    def _networked(self, uuid: str) -> tuple[HostNetworkSteps, Container]:
        if self.networks is None:
            raise DriverError(f"Host {self.host} cannot plug containers into networks.")
        record = self.control.container(uuid)
        if record is None:
            raise NotFound(f"Container {uuid} has no record any more.")
        return self.networks, record

    def _do_delete(self, msg: ContainerOperation) -> None:
        failpoints.hit("delete", msg.uuid)
        if msg.stop_first:
            self.runtime.stop(msg.uuid, self._timeout(msg))
        self.runtime.remove(msg.uuid, force=msg.force)
        self.freshness.mark(msg.uuid)
        if self.networks is not None:
            # The container took its engine attachments along; its rules go before the
            # record does, so a delete seen done has no rule left.
            self.networks.forget_rules_of(msg.uuid)
        self.control.container_removed(msg.uuid)
        if self.networks is not None:
            # Anything else that changed meanwhile (usually nothing: then no write).
            self.networks.refresh_firewall()
        # The volumes it made are now marked for removal, and nothing uses them.
        self._sync_volumes()

    # -- resources, images ---------------------------------------------------

    def resize(self, msg: ResizeContainer) -> None:
        """Apply new limits, then move the claim; undo the limits when the host lacks room."""
        try:
            self.runtime.update_limits(msg.uuid, msg.cpu, msg.memory_mib)
            try:
                self.control.resize_claim(msg.uuid, msg.cpu, msg.memory_mib)
            except DockyardError:
                self.runtime.update_limits(msg.uuid, msg.previous_cpu, msg.previous_memory_mib)
                raise
        except Exception as exc:
            LOG.warning("resize of %s failed: %s", msg.uuid, exc)
            change = ContainerChange(reason=f"resize_container failed: {_failure(exc)}")
            self.control.report(ContainerReport(msg.uuid, change))

    def commit(self, msg: CommitContainer) -> str:
        start = self.clock.now()
        try:
            image_id = self.runtime.commit(msg.uuid, msg.repository, msg.tag)
            image_id = self._driver(msg.image_driver).publish(image_id, msg.repository, msg.tag)
        except Exception:
            self._event(msg.uuid, msg.request_id, "commit", start, traceback.format_exc())
            raise
        self._event(msg.uuid, msg.request_id, "commit", start, None)
        return image_id

    def rebuild(self, msg: RebuildContainer) -> None:
        uuid, start = msg.spec.uuid, self.clock.now()
        task = TaskState.CONTAINER_REBUILDING
        try:
            image = self._ensure_image(msg.spec.image, msg.pull_policy, msg.auth, msg.image_driver)
            self._prepare_volumes(msg.spec)
            self.runtime.remove(uuid, force=True)
            spec = dataclasses.replace(msg.spec, image=image)
            with self._networks_used([HostNetwork(p.network_id, ()) for p in msg.ports]):
                if self.networks is not None and msg.ports:
                    spec = self.networks.prepare(spec, (), msg.ports)
                created = self.runtime.create(spec)
                if self.networks is not None and msg.ports:
                    self.networks.replug(created, spec, msg.ports)
            self._inject(uuid, msg.binds)
            if msg.run:
                self.runtime.start(uuid)
        except Exception as exc:
            LOG.warning("rebuild of %s failed: %s", uuid, exc)
            change = ContainerChange.failed(f"rebuild failed: {_failure(exc)}")
            error = traceback.format_exc()
            event = self._event_report(uuid, msg.request_id, "rebuild", start, error)
            self.control.report(ContainerReport(uuid, change, task, event=event))
            return
        self._succeeded(
            uuid, task, self._event_report(uuid, msg.request_id, "rebuild", start, None)
        )
