"""Containers reaching Running per second across three hosts: Dockyard's cloud shape vs
raw docker-py, in one run, on the same three engines, image, command and limits.

Usage: ``.venv/bin/python -m bench.cluster [--clients 16] [--per-round 96] [--rounds 2]``
(needs ``scripts/ensure-engines.sh 2``, RabbitMQ and PostgreSQL). Starts the
multi-host cluster of ``tests/support/cluster.py`` (conductor, API, three agents on
the main engine and two extra engines), then alternates rounds: raw, Dockyard, raw,
Dockyard... Each round creates ``per-round`` containers from ``clients`` threads and
measures from the first request to the last container seen Running; cleanup is not
timed. Prints a table and writes ``bench/out/cluster-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import docker

from bench.clients import COMMAND, CPU, IMAGE, MEMORY_MIB, MICROVERSION, WAIT, waiting_headers
from tests.support.cluster import DEFAULT_HOSTS, Cluster, HostSpec, running_cluster

OUT_DIR = Path(__file__).parent / "out"
RAW_LABEL = "dockyard-bench.cluster"
TARGET_RATIO = 0.9
#: CPU ms per create (timed part of a Dockyard round) the API and conductor may spend.
TARGET_CPU_MS = {"api": 10.0, "conductor": 5.0}
#: CPU figures that are not one of the watched processes (not summed with them).
WIDE = ("clients (this process)", "whole machine")
ENGINE_NAMES = {spec.engine: f"engine-{spec.suffix}" for spec in DEFAULT_HOSTS}


@dataclass(frozen=True)
class Round:
    side: str
    number: int
    containers: int
    seconds: float
    per_second: float
    by_host: dict[str, int]
    errors: int
    #: CPU seconds (user + system) each process used during the round, cleanup included.
    cpu: dict[str, float] = field(default_factory=dict)
    #: The same, only while containers were being created (the timed part).
    timed_cpu: dict[str, float] = field(default_factory=dict)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def watched(cluster: Cluster) -> dict[str, int]:
    """The processes whose CPU a round accounts: Dockyard's five and the three engines."""
    pids = {key: proc.popen.pid for key, proc in cluster.processes.items() if proc.popen}
    pidfiles = {"dockerd-a": Path("/var/run/docker.pid")}
    pidfiles |= {
        f"dockerd-{s}": Path(f"/run/dockyard-engines/{i}/docker.pid")
        for i, s in ((1, "b"), (2, "c"))
    }
    for name, path in pidfiles.items():
        if path.exists():
            pids[name] = int(path.read_text().strip())
    return {name.replace(f"mh-{cluster.run_id}-", "agent-"): pid for name, pid in pids.items()}


def machine_busy_seconds() -> float:
    """CPU seconds every CPU of the machine spent not idle (all processes, the kernel)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this benchmark process: the clients' own cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(pids: dict[str, int], run: Callable[[], Round]) -> Round:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    machine, own = machine_busy_seconds(), own_cpu_seconds()
    done = run()
    used = {name: round(cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()}
    used["clients (this process)"] = round(own_cpu_seconds() - own, 2)
    used["whole machine"] = round(machine_busy_seconds() - machine, 2)
    return replace(done, cpu=used)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


#: Processes whose CPU the rounds account, set once the cluster is up.
WATCHED: dict[str, int] = {}


def cpu_now() -> dict[str, float]:
    found = {name: cpu_seconds(pid) for name, pid in WATCHED.items()}
    found["clients (this process)"] = own_cpu_seconds()
    found["whole machine"] = machine_busy_seconds()
    return found


def in_threads(
    clients: int, total: int, work: Callable[[int], str]
) -> tuple[float, list[str], dict[str, float]]:
    """Run ``work(i)`` for i < total on ``clients`` threads; wall seconds, results and the
    CPU seconds the watched processes used meanwhile."""
    before = cpu_now()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(work, range(total)))
    seconds = time.perf_counter() - start
    after = cpu_now()
    return seconds, results, {k: round(after[k] - before[k], 2) for k in after}


def raw_round(engines: list[str], clients: int, total: int, number: int) -> Round:
    """create + start with docker-py's low-level client, round-robin over the engines."""
    run_id = uuid.uuid4().hex[:8]
    local = threading.local()
    counter = itertools.count()
    lock = threading.Lock()

    def work(_: int) -> str:
        if not hasattr(local, "clients"):
            local.clients = [docker.APIClient(base_url=url, timeout=120) for url in engines]
        with lock:
            index = next(counter) % len(engines)
        client = local.clients[index]
        host_config = client.create_host_config(
            mem_limit=MEMORY_MIB * 2**20, memswap_limit=MEMORY_MIB * 2**20, nano_cpus=int(CPU * 1e9)
        )
        created = client.create_container(
            IMAGE, command=COMMAND, host_config=host_config, labels={RAW_LABEL: run_id}
        )
        client.start(created["Id"])  # returns once the process runs
        return engines[index]

    seconds, placed, timed = in_threads(clients, total, work)
    remove_raw(engines, run_id)
    placed = [ENGINE_NAMES.get(url, url) for url in placed]
    by_host = dict(Counter(placed))
    return Round("raw docker-py", number, total, seconds, total / seconds, by_host, 0, {}, timed)


