"""Benchmark Dockyard's Zun API against raw docker-py, in one run, on one engine and image.

Usage: ``.venv/bin/python -m bench.run [--quick]``. Prints a table and writes
``bench/out/<timestamp>.json``. Not a test: it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import docker

from bench.clients import (
    DOCKER_URL,
    RAW_LABEL,
    WAIT,
    ApiClient,
    RawClient,
    remove_labelled,
)
from bench.service import DockyardService, ServiceConfig
from bench.stats import Row, Summary, format_table, summarize

OUT_DIR = Path(__file__).parent / "out"
#: Response headers that would carry the server's own handling time, if Dockyard sent one.
TIMING_HEADERS = ("Server-Timing", "X-Runtime", "X-Response-Time", "X-Request-Duration")
TARGET_CREATE_RATIO = 1.3
TARGET_LIST_SERVER_MS = 100.0
#: The measured phases, in the order they run (each can be chosen with --phases).
PHASES = (
    "sequential_create",
    "concurrent_create",
    "show",
    "delete",
    "bulk_create",
    "list",
    "list_server_side",
)

C = TypeVar("C")
R = TypeVar("R")


@dataclass(frozen=True)
class Plan:
    sequential: int
    warmup: int
    concurrent_total: int
    clients: int
    rounds: int
    list_containers: int
    list_reps: int
    show_reps: int
    #: docker-py's high-level list inspects every container (seconds at 1,000): fewer reps.
    high_level_reps: int


FULL = Plan(30, 3, 60, 10, 2, 1000, 30, 30, 10)
QUICK = Plan(10, 2, 20, 10, 2, 1000, 10, 10, 3)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], R]) -> tuple[float, R]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_concurrently(
    make_client: Callable[[], C], op: Callable[[C], R], total: int, clients: int
) -> tuple[list[float], float, list[R]]:
    """``total`` operations spread over ``clients`` threads, each with its own client.

    Returns the per-operation latencies, the wall time from the common start to the
    last completion, and the operations' results.
    """
    shares = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    clients_ready = [make_client() for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    latencies: list[float] = []
    results: list[R] = []

    def worker(client: C, share: int) -> None:
        barrier.wait()
        for _ in range(share):
            seconds, result = timed(lambda: op(client))
            with lock:
                latencies.append(seconds)
                results.append(result)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, c, s) for c, s in zip(clients_ready, shares, strict=True)]
        barrier.wait()
        start = time.perf_counter()
        for future in futures:
            future.result()
        wall = time.perf_counter() - start
    return latencies, wall, results


def machine_info() -> dict[str, Any]:
    mem_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    client = docker.APIClient(base_url=DOCKER_URL)
    try:
        version = client.version()
    finally:
        client.close()
    cpu_model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "load_average_1_5_15": os.getloadavg(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker_engine": version.get("Version"),
        "docker_api": version.get("ApiVersion"),
        "docker_py": docker.__version__,
    }


def server_timing(headers: Any) -> float | None:
    """Server-side duration in ms from a timing header, when the response carries one."""
    for name in TIMING_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        if "dur=" in value:
            return float(value.split("dur=", 1)[1].split(";")[0].split(",")[0])
        try:
            return float(value) * (1000.0 if name == "X-Runtime" else 1.0)
        except ValueError:
            continue
    return None


def code_version(source: Path | None) -> dict[str, Any]:
    """Which Dockyard code ran: a snapshot directory, or the working tree and its state."""
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    info: dict[str, Any] = {"head": git("rev-parse", "HEAD")}
    if source is not None:
        info["source"] = str(source)
        snapshot = source / ".bench-rev"
        if snapshot.exists():
            info["snapshot_of"] = snapshot.read_text().strip()
    else:
        info["source"] = "working tree"
        info["modified_files"] = len(git("status", "--porcelain", "--", "dockyard").splitlines())
    return info


def snapshot(rev: str, into: Path) -> Path:
    """Extract ``rev`` of the repository into ``into`` with ``git archive`` (read-only)."""
    repo = Path(__file__).resolve().parent.parent
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    full = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", rev], capture_output=True, text=True, check=True
    )
    (into / ".bench-rev").write_text(full.stdout)
    return into


class Benchmark:
    def __init__(
        self,
        plan: Plan,
        root: Path,
        source: Path | None,
        profile: bool,
        phases: frozenset[str] = frozenset(PHASES),
        wait: int = WAIT,
    ) -> None:
        self.plan = plan
        self.phases = phases
        self.wait = wait
        self.run_id = uuidlib.uuid4().hex[:12]
        self.service = DockyardService.new(root, ServiceConfig(), source)
        self.profile = profile
        self.rows: list[Row] = []
        self.extra: dict[str, Any] = {}
        self.api_running: list[str] = []
        self.raw_running: list[str] = []
        self._raw_list_t: list[float] = []

    def api(self) -> ApiClient:
        return ApiClient(self.service.url, wait=self.wait)

    def raw(self) -> RawClient:
        return RawClient(self.run_id)

    # -- phases ---------------------------------------------------------------

    def warm_up(self) -> None:
        api, raw = self.api(), self.raw()
        for _ in range(self.plan.warmup):
            api.delete_and_wait(api.create_and_wait(run=True))
            raw.remove(raw.create_and_start())
            api.list_containers()
        raw.close()

    def sequential_create(self) -> None:
        api, raw = self.api(), self.raw()
        api_t: list[float] = []
        raw_t: list[float] = []

        def one_api() -> None:
            seconds, uuid = timed(lambda: api.create_and_wait(run=True))
            api_t.append(seconds)
            self.api_running.append(uuid)

        def one_raw() -> None:
            seconds, ident = timed(raw.create_and_start)
            raw_t.append(seconds)
            self.raw_running.append(ident)

        for i in range(self.plan.sequential):
            # ABBA order: drift and any "second in the pair" effect cancel out.
            for step in (one_api, one_raw) if i % 2 == 0 else (one_raw, one_api):
                step()
        raw.close()
        self.rows.append(
            Row("create->Running, sequential", summarize(api_t), summarize(raw_t), "create+start")
        )

    def concurrent_create(self) -> None:
        plan = self.plan
        per_round = -(-plan.concurrent_total // plan.rounds)
        api_t: list[float] = []
        raw_t: list[float] = []
        api_wall = raw_wall = 0.0
        for _ in range(plan.rounds):
            lat, wall, uuids = run_concurrently(
                self.api, lambda c: c.create_and_wait(run=True), per_round, plan.clients
            )
            api_t += lat
            api_wall += wall
            self.api_running += uuids
            lat, wall, ids = run_concurrently(
                self.raw, lambda c: c.create_and_start(), per_round, plan.clients
            )
            raw_t += lat
            raw_wall += wall
            self.raw_running += ids
        self.rows.append(
            Row(
                f"create->Running, {plan.clients} clients",
                summarize(api_t),
                summarize(raw_t),
                "create+start",
            )
        )
        self.extra["concurrent_throughput_per_s"] = {
            "dockyard": len(api_t) / api_wall,
            "raw": len(raw_t) / raw_wall,
            "clients": plan.clients,
            "operations_each": len(api_t),
        }

    def show(self) -> None:
        api, raw = self.api(), self.raw()
        api_t: list[float] = []
        raw_t: list[float] = []
        for i in range(self.plan.show_reps):
            uuid = self.api_running[i % len(self.api_running)]
            ident = self.raw_running[i % len(self.raw_running)]
            seconds, response = timed(partial(api.get, uuid))
            if response.status_code != 200:
                raise RuntimeError(f"show answered {response.status_code}")
            api_t.append(seconds)
            raw_t.append(timed(partial(raw.inspect, ident))[0])
        raw.close()
        self.rows.append(Row("show (GET one)", summarize(api_t), summarize(raw_t), "inspect"))

    def delete(self) -> None:
        api, raw = self.api(), self.raw()
        api_t: list[float] = []
        raw_t: list[float] = []
        pairs = list(zip(self.api_running, self.raw_running, strict=False))
        for i, (uuid, ident) in enumerate(pairs):
            steps: list[tuple[list[float], Callable[[], None]]] = [
                (api_t, partial(api.delete_and_wait, uuid)),
                (raw_t, partial(raw.remove, ident)),
            ]
            for samples, fn in steps if i % 2 == 0 else steps[::-1]:
                samples.append(timed(fn)[0])
        for uuid in self.api_running[len(pairs) :]:
            api.delete_and_wait(uuid)
        for ident in self.raw_running[len(pairs) :]:
            raw.remove(ident)
        self.api_running, self.raw_running = [], []
        raw.close()
        self.rows.append(
            Row(
                "delete force (until 404)",
                summarize(api_t),
                summarize(raw_t),
                "remove(force)",
            )
        )

    def bulk_create(self) -> None:
        n = self.plan.list_containers
        log(f"creating {n} containers (not run) through the API, {self.plan.clients} clients")
        lat, wall, _ = run_concurrently(
            self.api, lambda c: c.create_and_wait(run=False), n, self.plan.clients
        )
        self.extra["bulk_create_not_run"] = {
            "containers": n,
            "clients": self.plan.clients,
            "wall_s": wall,
            "per_s": n / wall,
            "create_to_created_ms": summarize(lat).as_dict(),
        }

    def list_all(self) -> None:
        api, raw = self.api(), self.raw()
        high = docker.DockerClient(base_url=DOCKER_URL, timeout=300)
        api_t: list[float] = []
        raw_t: list[float] = []
        high_t: list[float] = []
        header_ms: list[float] = []
        counts: dict[str, int] = {}
        # The same containers on both sides: the engine is shared with other users whose
        # containers come and go, so the raw lists filter on this service's host label.
        label = f"dockyard.host={self.service.host}"
        for i in range(self.plan.list_reps):
            seconds, response = timed(api.list_containers)
            api_t.append(seconds)
            counts["dockyard"] = len(response.json()["containers"])
            from_header = server_timing(response.headers)
            if from_header is not None:
                header_ms.append(from_header)
            seconds, count = timed(lambda: raw.list_low_level(label))
            raw_t.append(seconds)
            counts["raw_low_level"] = count
            if i < self.plan.high_level_reps:
                seconds, items = timed(
                    lambda: high.containers.list(
                        all=True, filters={"label": label}, ignore_removed=True
                    )
                )
                high_t.append(seconds)
                counts["raw_high_level"] = len(items)
        high.close()
        raw.close()
        n = counts["dockyard"]
        self.rows.append(
            Row(f"list {n} (client)", summarize(api_t), summarize(raw_t), "containers()")
        )
        self.rows.append(
            Row(f"list {n} (client)", summarize(api_t), summarize(high_t), "hl containers.list")
        )
        self.extra["list_counts"] = counts
        self.extra["list_api_client_ms"] = summarize(api_t).as_dict()
        # Dockyard sends no timing header today; if it ever does, it is recorded here.
        self.extra["list_server_header_ms"] = (
            summarize([ms / 1000.0 for ms in header_ms]).as_dict() if header_ms else None
        )
        self._raw_list_t = raw_t

    def list_server_side(self) -> None:
        """Server-side list time, measured in-process against the stopped service's DB."""
        command = [
            sys.executable,
            str(Path(__file__).parent / "list_inproc.py"),
            "--config-file",
            str(self.service.config_file),
            "--url",
            self.service.url,
            "--reps",
            str(self.plan.list_reps),
        ]
        profile = OUT_DIR / f"list-{self.run_id}.prof"
        if self.profile:
            OUT_DIR.mkdir(exist_ok=True)
            command += ["--profile", str(profile)]
        done = subprocess.run(
            command,
            env=self.service.env(),
            cwd=self.service.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"in-process list failed: {done.stderr[-2000:]}")
        measured = json.loads(done.stdout)
        samples, count = measured["samples_s"], measured["containers"]
        self.rows.append(
            Row(
                f"list {count} (server, in-proc)",
                summarize(samples),
                summarize(self._raw_list_t),
                "containers()",
            )
        )
        self.extra["list_server_side"] = {
            "method": "in-process (bench/list_inproc.py): "
            "dockyard.cmd.all_in_one_node.build(conf) on the same SQLite file after "
            "`dockyard up` stopped; the WSGI app called with a werkzeug EnvironBuilder "
            "environ and its body drained; no socket or HTTP server",
            "containers": count,
            "body_bytes": measured["body_bytes"],
            "dockyard_package": measured["dockyard_package"],
            "ms": summarize(samples).as_dict(),
            "profile": str(profile) if self.profile else None,
        }

    def cleanup_api(self) -> None:
        """Delete every container of the service through its API, then wait until gone."""
        api = self.api()
        uuids = api.all_uuids()
        log(f"deleting {len(uuids)} containers through the API")

        def delete_share(i: int) -> None:
            client = self.api()
            for uuid in uuids[i :: self.plan.clients]:
                client.delete(uuid)

        with ThreadPoolExecutor(self.plan.clients) as pool:
            list(pool.map(delete_share, range(self.plan.clients)))
        deadline = time.monotonic() + 300
        while api.all_uuids() and time.monotonic() < deadline:
            time.sleep(0.5)

    def cleanup_engine(self) -> dict[str, int]:
        return {
            "dockyard_host_label": remove_labelled(f"dockyard.host={self.service.host}"),
            "raw_label": remove_labelled(f"{RAW_LABEL}={self.run_id}"),
        }

    # -- the whole run ----------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.UTC)
        self.extra["load_average_at_start"] = os.getloadavg()
        phases: dict[str, float] = {}

        errors: dict[str, str] = {}
        self.extra["errors"] = errors

        def phase(name: str, fn: Callable[[], None]) -> None:
            if name not in self.phases and name not in ("warm_up", "cleanup_api"):
                return
            log(f"phase: {name}")
            try:
                phases[name] = timed(fn)[0]
            except Exception as exc:  # keep the other phases' results
                log(f"phase {name} failed: {exc!r}")
                errors[name] = repr(exc)

        try:
            self.service.start()
            log(f"dockyard up serving at {self.service.url} as host {self.service.host}")
            phase("warm_up", self.warm_up)
            phase("sequential_create", self.sequential_create)
            phase("concurrent_create", self.concurrent_create)
            phase("show", self.show)
            phase("delete", self.delete)
            phase("bulk_create", self.bulk_create)
            phase("list", self.list_all)
            if "list_server_side" in self.phases:
                log("stopping the service for the in-process list measurement")
                self.service.stop()
                phase("list_server_side", self.list_server_side)
                self.service.start()
            phase("cleanup_api", self.cleanup_api)
        finally:
            self.service.stop()
            removed = self.cleanup_engine()
            log(f"engine clean-up removed {removed}")
        return {
            "started": started.isoformat(),
            "finished": dt.datetime.now(dt.UTC).isoformat(),
            "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *sys.argv[1:]]),
            "plan": asdict(self.plan),
            "code": code_version(self.service.source),
            "service": {
                "host": self.service.host,
                "config": self.service.config_file.read_text(),
            },
            "machine": machine_info(),
            "rows": [r.as_dict() for r in self.rows],
            "extra": self.extra,
            "client_wait_s": self.wait,
            "phase_seconds": phases,
            "cleanup_removed_from_engine": removed,
            "targets": self.targets(),
        }

    def targets(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for row in self.rows:
            if row.operation == "create->Running, sequential":
                result["create_p50_ratio"] = {
                    "target": f"<= {TARGET_CREATE_RATIO}",
                    "value": row.ratio_p50,
                    "met": row.ratio_p50 is not None and row.ratio_p50 <= TARGET_CREATE_RATIO,
                }
            if "(server, in-proc)" in row.operation:
                result["list_server_ms"] = {
                    "target": f"< {TARGET_LIST_SERVER_MS} ms (p50)",
                    "value": row.dockyard.p50,
                    "p95": row.dockyard.p95,
                    "met": row.dockyard.p50 < TARGET_LIST_SERVER_MS,
                }
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    parser.add_argument(
        "--list-containers", type=int, default=None, help="containers for the list phase"
    )
    parser.add_argument("--keep", action="store_true", help="keep the service's data and log")
    parser.add_argument(
        "--git-rev",
        help="benchmark this git revision (extracted with `git archive` into a temporary "
        "directory) instead of the working tree, e.g. HEAD while others edit the tree",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the in-process list calls too"
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated phases to run (default all): " + ", ".join(PHASES),
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="the API side's waits poll every few ms instead of asking once per change "
        "(Prefer: wait with If-None-Match), as clients that know no better do",
    )
    args = parser.parse_args(argv)
    phases = frozenset(p.strip() for p in args.phases.split(",") if p.strip())
    unknown = phases - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    plan = QUICK if args.quick else FULL
    if args.list_containers is not None:
        plan = Plan(**{**asdict(plan), "list_containers": args.list_containers})
    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    source = snapshot(args.git_rev, root / "src") if args.git_rev else None
    bench = Benchmark(plan, root, source, args.profile, phases, 0 if args.no_wait else WAIT)
    try:
        results = bench.run()
    finally:
        if args.keep:
            log(f"service data and log kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    rows = [Row(**_row_args(r)) for r in results["rows"]]
    print(format_table(rows))
    extra = results["extra"]
    tput = extra.get("concurrent_throughput_per_s")
    if tput:
        print(
            f"\nthroughput, {tput['clients']} clients, create->Running: "
            f"dockyard {tput['dockyard']:.1f}/s, raw {tput['raw']:.1f}/s"
        )
    bulk = extra.get("bulk_create_not_run")
    if bulk:
        print(
            f"bulk create (not run) of {bulk['containers']}: {bulk['wall_s']:.1f} s, "
            f"{bulk['per_s']:.1f}/s"
        )
    if "list_server_side" in extra:
        print(f"list server-side: {extra['list_server_side']['method']}")
    for name, target in results["targets"].items():
        print(f"target {name}: {target['value']} ({target['target']}) met={target['met']}")
    for name, error in extra["errors"].items():
        print(f"phase {name} FAILED: {error}")
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {out}")
    return 0


def _row_args(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "operation": data["operation"],
        "dockyard": Summary(**data["dockyard_ms"]),
        "raw": Summary(**data["raw_ms"]),
        "raw_label": data["raw_label"],
    }


if __name__ == "__main__":
    sys.exit(main())
