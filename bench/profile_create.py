"""Where the time of one API create->Running goes (run as a script, after the benchmark).

``python bench/profile_create.py [--n 20] [--poll 0.005]``

Builds the all-in-one node in this process with ``dockyard.cmd.all_in_one_node.build`` (own
host name, own temporary data directory, the benchmark's allocation ratios), starts
its agent, and drives the WSGI app directly (no HTTP server): POST ``run=true``, then
GET every ``--poll`` s until Running with no task. Every Docker Engine HTTP call
(docker-py's ``APIClient.send``) and every database transaction (``Database.read`` /
``write``) is timed and attributed to the API thread or the agent. Prints a JSON
breakdown per create. Standalone (no ``bench`` imports) so ``PYTHONPATH`` picks the
``dockyard`` package, like ``list_inproc.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

IMAGE = "dockyard-test/busybox:latest"
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
HEADERS = {"OpenStack-API-Version": "container 1.40"}


class Recorder:
    """Timed spans: (kind, name, thread role, start, end)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[str, str, str, float, float]] = []

    def add(self, kind: str, name: str, start: float, end: float) -> None:
        thread = threading.current_thread().name
        role = "agent" if thread.startswith("agent-") else "sync" if "sync" in thread else "api"
        with self.lock:
            self.spans.append((kind, name, role, start, end))

    def between(self, start: float, end: float) -> list[tuple[str, str, str, float, float]]:
        with self.lock:
            return [s for s in self.spans if s[3] >= start and s[4] <= end]


def _engine_path(url: str) -> str:
    path = re.sub(r"^.*?/v1\.\d+", "", url.split("?")[0])
    path = re.sub(r"/containers/(?!create$)[^/]+", "/containers/{id}", path)
    return re.sub(r"/images/.+?/json", "/images/{name}/json", path)


def instrument(rec: Recorder, db: Any) -> None:
    import docker

    original_send = docker.APIClient.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_send(self, request, **kwargs)
        finally:
            rec.add(
                "engine",
                f"{request.method} {_engine_path(request.url)}",
                start,
                time.perf_counter(),
            )

    docker.APIClient.send = send

    def wrap(kind: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        @contextlib.contextmanager
        def timed() -> Iterator[Any]:
            start = time.perf_counter()
            try:
                with fn() as conn:
                    yield conn
            finally:
                rec.add("db", kind, start, time.perf_counter())

        return timed

    db.write = wrap("write", db.write)
    db.read = wrap("read", db.read)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.005)
    args = parser.parse_args(argv)

    import docker
    from werkzeug.test import Client

    import dockyard
    from dockyard.cmd.all_in_one_node import build
    from dockyard.cmd.configuration import load_config

    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-profile-"))
    host = f"bench-prof-{uuidlib.uuid4().hex[:10]}"
    config = root / "dockyard.conf"
    config.write_text(
        f"[DEFAULT]\nhost = {host}\ndata_dir = {root / 'data'}\nauth_strategy = noauth\n"
        "[compute]\nworkers = 10\nqueue_size = 1024\n"
        "cpu_allocation_ratio = 1000\nram_allocation_ratio = 10\n"
    )
    node = build(load_config(["--config-file", str(config)]))
    rec = Recorder()
    instrument(rec, node.db)
    node.agent.start()
    client = Client(node.app)
    body = {"image": IMAGE, "command": COMMAND, "memory": 16, "cpu": 0.1}
    per_create: list[dict[str, float]] = []
    uuids: list[str] = []
    raw_ids: list[str] = []
    raw = docker.APIClient(timeout=120)
    try:
        for i in range(args.warmup + args.n):
            t0 = time.perf_counter()
            posted = client.post("/v1/containers?run=true", json=body, headers=HEADERS)
            t_post = time.perf_counter()
            assert posted.status_code == 202, posted.get_data(as_text=True)
            uuid = posted.get_json()["uuid"]
            uuids.append(uuid)
            polls = 0
            while True:
                polls += 1
                got = client.get(f"/v1/containers/{uuid}", headers=HEADERS).get_json()
                if got["status"] == "Running" and got["task_state"] is None:
                    break
                if got["status"] == "Error":
                    raise SystemExit(f"create failed: {got['status_reason']}")
                time.sleep(args.poll)
            t_end = time.perf_counter()
            # The baseline in the same loop: raw create + start, same image/command/limits.
            r0 = time.perf_counter()
            created = raw.create_container(
                IMAGE,
                command=COMMAND,
                host_config=raw.create_host_config(
                    mem_limit=16 * 2**20, memswap_limit=16 * 2**20, nano_cpus=100_000_000
                ),
                labels={"dockyard-bench.profile": host},
            )
            r1 = time.perf_counter()
            raw.start(created["Id"])
            r2 = time.perf_counter()
            raw_ids.append(created["Id"])
            if i < args.warmup:
                continue
            spans = rec.between(t0, t_end)  # the raw calls above come after t_end
            row: dict[str, float] = defaultdict(float)
            row["total_ms"] = (t_end - t0) * 1000
            row["raw_create_ms"] = (r1 - r0) * 1000
            row["raw_start_ms"] = (r2 - r1) * 1000
            row["raw_total_ms"] = (r2 - r0) * 1000
            row["post_ms"] = (t_post - t0) * 1000
            row["polls"] = polls
            agent_writes = [s for s in spans if s[2] == "agent" and s[0] == "db"]
            agent_spans = [s for s in spans if s[2] == "agent"]
            if agent_spans:
                row["agent_start_after_post_ms"] = (agent_spans[0][3] - t_post) * 1000
                row["agent_busy_ms"] = (agent_spans[-1][4] - agent_spans[0][3]) * 1000
            if agent_writes:
                row["observed_after_last_agent_write_ms"] = (t_end - agent_writes[-1][4]) * 1000
            for kind, name, role, start, end in spans:
                key = f"{role}:{kind}:{name}"
                row[key + ":ms"] += (end - start) * 1000
                row[key + ":count"] += 1
            per_create.append(dict(row))
    finally:
        names = [f"dockyard-{uuid}" for uuid in uuids] + raw_ids
        for name in names:
            with contextlib.suppress(docker.errors.NotFound):
                raw.remove_container(name, force=True)
        node.agent.stop(timeout=30)
        node.db.dispose()
        shutil.rmtree(root, ignore_errors=True)
    keys = sorted({k for row in per_create for k in row})
    summary = {
        k: {
            "median": statistics.median(row.get(k, 0.0) for row in per_create),
            "mean": statistics.fmean(row.get(k, 0.0) for row in per_create),
        }
        for k in keys
    }
    json.dump(
        {"dockyard_package": dockyard.__file__, "n": len(per_create), "per_create": summary},
        sys.stdout,
        indent=1,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