def remove_raw(engines: list[str], run_id: str | None = None) -> None:
    label = f"{RAW_LABEL}={run_id}" if run_id else RAW_LABEL
    for url in engines:
        client = docker.APIClient(base_url=url, timeout=120)
        try:
            found = [c["Id"] for c in client.containers(all=True, filters={"label": label})]
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(partial(client.remove_container, force=True), found))
        finally:
            client.close()


class KeepAlive:
    """One persistent HTTP connection per client thread, speaking JSON.

    Lighter than requests: the clients share the machine with what they measure,
    so their own CPU is kept small (and reported).
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.address = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        status, decoded, _ = self.tagged(method, path, body, headers or {})
        return status, decoded

    def tagged(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        """(status, decoded body, ETag) of one request with ``headers`` added."""
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.address, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers={**self.headers, **headers})
                answer = self.conn.getresponse()
                decoded = json.loads(answer.read() or b"null")
                return answer.status, decoded, answer.getheader("ETag")
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def dockyard_round(
    cluster: Cluster, clients: int, total: int, number: int, poll: float, wait: int
) -> Round:
    """POST ?run=true, then wait for the record to be Running (no task) or Error:
    ``wait`` > 0 asks once per change (Prefer: wait), else a GET every ``poll`` s."""
    local = threading.local()
    headers = {"OpenStack-API-Version": MICROVERSION}
    body = {"image": IMAGE, "command": COMMAND, "memory": MEMORY_MIB, "cpu": CPU}

    def work(_: int) -> str:
        if not hasattr(local, "http"):
            local.http = KeepAlive(cluster.url, headers)
        http: KeepAlive = local.http
        status, created = http.call("POST", "/v1/containers?run=true", body)
        if status != 202:
            return f"error: create {status} {str(created)[:120]}"
        ident = created["uuid"]
        deadline = time.monotonic() + 120
        etag = None
        while time.monotonic() < deadline:
            path = f"/v1/containers/{ident}"
            status, shown, etag = http.tagged("GET", path, None, waiting_headers(etag, wait))
            if status == 304:
                continue
            if shown["status"] == "Running" and shown["task_state"] is None:
                return str(shown["host"])
            if shown["status"] == "Error":
                return f"error: {shown.get('status_reason')}"
            if not wait:
                time.sleep(poll)
        return "error: timeout"

    seconds, placed, timed = in_threads(clients, total, work)
    errors = [p for p in placed if p.startswith("error")]
    if errors:
        log(f"dockyard round {number}: {len(errors)} errors, e.g. {errors[0]}")
    cluster.delete_all(timeout=300)
    ok = total - len(errors)
    by_host = dict(Counter(p for p in placed if not p.startswith("error")))
    side = "dockyard (3 agents)"
    return Round(side, number, ok, seconds, ok / seconds, by_host, len(errors), {}, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-round", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--poll", type=float, default=0.02, help="Seconds between two GETs (with --no-wait)."
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="poll every --poll s instead of asking once per change (Prefer: wait)",
    )
    parser.add_argument("--workers", type=int, default=8, help="[compute] workers per agent.")
    args = parser.parse_args(argv)

    # Room for far more than one round: cpu is not what is measured here.
    specs = [HostSpec(s.suffix, s.engine, s.availability_zone, 1000) for s in DEFAULT_HOSTS]
    engines = [s.engine for s in specs]
    rounds: list[Round] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp,
        running_cluster(Path(tmp), specs, sync_interval=10, workers=args.workers) as cluster,
    ):
        log(f"cluster up: {', '.join(cluster.hosts)} at {cluster.url}")
        pids = watched(cluster)
        WATCHED.update(pids)
        # Warm-up, not recorded: first use of each engine and agent.
        raw_round(engines, args.clients, 2 * len(engines), 0)
        wait = 0 if args.no_wait else WAIT
        dockyard_round(cluster, args.clients, 2 * len(engines), 0, args.poll, wait)
        for number in range(1, args.rounds + 1):
            # ABBA: the engines slow down a little round after round, so neither side
            # always goes second.
            for side in ("raw", "dockyard") if number % 2 else ("dockyard", "raw"):
                if side == "raw":
                    done = measured(
                        pids, partial(raw_round, engines, args.clients, args.per_round, number)
                    )
                else:
                    done = measured(
                        pids,
                        partial(
                            dockyard_round,
                            cluster,
                            args.clients,
                            args.per_round,
                            number,
                            args.poll,
                            wait,
                        ),
                    )
                log(f"{done.side} round {number}: {done.per_second:.1f}/s {done.by_host}")
                rounds.append(done)
        remove_raw(engines)

    raw = statistics.median(r.per_second for r in rounds if r.side.startswith("raw"))
    ours = statistics.median(r.per_second for r in rounds if r.side.startswith("dockyard"))
    print(f"{'side':<22}{'round':>6}{'containers':>12}{'seconds':>10}{'Running/s':>11}  by host")
    for r in rounds:
        hosts = ", ".join(
            f"{k.rsplit('/', 2)[-2] if '/' in k else k}:{v}" for k, v in r.by_host.items()
        )
        row = f"{r.side:<22}{r.number:>6}{r.containers:>12}{r.seconds:>10.2f}"
        print(f"{row}{r.per_second:>11.1f}  {hosts}")
    print("CPU seconds per round (cleanup included):")
    for r in rounds:
        parts = {k: v for k, v in r.cpu.items() if k not in WIDE}
        spent = ", ".join(f"{name} {sec:.1f}" for name, sec in sorted(parts.items()))
        wide = ", ".join(f"{k} {r.cpu[k]:.1f}" for k in WIDE if k in r.cpu)
        print(f"  {r.side} {r.number}: {sum(parts.values()):.1f} = {spent}; {wide}")
    print("CPU seconds while containers were being created (the timed part only):")
    for r in rounds:
        parts = {k: v for k, v in r.timed_cpu.items() if k not in WIDE}
        spent = ", ".join(f"{name} {sec:.1f}" for name, sec in sorted(parts.items()))
        wide = ", ".join(f"{k} {r.timed_cpu[k]:.1f}" for k in WIDE if k in r.timed_cpu)
        print(f"  {r.side} {r.number}: {sum(parts.values()):.1f} = {spent}; {wide}")
    per_create: dict[str, float] = {}
    for name, target in TARGET_CPU_MS.items():
        ms = [
            1000 * r.timed_cpu.get(name, 0.0) / r.containers
            for r in rounds
            if r.side.startswith("dockyard") and r.containers
        ]
        if ms:
            per_create[name] = statistics.median(ms)
            verdict = "met" if per_create[name] <= target else "MISSED"
            print(f"{name} CPU per create (timed part, median of rounds): "
                  f"{per_create[name]:.1f} ms (target <= {target:g}: {verdict})")  # fmt: skip
    verdict = "met" if ours >= TARGET_RATIO * raw else "MISSED"
    print(f"median: dockyard {ours:.1f}/s, raw {raw:.1f}/s, ratio {ours / raw:.2f} "
          f"(target >= {TARGET_RATIO}: {verdict})")  # fmt: skip

    OUT_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = OUT_DIR / f"cluster-{stamp}.json"
    record: dict[str, Any] = {
        "args": vars(args),
        "rounds": [asdict(r) for r in rounds],
        "median_per_second": {"dockyard": ours, "raw": raw},
        "ratio": ours / raw,
        "cpu_ms_per_create": per_create,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
