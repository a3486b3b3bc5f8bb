"""A bounded soak of the cloud shape: a population of containers over three hosts kept
under create/stop/start/delete churn, watching every Dockyard process for leaks.

Usage: ``.venv/bin/python -m bench.soak [--containers 500] [--minutes 10] [--clients 16]``
(needs ``scripts/ensure-engines.sh 2``, RabbitMQ and PostgreSQL; not part of the tests).
Starts the three-host cluster of ``tests/support/cluster.py`` (as ``bench/cluster.py``
does), creates ``--containers`` running containers, then for ``--minutes`` has
``--clients`` threads create, stop, start and delete containers, keeping the population
within 5% of ``--containers``. Every client waits for each change with the API's waiting
GET (``If-None-Match`` + ``Prefer: wait``).

Each Dockyard process's RSS and open file descriptors are read from ``/proc`` after
``--warmup`` minutes of churn (2 by default: a process's database pool opens connections
on demand, up to ``[database] max_pool_size``, and the churn's peaks take a minute or two
to reach that) and at the end, still under churn (descriptors: the least of three counts
0.5 s apart); each must be within ``--tolerance``
(10%) of its warm-up value. At every reading each process's descriptors are also sorted
by what they reach (bench/procfs.py), and its database connections must stay within its
pool's bound (``max_pool_size + max_overflow``). At the end every record is compared
with its engine container: status against engine state, host against the engine it is
on, no engine container without a record, no record without an engine container unless
it is in Error. Errors seen by clients are counted per operation. Prints a table, writes
``bench/out/soak-<timestamp>.json`` and exits 1 when a check fails. Every container the
soak made is removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import docker

from bench import heap
from bench.clients import COMMAND, CPU, IMAGE, MEMORY_MIB, MICROVERSION, WAIT, waiting_headers
from bench.cluster import KeepAlive, log
from bench.procfs import fd_change, fd_kinds
from bench.stats import summarize
from dockyard.config.database import DatabaseConfig
from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_HOST
from dockyard.domain.states import from_engine
from tests.support.cluster import DEFAULT_HOSTS, Cluster, HostSpec, running_cluster

OUT_DIR = Path(__file__).parent / "out"
#: Seconds one operation may take, from the request to the state it waits for.
OP_TIMEOUT = 180.0
#: The population is steered back when it strays further than this from the target.
BAND = 0.05
#: The project network's prefix: room for twice the default population (2046 addresses).
NETWORK_PREFIX = 21
#: The most database connections a process may hold: its pool and the pool's overflow
#: (the cluster runs with the defaults of [database]).
POOL_BOUND = DatabaseConfig("").max_pool_size + DatabaseConfig("").max_overflow
#: How bench/procfs.py names a connection to PostgreSQL.
DATABASE_KIND = "tcp -> :5432"


# -- processes ---------------------------------------------------------------------------


def dockyard_pids(cluster: Cluster) -> dict[str, int]:
    """Every Dockyard process of the cluster, by a short name.

    Their children are short-lived helpers (gone between two readings), not counted.
    """
    found: dict[str, int] = {}
    for key, proc in cluster.processes.items():
        if proc.popen is None or proc.popen.poll() is not None:
            continue
        name = key.replace(f"mh-{cluster.run_id}-", "agent-")
        found[name] = proc.popen.pid
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int, readings: int = 3, apart: float = 0.5) -> int:
    """The least of a few counts ``apart`` seconds apart: descriptors an operation holds
    for a moment (a helper's pipes, an engine call's socket) are not what leaks."""
    counts = []
    for index in range(readings):
        if index:
            time.sleep(apart)
        counts.append(len(os.listdir(f"/proc/{pid}/fd")))
    return min(counts)


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@dataclass(frozen=True)
class Sample:
    """One reading of every watched process and the machine."""

    label: str
    at_seconds: float
    population: int
    loadavg: tuple[float, float, float]
    rss_kib: dict[str, int]
    fds: dict[str, int]
    threads: dict[str, int]
    #: Each process's descriptors by what they reach (bench/procfs.py).
    fd_kinds: dict[str, dict[str, int]] = field(default_factory=dict)


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


# -- the population ----------------------------------------------------------------------


@dataclass
class Population:
    """The containers the clients know of: idle ones by status, and those in use."""

    target: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: dict[str, str] = field(default_factory=dict)  # uuid -> Running / Stopped
    busy: set[str] = field(default_factory=set)
    creating: int = 0

    def size(self) -> int:
        with self.lock:
            return len(self.idle) + len(self.busy) + self.creating

    def choose(self, rng: random.Random) -> tuple[str, str | None]:
        """The next operation (create, delete, stop, start) and the container it takes."""
        with self.lock:
            size = len(self.idle) + len(self.busy) + self.creating
            if size < self.target * (1 - BAND):
                wanted = "create"
            elif size > self.target * (1 + BAND):
                wanted = "delete"
            else:
                wanted = rng.choice(("create", "delete", "stop", "start"))
            if wanted == "create":
                self.creating += 1
                return "create", None
            running = [u for u, s in self.idle.items() if s == "Running"]
            stopped = [u for u, s in self.idle.items() if s in ("Stopped", "Created")]
            if wanted == "start" and not stopped:
                wanted = "stop"
            if wanted == "stop" and not running:
                wanted = "start" if stopped else "create"
            if wanted == "create":
                self.creating += 1
                return "create", None
            pool = {"stop": running, "start": stopped}.get(wanted, list(self.idle))
            if not pool:
                self.creating += 1
                return "create", None
            ident = rng.choice(pool)
            del self.idle[ident]
            self.busy.add(ident)
            return wanted, ident

    def created(self, ident: str | None, status: str | None) -> None:
        with self.lock:
            self.creating -= 1
            if ident is not None and status is not None:
                self.idle[ident] = status

    def release(self, ident: str, status: str | None) -> None:
        """Give ``ident`` back with its new status; None when it is gone."""
        with self.lock:
            self.busy.discard(ident)
            if status is not None:
                self.idle[ident] = status


# -- clients -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients did and saw, shared by every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    done: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def ok(self, op: str, seconds: float) -> None:
        with self.lock:
            self.done[op] += 1
            self.seconds[op].append(seconds)

    def error(self, op: str, what: str) -> None:
        with self.lock:
            self.errors[op] += 1
            if len(self.examples[op]) < 5:
                self.examples[op].append(what[:300])


class Failed(Exception):
    """An operation answered or ended other than as asked."""


def wait_for(
    http: KeepAlive, ident: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """Wait for the record to satisfy ``done`` (or Error); None once it answers 404."""
    deadline = time.monotonic() + OP_TIMEOUT
    etag = None
    while time.monotonic() < deadline:
        status, shown, etag = http.tagged(
            "GET", f"/v1/containers/{ident}", None, waiting_headers(etag, WAIT)
        )
        if status == 304:
            continue
        if status == 404:
            return None
        if status != 200:
            raise Failed(f"GET answered {status}: {str(shown)[:200]}")
        if shown["status"] == "Error" or done(shown):
            return dict(shown)
    raise Failed(f"timeout after {OP_TIMEOUT:g} s")


def settled_in(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda shown: shown["status"] == status and shown["task_state"] is None


def create(http: KeepAlive) -> tuple[str, str, str]:
    """Create and run a container; its uuid, settled status and status reason."""
    body = {"image": IMAGE, "command": COMMAND, "memory": MEMORY_MIB, "cpu": CPU}
    status, created = http.call("POST", "/v1/containers?run=true", body)
    if status != 202:
        raise Failed(f"POST answered {status}: {str(created)[:200]}")
    ident = str(created["uuid"])
    shown = wait_for(http, ident, settled_in("Running"))
    if shown is None:
        raise Failed(f"{ident} vanished while being created")
    return ident, str(shown["status"]), str(shown.get("status_reason"))


def action(http: KeepAlive, ident: str, name: str, status: str) -> str:
    answer, body = http.call("POST", f"/v1/containers/{ident}/{name}")
    if answer != 202:
        raise Failed(f"{name} answered {answer}: {str(body)[:200]}")
    shown = wait_for(http, ident, settled_in(status))
    if shown is None:
        raise Failed(f"{ident} vanished during {name}")
    return str(shown["status"])


def delete(http: KeepAlive, ident: str) -> None:
    answer, body = http.call("DELETE", f"/v1/containers/{ident}?force=true")
    if answer not in (204, 404):
        raise Failed(f"DELETE answered {answer}: {str(body)[:200]}")
    if wait_for(http, ident, lambda _: False) is not None:
        raise Failed(f"{ident} went to Error while being deleted")


def run_one(http: KeepAlive, population: Population, tally: Tally, rng: random.Random) -> None:
    op, ident = population.choose(rng)
    start = time.monotonic()
    if op == "create":
        try:
            made, status, reason = create(http)
        except Failed as exc:
            tally.error(op, str(exc))
            population.created(None, None)
            return
        except Exception as exc:  # noqa: BLE001 - a client's crash is an error to report
            tally.error(op, f"{type(exc).__name__}: {exc}")
            population.created(None, None)
            return
        if status == "Error":
            tally.error(op, f"{made} went to Error: {reason}")
            population.created(made, "Error")  # deleted later like any other
        else:
            tally.ok(op, time.monotonic() - start)
            population.created(made, status)
        return
    assert ident is not None
    after: str | None = None
    try:
        if op == "delete":
            delete(http, ident)
        else:
            want = "Stopped" if op == "stop" else "Running"
            after = action(http, ident, op, want)
            if after == "Error":
                raise Failed(f"{ident} went to Error during {op}")
        tally.ok(op, time.monotonic() - start)
    except Exception as exc:  # noqa: BLE001 - reported, and the container re-read
        tally.error(op, f"{type(exc).__name__}: {exc}")
        after = current_status(http, ident)
    population.release(ident, after)


def current_status(http: KeepAlive, ident: str) -> str | None:
    try:
        status, shown = http.call("GET", f"/v1/containers/{ident}")
    except Exception:  # noqa: BLE001 - unknown: keep it out of the churn
        return None
    return str(shown["status"]) if status == 200 else None


def fill(cluster: Cluster, population: Population, tally: Tally, clients: int) -> None:
    """Create containers until the population reaches its target."""
    local = threading.local()
    headers = {"OpenStack-API-Version": MICROVERSION}

    def work(_: int) -> None:
        if not hasattr(local, "http"):
            local.http = KeepAlive(cluster.url, headers)
        with population.lock:
            population.creating += 1
        start = time.monotonic()
        try:
            made, status, reason = create(local.http)
        except Exception as exc:  # noqa: BLE001 - reported
            tally.error("fill create", f"{type(exc).__name__}: {exc}")
            population.created(None, None)
            return
        if status == "Error":
            tally.error("fill create", f"{made} went to Error: {reason}")
        else:
            tally.ok("fill create", time.monotonic() - start)
        population.created(made, status)

    # The first containers one at a time: concurrent first creates on a host race to
    # make its project network and the losers go to Error ("Pool overlaps").
    first = min(6, population.target)
    for index in range(first):
        work(index)
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(work, range(first, population.target)))


def churn(
    cluster: Cluster, population: Population, tally: Tally, clients: int, seconds: float
) -> None:
    headers = {"OpenStack-API-Version": MICROVERSION}
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        http = KeepAlive(cluster.url, headers)
        rng = random.Random(number)
        while time.monotonic() < deadline:
            run_one(http, population, tally, rng)

    workers = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


# -- records against engines -------------------------------------------------------------


def all_records(cluster: Cluster) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    query = "?limit=1000"
    while True:
        answer = cluster.request("GET", f"/v1/containers{query}", MICROVERSION)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        records.extend(page["containers"])
        if not page.get("next") or not page["containers"]:
            return records
        query = f"?limit=1000&marker={page['containers'][-1]['uuid']}"


def settle(cluster: Cluster, timeout: float = 180) -> list[dict[str, Any]]:
    """Wait until no record has a task under way; the records then."""
    deadline = time.monotonic() + timeout
    while True:
        records = all_records(cluster)
        moving = [r for r in records if r["task_state"] or r["status"] in ("Creating", "Deleting")]
        if not moving or time.monotonic() > deadline:
            if moving:
                log(f"{len(moving)} records still moving after {timeout:g} s")
            return records
        time.sleep(2)


def engine_containers(cluster: Cluster) -> dict[str, dict[str, str]]:
    """uuid -> {host, engine host, state} of every engine container of the cluster's hosts."""
    found: dict[str, dict[str, str]] = {}
    for host, spec in cluster.hosts.items():
        for item in labelled(spec.engine, host):
            ident = (item.get("Labels") or {}).get(LABEL_CONTAINER_ID, item["Id"])
            found[ident] = {"host": host, "state": str(item["State"]), "id": item["Id"][:12]}
    return found


