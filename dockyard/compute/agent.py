"""The per-host agent: runs operations on a bounded pool and keeps records true."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from dockyard.compute.console_host import HostConsole
from dockyard.compute.freshness import Freshness
from dockyard.compute.host_claim import HostClaim, this_process
from dockyard.compute.image_gc import ImageCollector
from dockyard.compute.image_operations import ImageOperations
from dockyard.compute.networking import HostNetworkSteps
from dockyard.compute.operations import Operations
from dockyard.compute.patient_control import PatientControl
from dockyard.compute.reconcile import Reconciler
from dockyard.compute.resources import inventory
from dockyard.compute.volume_sync import HostVolumeSteps
from dockyard.compute.watch import EventWatcher
from dockyard.config.compute import ComputeConfig
from dockyard.config.docker import DockerConfig
from dockyard.config.websocket_proxy import WebsocketProxyConfig
from dockyard.domain import failpoints
from dockyard.domain.clock import Clock
from dockyard.domain.container_request import PullPolicy
from dockyard.domain.errors import DockyardError, InvalidInput, ServiceBusy
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.models import Archive, ExecResult, LogOptions, ProcessTable, StatsSnapshot
from dockyard.domain.networks import TUNNEL_ADDRESS
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.volumes import VOLUMES_UNSUPPORTED
from dockyard.drivers.image.base import ImageDriver
from dockyard.drivers.network.base import HostNetworking
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.drivers.volume.base import VolumeHost
from dockyard.observability import metrics
from dockyard.observability.context import RequestScope, bound, current
from dockyard.rpc.api import ControlAPI
from dockyard.rpc.messages import (
    CONSOLE_URL,
    CommitContainer,
    ContainerOperation,
    CreateContainer,
    HostReport,
    PullImage,
    RebuildContainer,
    ResizeContainer,
)

LOG = logging.getLogger(__name__)


class KeyedLocks:
    """One lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class ComputeAgent:
    def __init__(
        self,
        host: str,
        runtime: RuntimeDriver,
        images: ImageDriver,
        control: ControlAPI,
        compute: ComputeConfig,
        docker: DockerConfig,
        clock: Clock,
        console: WebsocketProxyConfig | None = None,
        *,
        installation: str,
        description: str = "a Dockyard agent",
        networking: HostNetworking | None = None,
        volumes: VolumeHost | None = None,
        image_drivers: Mapping[str, ImageDriver] | None = None,
    ) -> None:
        self.host = host
        self.installation = installation
        self.runtime = runtime
        self.control = control = PatientControl(control)
        self.cfg = compute
        #: A live agent renews within two heartbeats; a third missed one means it is gone.
        self.claim = HostClaim(
            control, this_process(host, description), stale_after=3 * compute.heartbeat_interval
        )
        self.execute_timeout = docker.execute_timeout
        self.max_archive_size = compute.max_archive_size
        self.freshness = Freshness()
        self.image_gc = ImageCollector(host, images, control, clock, compute)
        images = self.image_gc.watch(images)
        self.networks = None if networking is None else HostNetworkSteps(host, networking, control)
        self.volumes = None if volumes is None else HostVolumeSteps(host, volumes, control, runtime)
        self.ops = Operations(
            host,
            runtime,
            images,
            control,
            docker.default_stop_timeout,
            clock,
            self.freshness,
            networks=self.networks,
            volumes=self.volumes,
            image_drivers=image_drivers,
        )
        self.image_ops = ImageOperations(host, images, control, clock, self.image_gc.notes)
        self.reconciler = Reconciler(
            host,
            runtime,
            control,
            clock,
            installation=installation,
            busy=self._busy_uuids,
            lost_create_after=dt.timedelta(seconds=compute.lost_create_after),
            stuck_task_after=dt.timedelta(seconds=compute.stuck_task_after),
            networks=self.networks,
            volumes=self.volumes,
        )
        self.watcher = EventWatcher(
            host, runtime, self.reconciler, self.freshness, busy=self._is_busy
        )
        self._pool = ThreadPoolExecutor(compute.workers, thread_name_prefix=f"agent-{host}")
        self._slots = threading.BoundedSemaphore(compute.workers + compute.queue_size)
        self._locks = KeyedLocks()
        self._in_flight = 0
        self._busy: Counter[str] = Counter()
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        #: Why this host cannot provide volumes ("" when it can); checked once, at start.
        self._volume_support = "" if self.volumes is None else self.volumes.unsupported()
        self._loop: threading.Thread | None = None
        self._heartbeat: threading.Thread | None = None
        #: The console proxy serving attach and interactive exec sessions of this host.
        self.console = (
            HostConsole(console, runtime, control) if console and console.enabled else None
        )

    # -- lifecycle of the agent itself -------------------------------------

    def start(self) -> None:
        """Register the host, finish what a crash interrupted, start the periodic loops.

        Raises ``HostInUse`` when another live agent of this installation serves the host.
        """
        self.claim.take()
        metrics.RECONCILE_CLOCK.started(self.host)
        metrics.AGENT_QUEUE_DEPTH.labels(self.host).set(0)
        if self.console is not None:
            self.console.start()
        self.report_host()
        self._heartbeat = threading.Thread(
            target=self._heartbeats, name=f"heartbeat-{self.host}", daemon=True
        )
        self._heartbeat.start()
        self.watcher.start()
        self.reconciler.run(after_restart=True)
        self._sync_images()
        self._loop = threading.Thread(target=self._periodic, name=f"sync-{self.host}", daemon=True)
        self._loop.start()

    def report_host(self) -> None:
        info = self.runtime.host_info()
        inv = inventory(info, self.cfg)
        if self.console is not None and (url := self.console.url) is not None:
            inv["info"][CONSOLE_URL] = url
        inv["info"][VOLUMES_UNSUPPORTED] = (
            "no volume support is configured" if self.volumes is None else self._volume_support
        )
        if self.networks is not None and (address := self.networks.networking.tunnel_address):
            inv["info"][TUNNEL_ADDRESS] = address
        self.control.report_host(HostReport(self.host, inv))

    def _heartbeats(self) -> None:
        """Report the host every heartbeat_interval, independently of reconciliation."""
        while not self._stopping.wait(self.cfg.heartbeat_interval):
            began = time.monotonic()
            try:
                self.report_host()
                self.claim.renew()
            except Exception:
                LOG.exception("heartbeat of host %s failed", self.host)
            took = time.monotonic() - began
            if took > self.cfg.heartbeat_interval:
                # Late heartbeats make the control side think the host is down.
                LOG.warning("heartbeat of host %s took %.1f s", self.host, took)

    def _periodic(self) -> None:
        while not self._stopping.wait(self.cfg.sync_interval):
            try:
                self.reconciler.run()
            except Exception:
                LOG.exception("periodic sync of host %s failed", self.host)
            self._sync_images()
            self._collect_images()

    def _sync_images(self) -> None:
        try:
            self.image_ops.sync()
        except Exception:
            LOG.exception("image sync of host %s failed", self.host)

    def _collect_images(self) -> None:
        try:
            removed = self.image_gc.run_if_due()
        except Exception:
            LOG.exception("image garbage collection of host %s failed", self.host)
            return
        if removed:
            # Their records go now rather than at the next sync.
            self._sync_images()

    def stop(self, timeout: float) -> bool:
        """Refuse new work, then wait up to ``timeout`` s for running operations.

        Returns whether every operation finished.
        """
        self._stopping.set()
        self.watcher.stop()
        if self.console is not None:
            self.console.stop()
        with self._idle:
            finished = self._idle.wait_for(lambda: self._in_flight == 0, timeout)
        self._pool.shutdown(wait=finished, cancel_futures=True)
        try:
            self.claim.release()
        except Exception:
            # Not given back, the claim lapses after a few heartbeats anyway.
            LOG.warning("could not release host %s", self.host, exc_info=True)
        return finished

    # -- ComputeAPIEndpoint ------------------------------------------------

    def create(self, message: CreateContainer) -> None:
        self.image_gc.note_use(message.spec.image)
        create = functools.partial(self.ops.create, received=time.monotonic())
        self._submit(message.spec.uuid, create, message)

    def operate(self, message: ContainerOperation) -> None:
        self._submit(message.uuid, self.ops.operate, message)

    def check_image(self, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None) -> None:
        self.ops.check_image(image, pull_policy, auth)

    def logs(self, uuid: str, options: LogOptions) -> str:
        return self.runtime.logs(uuid, options)

    def execute(self, uuid: str, command: Sequence[str]) -> ExecResult:
        return self.runtime.execute(uuid, command, self.execute_timeout)

    def update_limits(self, uuid: str, cpu: float, memory_mib: int) -> None:
        self.runtime.update_limits(uuid, cpu, memory_mib)

    def resize(self, message: ResizeContainer) -> None:
        self._submit(message.uuid, self.ops.resize, message)

    def rebuild(self, message: RebuildContainer) -> None:
        self.image_gc.note_use(message.spec.image)
        self._submit(message.spec.uuid, self.ops.rebuild, message)

    def commit(self, message: CommitContainer) -> str:
        # A call (the caller needs the image id), yet never alongside another operation on it.
        with self._locks.hold(message.uuid):
            return self.ops.commit(message)

    def top(self, uuid: str, ps_args: str | None) -> ProcessTable:
        return self.runtime.top(uuid, ps_args)

    def stats(self, uuid: str) -> StatsSnapshot:
        return self.runtime.stats(uuid)

    def get_archive(self, uuid: str, path: str) -> Archive:
        return self.runtime.get_archive(uuid, path, self.max_archive_size)

    def put_archive(self, uuid: str, path: str, data: bytes) -> None:
        self.runtime.put_archive(uuid, path, data)

    def exec_session(self, uuid: str, command: Sequence[str], tty: bool) -> str:
        return self.runtime.exec_session(uuid, command, tty)

    def exec_resize(self, uuid: str, exec_id: str, height: int, width: int) -> None:
        self.runtime.exec_resize(uuid, exec_id, height, width)

    def resize_tty(self, uuid: str, height: int, width: int) -> None:
        self.runtime.resize_tty(uuid, height, width)

    def pull_image(self, message: PullImage) -> None:
        self._submit(f"image:{message.uuid}", self.image_ops.pull, message)

    def remove_image(self, reference: str) -> None:
        self.image_ops.remove(reference)

    def search_images(
        self, term: str, exact: bool, auth: RegistryAuth | None
    ) -> list[dict[str, Any]]:
        return self.image_ops.search(term, exact, auth)

    def apply_firewall(self, firewall: HostFirewall) -> None:
        failpoints.hit("rules", self.host)
        self._networks().enforce(firewall)

    def networks_changed(self) -> None:
        if self.networks is not None:
            self.networks.rejoin()

    def _networks(self) -> HostNetworkSteps:
        if self.networks is None:
            raise InvalidInput(f"Host {self.host} has no networking configured.")
        return self.networks

    # -- internals ---------------------------------------------------------

    def _submit(self, uuid: str, fn: Callable[[Any], None], message: Any) -> None:
        if self._stopping.is_set():
            metrics.AGENT_REJECTED.labels(self.host).inc()
            raise ServiceBusy(f"The agent of host {self.host} is shutting down.")
        if not self._slots.acquire(blocking=False):
            metrics.AGENT_REJECTED.labels(self.host).inc()
            raise ServiceBusy(f"The agent of host {self.host} is busy; try again shortly.")
        with self._idle:
            self._in_flight += 1
            self._busy[uuid] += 1
        metrics.AGENT_QUEUE_DEPTH.labels(self.host).inc()
        # The worker logs for the request that asked: the caller's scope when it came in
        # process or over RPC with one, else the request id the message carries.
        scope = current() or RequestScope(str(getattr(message, "request_id", "")))
        try:
            future = self._pool.submit(self._run, uuid, fn, message, scope)
            future.add_done_callback(lambda f: self._done(uuid) if f.cancelled() else None)
        except RuntimeError as exc:
            self._done(uuid)
            raise ServiceBusy(f"The agent of host {self.host} is shutting down.") from exc

    def _run(self, uuid: str, fn: Callable[[Any], None], message: Any, scope: RequestScope) -> None:
        try:
            with bound(scope if scope.request_id else None), self._locks.hold(uuid):
                fn(message)
        except DockyardError as exc:
            LOG.warning("operation on %s failed: %s", uuid, exc)
        except Exception:
            LOG.exception("operation on %s crashed", uuid)
        finally:
            self._done(uuid)

    def _done(self, uuid: str) -> None:
        self._slots.release()
        metrics.AGENT_QUEUE_DEPTH.labels(self.host).dec()
        with self._idle:
            self._in_flight -= 1
            self._busy[uuid] -= 1
            if self._busy[uuid] <= 0:
                del self._busy[uuid]
            self._idle.notify_all()

    def _is_busy(self, uuid: str) -> bool:
        with self._idle:
            return uuid in self._busy

    def _busy_uuids(self) -> frozenset[str]:
        """Containers with an operation queued or running on this agent."""
        with self._idle:
            return frozenset(self._busy)
