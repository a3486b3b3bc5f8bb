"""CPU the cloud-shaped API process spends per create, per poll and per delete.

``.venv/bin/python -m bench.api_cpu [--n 200] [--profile FILE]``

Builds ``dockyard-api``'s WSGI app in this process (``dockyard.cmd.api_server.build``)
over a fresh PostgreSQL database and the machine's RabbitMQ, registers three hosts with
room to spare, and drives the app directly (werkzeug's test client; no socket, no HTTP
server). The agents' image check is answered in-process, since no agent runs; casts
go to RabbitMQ as they do in the cluster (no agent consumes them). Prints the process
CPU (user + system) per POST ``run=true``, per GET show and per DELETE ``force``: the
three requests a client of ``bench.cluster`` makes. Deterministic enough to compare
two versions of the code on a loaded machine, unlike wall-clock rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.clients import COMMAND, CPU, IMAGE, MEMORY_MIB, MICROVERSION
from tests.support.broker import TRANSPORT_URL, private_rpc_section
from tests.support.databases import fresh_database

HEADERS = {"OpenStack-API-Version": MICROVERSION}
INVENTORY = {
    "cpus": 2,
    "memory_mib": 24_000,
    "disk_gib": 100,
    "cpu_capacity_milli": 2_000_000,
    "memory_capacity": 240_000,
    "runtimes": ["runc"],
    "info": {},
}


class Sink:
    """Stands for the agents: takes the API's casts and does nothing with them."""

    def create(self, message: Any) -> None:
        pass

    def operate(self, message: Any) -> None:
        pass


def cpu_ms_per_call(
    fn: Callable[[], Any], n: int, profile: str | None = None
) -> tuple[float, float]:
    """(CPU of the calling thread, CPU of the whole process) per call, in ms; with
    ``profile``, a cProfile of the calls' thread CPU is written there (and inflates both)."""
    profiler = cProfile.Profile(time.thread_time) if profile else None
    if profiler:
        profiler.enable()
    thread, process = time.thread_time(), time.process_time()
    for _ in range(n):
        fn()
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    return (
        (time.thread_time() - thread) * 1000 / n,
        (time.process_time() - process) * 1000 / n,
    )


def write_config(conf_file: Path, tmp: str, url: str, rpc_section: str, *default: str) -> None:
    """A cloud-shaped service's configuration over ``url`` and the broker, with no quota
    limit; ``default``: more ``[DEFAULT]`` lines."""
    conf_file.write_text(
        "\n".join(
            [
                "[DEFAULT]",
                f"transport_url = {TRANSPORT_URL}",
                "auth_strategy = noauth",
                # The hosts are registered once: no heartbeat may make them look down.
                "service_down_time = 86400",
                f"data_dir = {tmp}",
                f"auth_encryption_key = {secrets.token_hex(32)}",
                *default,
                "[database]",
                f"connection = {url}",
                "[quota]",
                "containers = -1",
                "cpu = -1",
                "memory = -1",
                "disk = -1",
                rpc_section,
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="creates (and deletes)")
    parser.add_argument("--gets", type=int, default=5, help="GETs per container")
    parser.add_argument("--statements", action="store_true", help="print one POST's and GET's SQL")
    parser.add_argument(
        "--profile",
        help="write cProfiles (thread CPU) of the measured calls to PROFILE.post, .get, .delete",
    )
    args = parser.parse_args(argv)

    from sqlalchemy import event as sa_event
    from werkzeug.test import Client

    from dockyard.cmd.authentication import api_app
    from dockyard.cmd.broker import open_broker
    from dockyard.cmd.configuration import load_service_config
    from dockyard.cmd.services import api_services
    from dockyard.cmd.storage import open_shared_database, repositories
    from dockyard.db import migrate
    from dockyard.domain.clock import Clock
    from dockyard.rpc.messaging import MessagingComputeAPI, compute_server

    with (
        tempfile.TemporaryDirectory(prefix="bench-api-cpu-") as tmp,
        fresh_database("postgresql") as url,
    ):
        conf_file = Path(tmp) / "api.conf"
        rpc_section, _ = private_rpc_section(Path(tmp))
        write_config(conf_file, tmp, url, rpc_section)
        conf = load_service_config(["--config-file", str(conf_file)], "dockyard-api")
        db = open_shared_database(conf, Clock())
        migrate.upgrade(db)
        broker = open_broker(conf)
        compute = MessagingComputeAPI(broker)
        # No agent runs: answer its image check here (a cast needs no answer).
        compute.check_image = lambda *a, **k: None  # type: ignore[method-assign]
        repos = repositories(conf, db, every_writer_here=False)
        app = api_app(conf, api_services(conf, repos, compute), db)
        sinks = []
        for name in ("bench-a", "bench-b", "bench-c"):
            repos.hosts.report(name, dict(INVENTORY))
            sinks.append(compute_server(broker, name, Sink()))  # type: ignore[arg-type]
            sinks[-1].start()

        client = Client(app)
        body = {"image": IMAGE, "command": COMMAND, "memory": MEMORY_MIB, "cpu": CPU}
        uuids: list[str] = []

        def post() -> None:
            answer = client.post("/v1/containers?run=true", json=body, headers=HEADERS)
            assert answer.status_code == 202, answer.get_data(as_text=True)
            shown = answer.get_json()
            assert shown["status"] != "Error", shown["status_reason"]
            uuids.append(shown["uuid"])

        def get() -> None:
            answer = client.get(f"/v1/containers/{uuids[len(uuids) // 2]}", headers=HEADERS)
            assert answer.status_code == 200, answer.get_data(as_text=True)

        deleting = iter(uuids)

        def delete() -> None:
            uuid = next(deleting)
            answer = client.delete(f"/v1/containers/{uuid}?force=true", headers=HEADERS)
            assert answer.status_code == 204, answer.get_data(as_text=True)

        for _ in range(5):  # warm-up
            post()
            get()
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
            statements.append(" ".join(sql.split())[:100])

        sa_event.listen(db.engine, "before_cursor_execute", count)
        per_request: dict[str, list[str]] = {}
        for name, fn in (("post", post), ("get", get)):
            statements.clear()
            fn()
            per_request[name] = list(statements)
        sa_event.remove(db.engine, "before_cursor_execute", count)
        if args.statements:
            json.dump(per_request, sys.stderr, indent=1)

        def profile(name: str) -> str | None:
            return f"{args.profile}.{name}" if args.profile else None

        result = {
            "post": cpu_ms_per_call(post, args.n, profile("post")),
            "get": cpu_ms_per_call(get, args.n * args.gets, profile("get")),
            # The part of a GET that is the database lookup alone.
            "lookup": cpu_ms_per_call(
                lambda: repos.containers.get(uuids[len(uuids) // 2]), args.n * args.gets
            ),
        }
        # Their hosts never answer: the records stay with a task, which force allows.
        deleting = iter(list(uuids))
        result["delete"] = cpu_ms_per_call(delete, len(uuids) - 6, profile("delete"))
        for sink in sinks:
            sink.stop()
        broker.close()
        db.dispose()
    json.dump(
        {
            f"{name}_{part}": round(value, 3)
            for name, pair in result.items()
            for part, value in zip(("thread", "process"), pair, strict=True)
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