def labelled(engine: str, host: str) -> list[dict[str, Any]]:
    client = docker.APIClient(base_url=engine, timeout=120)
    try:
        found: list[dict[str, Any]] = client.containers(
            all=True, filters={"label": f"{LABEL_HOST}={host}"}
        )
        return found
    finally:
        client.close()


def free_pool(specs: list[HostSpec]) -> str:
    """A 10.N.0.0/16 no network on the engines overlaps: the harness's pool is random,
    and a /21 in it is more likely than its /24 to meet another run's network."""
    used: list[ipaddress.IPv4Network] = []
    for engine in {spec.engine for spec in specs}:
        client = docker.APIClient(base_url=engine, timeout=60)
        try:
            for network in client.networks():
                for config in (network.get("IPAM") or {}).get("Config") or []:
                    subnet = ipaddress.ip_network(config.get("Subnet", "::/128"), strict=False)
                    if isinstance(subnet, ipaddress.IPv4Network):
                        used.append(subnet)
        finally:
            client.close()
    for second in random.sample(range(100, 250), 150):
        pool = ipaddress.IPv4Network(f"10.{second}.0.0/16")
        if not any(pool.overlaps(subnet) for subnet in used):
            return str(pool)
    raise RuntimeError("no free 10.N.0.0/16 for the project network")


