"""Every Prometheus metric Dockyard exports, in the process's default registry.

One registry per process: in `dockyard up` the API's ``/metrics`` therefore shows
the agent's metrics too. Labels are bounded: route templates (never raw paths),
statuses, host names, method names and outcome kinds. docs/operations.md lists
each metric and what it means.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

T = TypeVar("T")
LOG = logging.getLogger(__name__)

#: Buckets for calls that take milliseconds to tens of seconds (requests, engine calls).
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Buckets for a create, which may include an image pull.
CREATE_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)

API_REQUEST_SECONDS = Histogram(
    "dockyard_api_request_duration_seconds",
    "Time the API took to answer a request, by route template, method and status code.",
    ["method", "route", "status"],
    buckets=CALL_BUCKETS,
)
CREATE_TO_RUNNING_SECONDS = Histogram(
    "dockyard_container_create_to_running_seconds",
    "Time from an agent receiving a create with run=true to its report of the "
    "started container (queueing, pull, create and start).",
    ["host"],
    buckets=CREATE_BUCKETS,
)
RECONCILE_SECONDS = Histogram(
    "dockyard_reconcile_duration_seconds",
    "Time one reconciliation pass of an agent took.",
    ["host"],
    buckets=CALL_BUCKETS,
)
RECONCILE_CORRECTIONS = Counter(
    "dockyard_reconcile_corrections",
    "Records a reconciliation (periodic or after an engine event) changed, or engine "
    "objects it removed, by kind.",
    ["host", "kind"],
)
RPC_ERRORS = Counter(
    "dockyard_rpc_errors",
    "RPC calls and casts that failed, by method and kind of failure.",
    ["method", "kind"],
)
RPC_RETRIES = Counter(
    "dockyard_rpc_retries",
    "Reports an agent sent again after its conductor or broker was unavailable.",
    ["method"],
)
AGENT_QUEUE_DEPTH = Gauge(
    "dockyard_agent_operations",
    "Container operations an agent holds, queued or running on its workers.",
    ["host"],
)
GLANCE_DOWNLOADS = Counter(
    "dockyard_glance_image_downloads",
    "Glance images an agent downloaded (a create from an image the host already loaded "
    "downloads nothing).",
    ["host"],
)
AGENT_REJECTED = Counter(
    "dockyard_agent_operations_rejected",
    "Operations an agent refused (503) because its workers and queue were full or it was stopping.",
    ["host"],
)
IMAGE_GC_REMOVED = Counter(
    "dockyard_image_gc_removed_images",
    "Images an agent's image garbage collection removed from its engine.",
    ["host"],
)
IMAGE_GC_FREED = Counter(
    "dockyard_image_gc_removed_bytes",
    "Bytes of the images an agent's image garbage collection removed (the engine's sizes).",
    ["host"],
)
ENGINE_CALL_SECONDS = Histogram(
    "dockyard_engine_call_duration_seconds",
    "Time a call of a runtime or image driver (the container engine) took, by driver, "
    "method and outcome (ok or error).",
    ["driver", "method", "outcome"],
    buckets=CALL_BUCKETS,
)
STATE_CHANGES = Counter(
    "dockyard_container_state_changes",
    "Container records changed in status or task state (each is an audit line), by "
    "the status they were given ('-' when only the task changed; 'Deleted' when removed).",
    ["status"],
)

_RECONCILE_LAG = Gauge(
    "dockyard_reconcile_lag_seconds",
    "Seconds since an agent last finished a reconciliation pass (it should stay below "
    "[compute] sync_interval plus the pass's duration).",
    ["host"],
)


class ReconcileClock:
    """When each host's agent last finished a pass; read at scrape time as the lag."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def started(self, host: str) -> None:
        """The agent of ``host`` runs: its lag counts from now until a pass finishes."""
        with self._lock:
            self._last.setdefault(host, self._clock())
        _RECONCILE_LAG.labels(host).set_function(lambda: self.lag(host))

    def finished(self, host: str) -> None:
        with self._lock:
            self._last[host] = self._clock()

    def lag(self, host: str) -> float:
        with self._lock:
            last = self._last.get(host)
        return 0.0 if last is None else self._clock() - last


RECONCILE_CLOCK = ReconcileClock()

#: Counts of container records by (host, status), read from the database at scrape.
CountSource = Callable[[], Iterable[tuple[str, str, int]]]


class _ContainerCounts(Collector):
    """``dockyard_containers``: one query per scrape, in processes that hold the database."""

    def __init__(self) -> None:
        self.source: CountSource | None = None

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "dockyard_containers",
            "Container records by host and status, counted in the database at scrape time.",
            labels=["host", "status"],
        )
        source = self.source
        if source is not None:
            try:
                counts = list(source())
            except Exception:
                # A database outage must not take the rest of the scrape with it: the
                # series go missing (Prometheus shows the gap) and the log says why.
                LOG.warning("could not count containers for /metrics", exc_info=True)
                counts = []
            for host, status, count in counts:
                family.add_metric([host or "", status], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        # Describing without collecting keeps registration from querying the database.
        yield GaugeMetricFamily("dockyard_containers", "", labels=["host", "status"])


_CONTAINER_COUNTS = _ContainerCounts()
REGISTRY.register(_CONTAINER_COUNTS)


def count_containers_with(source: CountSource | None) -> None:
    """Read ``dockyard_containers`` from ``source`` (the last process part to set it wins)."""
    _CONTAINER_COUNTS.source = source


def timed(histogram: Histogram, fn: Callable[..., T], *labels: str) -> Callable[..., T]:
    """``fn``, observing each call's duration with ``labels`` plus its outcome (ok|error)."""

    def call(*args: object, **kwargs: object) -> T:
        began = time.perf_counter()
        outcome = "error"
        try:
            result = fn(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            histogram.labels(*labels, outcome).observe(time.perf_counter() - began)

    call.__name__ = getattr(fn, "__name__", "call")
    call.__doc__ = fn.__doc__
    return call