def remove_networks(hosts: dict[str, HostSpec]) -> None:
    """Remove the engine networks the cluster's agents made (the harness leaves them)."""
    for host, spec in hosts.items():
        client = docker.APIClient(base_url=spec.engine, timeout=60)
        try:
            for network in client.networks(filters={"label": f"{LABEL_HOST}={host}"}):
                try:
                    client.remove_network(network["Id"])
                except docker.errors.APIError as exc:
                    log(f"network {network['Name']} on {host} stays: {exc}")
        finally:
            client.close()


def compare(cluster: Cluster, records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Every difference between the records and the engines, by kind."""
    engines = engine_containers(cluster)
    problems: dict[str, list[str]] = defaultdict(list)
    recorded = {r["uuid"]: r for r in records}
    for ident, record in recorded.items():
        on_engine = engines.get(ident)
        if record["task_state"] or record["status"] in ("Creating", "Deleting"):
            problems["record still moving"].append(
                f"{ident} {record['status']}/{record['task_state']}"
            )
            continue
        if on_engine is None:
            if record["status"] != "Error":
                problems["record without engine container"].append(
                    f"{ident} {record['status']} on {record['host']}"
                )
            continue
        if on_engine["host"] != record["host"]:
            problems["host differs"].append(
                f"{ident} record {record['host']}, engine {on_engine['host']}"
            )
        if record["status"] != "Error" and from_engine(on_engine["state"]) != record["status"]:
            problems["status differs"].append(
                f"{ident} record {record['status']}, engine {on_engine['state']}"
            )
    for ident, on_engine in engines.items():
        if ident not in recorded:
            problems["engine container without record"].append(
                f"{on_engine['id']} ({ident}) {on_engine['state']} on {on_engine['host']}"
            )
    return dict(problems)


# -- the run -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="Minutes of churn before the warm-up reading (default 2, or half of --minutes).",
    )
    parser.add_argument("--tolerance", type=float, default=0.10)
    parser.add_argument("--workers", type=int, default=8, help="[compute] workers per agent.")
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="Trace allocations (this many frames deep) in the --traced programs and "
        "compare snapshots taken at the warm-up and end readings (slows them; 0: off).",
    )
    parser.add_argument(
        "--malloc-arena-max",
        type=int,
        default=0,
        metavar="N",
        help="Run every Dockyard process with MALLOC_ARENA_MAX=N (glibc's malloc arenas; "
        "0: the default, 8 per CPU).",
    )
    parser.add_argument(
        "--traced",
        default="dockyard-conductor",
        help="Comma-separated programs --tracemalloc traces.",
    )
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(2.0, args.minutes / 2)
    if not 0 < args.warmup < args.minutes:
        parser.error("--warmup must be above 0 and below --minutes")

    # Room for twice the population on each host: cpu is not what is measured here.
    slots = max(2 * args.containers, 100)
    specs = [HostSpec(s.suffix, s.engine, s.availability_zone, slots) for s in DEFAULT_HOSTS]
    population = Population(args.containers)
    tally = Tally()
    samples: list[Sample] = []
    began = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    traced = [name for name in args.traced.split(",") if name]
    snapshots: dict[tuple[str, str], Path] = {}

    def sample(cluster: Cluster, label: str) -> Sample:
        pids = dockyard_pids(cluster)
        taken = Sample(
            label,
            round(time.monotonic() - began, 1),
            population.size(),
            loadavg(),
            {name: rss_kib(pid) for name, pid in pids.items()},
            {name: open_fds(pid) for name, pid in pids.items()},
            {name: threads(pid) for name, pid in pids.items()},
            {name: dict(fd_kinds(pid)) for name, pid in pids.items()},
        )
        if args.tracemalloc and label in ("warm-up", "end"):
            for program in traced:
                found = heap.snapshot(trace_dir, program, label)
                if found is None:
                    log(f"no tracemalloc snapshot of {program} at {label}")
                else:
                    snapshots[(program, label)] = found
        samples.append(taken)
        log(f"sample {label}: load {taken.loadavg[0]:.1f}, population {taken.population}")
        return taken

    trace_holder = tempfile.TemporaryDirectory(prefix="bench-soak-heap-")
    trace_dir = Path(trace_holder.name)
    environment = heap.environment(trace_dir, traced, args.tracemalloc) if args.tracemalloc else {}
    if args.malloc_arena_max:
        environment["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    with (
        trace_holder,
        tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp,
        running_cluster(
            Path(tmp),
            specs,
            sync_interval=10,
            workers=args.workers,
            # Lands in the API's [network]: a /24 project network has 254 addresses,
            # fewer than the population plus the churn's creates in flight.
            api_config=[
                f"project_network_prefix = {NETWORK_PREFIX}",
                f"project_network_pool = {free_pool(specs)}",
            ],
            environment=environment,
        ) as cluster,
    ):
        log(f"cluster up: {', '.join(cluster.hosts)} at {cluster.url}")
        for program in traced if args.tracemalloc else ():
            if not heap.start(trace_dir, program):
                log(f"{program} did not start tracing allocations")
        sample(cluster, "cluster up")
        fill_start = time.monotonic()
        fill(cluster, population, tally, args.clients)
        fill_seconds = time.monotonic() - fill_start
        log(f"filled {population.size()} in {fill_seconds:.0f} s; errors {dict(tally.examples)}")
        sample(cluster, "filled")

        stop_sampling = threading.Event()

        warm_at = args.warmup * 60
        every_minute = {60.0 * k for k in range(1, int(args.minutes) + 1)}
        # The end reading is taken under churn as the warm-up one was: afterwards the
        # clients' connections are closed and the processes idle, a different state.
        end_at = args.minutes * 60 - 5
        moments = sorted(t for t in every_minute | {warm_at} if t < end_at) + [end_at]

        def sampler() -> None:
            for moment in moments:
                if stop_sampling.wait(max(0.0, churn_start + moment - time.monotonic())):
                    return
                label = "warm-up" if moment == warm_at else f"churn {moment / 60:g} min"
                label = "end" if moment == end_at else label
                sample(cluster, label)

        churn_thread = threading.Thread(
            target=churn,
            args=(cluster, population, tally, args.clients, args.minutes * 60),
            daemon=True,
        )
        sampling = threading.Thread(target=sampler, daemon=True)
        churn_start = time.monotonic()
        churn_thread.start()
        sampling.start()
        churn_thread.join()
        churn_seconds = time.monotonic() - churn_start
        stop_sampling.set()
        sampling.join()
        log(f"churn over after {churn_seconds:.0f} s: {dict(tally.done)}")

        records = settle(cluster)
        sample(cluster, "settled")
        end = next((s for s in samples if s.label == "end"), samples[-1])
        problems = compare(cluster, records)
        if problems:
            # A difference the agents' reconciliation is about to repair is not a
            # lasting one: look again after two sync periods.
            log(f"differences: { {k: len(v) for k, v in problems.items()} }; again in 25 s")
            time.sleep(25)
            problems_later = compare(cluster, settle(cluster))
        else:
            problems_later = {}
        statuses = Counter(r["status"] for r in records)
        by_host = Counter(r["host"] for r in records)
        log(f"removing {len(records)} containers")
        cluster.delete_all(timeout=900)
        hosts = dict(cluster.hosts)
        heap_growth: dict[str, dict[str, Any]] = {
            program: {
                "traced_kib": {
                    "warm-up": heap.total_kib(snapshots[(program, "warm-up")]),
                    "end": heap.total_kib(snapshots[(program, "end")]),
                },
                "by_line": heap.growth(
                    snapshots[(program, "warm-up")], snapshots[(program, "end")], "lineno"
                ),
                "by_traceback": heap.growth(
                    snapshots[(program, "warm-up")], snapshots[(program, "end")], top=8
                ),
            }
            for program in traced
            if (program, "warm-up") in snapshots and (program, "end") in snapshots
        }
    left = {host: len(labelled(spec.engine, host)) for host, spec in hosts.items()}
    remove_networks(hosts)

    warm = next((s for s in samples if s.label == "warm-up"), None)
    rows: list[dict[str, Any]] = []
    for name in sorted(end.rss_kib):
        for what, before_map, after_map in (
            ("RSS KiB", warm.rss_kib if warm else {}, end.rss_kib),
            ("open FDs", warm.fds if warm else {}, end.fds),
        ):
            before = before_map.get(name)
            after = after_map[name]
            change = None if not before else (after - before) / before
            within = change is not None and abs(change) <= args.tolerance
            rows.append(
                {
                    "process": name,
                    "what": what,
                    "warm_up": before,
                    "end": after,
                    "change": change,
                    "within": within,
                }
            )

    print(
        f"\nSoak: {args.containers} containers, {args.minutes:g} min churn, {args.clients} clients"
    )
    print(f"{'process':<16}{'measure':<10}{'warm-up':>10}{'end':>10}{'change':>9}  within ±"
          f"{args.tolerance:.0%}")  # fmt: skip
    for row in rows:
        shown_change = "n/a" if row["change"] is None else f"{row['change']:+.1%}"
        print(f"{row['process']:<16}{row['what']:<10}{row['warm_up'] or 0:>10}{row['end']:>10}"
              f"{shown_change:>9}  {'yes' if row['within'] else 'NO'}")  # fmt: skip
    fd_changes = {
        name: fd_change(Counter(warm.fd_kinds.get(name, {})), Counter(end.fd_kinds[name]))
        for name in sorted(end.fd_kinds)
        if warm is not None
    }
    print("\nopen FDs by kind, warm-up -> end (kinds that changed):")
    for name, kinds in fd_changes.items():
        print(f"  {name:<16}{kinds or 'none'}")
    for program, found in heap_growth.items():
        traced_kib = found["traced_kib"]
        print(f"\ntracemalloc {program}: {traced_kib['warm-up']} -> {traced_kib['end']} KiB "
              "traced; lines that grew most:")  # fmt: skip
        for stat in found["by_line"]:
            print(f"  {stat['kib']:>+9} KiB {stat['blocks']:>+7} blocks  {stat['where'][-1]}")
    print("\nper-minute readings (RSS MiB / FDs):")
    names = sorted(end.rss_kib)
    print(f"{'sample':<16}{'load1':>6}{'pop':>5}  " + "  ".join(f"{n:>16}" for n in names))
    for s in samples:
        cells = "  ".join(f"{s.rss_kib.get(n, 0) / 1024:>9.1f}/{s.fds.get(n, 0):<6}" for n in names)
        print(f"{s.label:<16}{s.loadavg[0]:>6.1f}{s.population:>5}  {cells}")
    print("\noperations (ok / errors, p50 / p95 ms):")
    for op in sorted(set(tally.done) | set(tally.errors)):
        times = tally.seconds.get(op)
        timing = ""
        if times:
            summary = summarize(times)
            timing = f"  p50 {summary.p50:.0f}  p95 {summary.p95:.0f}"
        print(f"  {op:<12} {tally.done[op]:>6} / {tally.errors[op]:<4}{timing}")
        for example in tally.examples.get(op, []):
            print(f"      e.g. {example}")
    print(f"\nfinal records: {len(records)} {dict(statuses)} by host {dict(by_host)}")
    for title, found in (("at the end", problems), ("25 s later", problems_later)):
        if not found:
            print(f"records vs engines {title}: no differences")
            continue
        print(f"records vs engines {title}:")
        for kind, items in found.items():
            print(f"  {kind}: {len(items)}, e.g. {items[:3]}")
    print(f"engine containers labelled dockyard.host left after cleanup: {left}")

    died = sorted(set(warm.rss_kib if warm else {}) - set(end.rss_kib))
    if died:
        print(f"processes gone by the end: {died}")
    most_connections = {
        name: max(sample.fd_kinds.get(name, {}).get(DATABASE_KIND, 0) for sample in samples)
        for name in sorted(end.fd_kinds)
    }
    over_pool = {name: n for name, n in most_connections.items() if n > POOL_BOUND}
    print(f"\ndatabase connections, most at any reading (bound {POOL_BOUND}): {most_connections}")
    leaks = [r for r in rows if not r["within"]]
    lasting = problems_later if problems else {}
    ok = not leaks and not lasting and not died and not over_pool and warm is not None
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"soak-{stamp}.json"
    result = {
        "args": vars(args),
        "started_at": started_at,
        "fill_seconds": round(fill_seconds, 1),
        "churn_seconds": round(churn_seconds, 1),
        "samples": [asdict(s) for s in samples],
        "processes": rows,
        "fd_changes": fd_changes,
        "database_connections_most": most_connections,
        "database_connection_bound": POOL_BOUND,
        "heap_growth": heap_growth,
        "operations": {
            op: {
                "ok": tally.done[op],
                "errors": tally.errors[op],
                "examples": tally.examples.get(op, []),
                "latency_ms": summarize(tally.seconds[op]).as_dict()
                if tally.seconds.get(op)
                else None,
            }
            for op in sorted(set(tally.done) | set(tally.errors))
        },
        "final_records": {"count": len(records), "status": statuses, "host": by_host},
        "differences": problems,
        "differences_25s_later": problems_later,
        "engine_containers_left": left,
        "processes_gone": died,
        "passed": ok,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "PASSED" if ok else "FAILED"
    print(f"\n{verdict}: {len(leaks)} measures outside ±{args.tolerance:.0%}, "
          f"{sum(len(v) for v in lasting.values())} lasting record/engine differences")  # fmt: skip
    log(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
