"""CPU the conductor process spends per create, per heartbeat and per reconciliation read.

``.venv/bin/python -m bench.conductor_cpu [--n 150]``

Starts ``dockyard-conductor`` (``python -m dockyard.cmd.conductor``, so the code on
``PYTHONPATH`` is the code measured) over a fresh PostgreSQL database and the machine's
RabbitMQ. This process stores ``n`` containers through the API app (in-process, its
casts to the agents dropped), then plays the agent of each: the agent's own
``Operations.create`` over a fake runtime sends exactly the reports a real agent sends
for ``run=true``, through ``PatientControl`` and the broker. The conductor's CPU (user +
system, from /proc, every thread) is read before and after, once every record is
Running; its idle CPU over as long (the down-host sweep) is subtracted. Then the same for
a heartbeat (``report_host`` + ``claim_host``, as the agent's heartbeat thread sends
them) and for the reconciliation's ``containers_on_host``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import Client

from bench.api_cpu import HEADERS, INVENTORY, Sink, write_config
from bench.clients import COMMAND, CPU, IMAGE, MEMORY_MIB
from dockyard.cmd.authentication import api_app
from dockyard.cmd.broker import open_broker
from dockyard.cmd.configuration import load_service_config
from dockyard.cmd.services import api_services
from dockyard.cmd.storage import open_shared_database, repositories
from dockyard.compute.host_claim import this_process
from dockyard.compute.operations import Operations
from dockyard.compute.patient_control import PatientControl
from dockyard.db import migrate
from dockyard.domain.clock import Clock
from dockyard.domain.container_request import PullPolicy
from dockyard.domain.states import Status
from dockyard.rpc.messages import CreateContainer, HostReport
from dockyard.rpc.messaging import MessagingComputeAPI, MessagingControlAPI, compute_server
from tests.fakes.runtime import FakeImages, FakeRuntime
from tests.support.broker import private_rpc_section
from tests.support.databases import fresh_database

HOSTS = ("bench-a", "bench-b", "bench-c")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def until(check: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the conductor did not apply every report in time")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=150, help="creates")
    parser.add_argument("--heartbeats", type=int, default=150)
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="bench-conductor-cpu-") as tmp,
        fresh_database("postgresql") as url,
    ):
        conf_file = Path(tmp) / "dockyard.conf"
        rpc_section, _ = private_rpc_section(Path(tmp), call_timeout=30)
        write_config(conf_file, tmp, url, rpc_section, "host = bench-conductor")
        conf = load_service_config(["--config-file", str(conf_file)], "dockyard-api")
        db = open_shared_database(conf, Clock())
        migrate.upgrade(db)
        conductor = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cmd.conductor", "--config-file", str(conf_file)],
            stdout=subprocess.PIPE,
            stderr=open(Path(tmp) / "conductor.log", "w"),  # noqa: SIM115
            text=True,
        )
        try:
            assert conductor.stdout is not None
            for line in conductor.stdout:
                if "is serving" in line:
                    break
            result = measure(args, conf, db, conductor.pid)
        finally:
            conductor.terminate()
            conductor.wait(30)
        db.dispose()
    json.dump(result, sys.stdout)
    print()
    return 0


def measure(args: argparse.Namespace, conf: Any, db: Any, pid: int) -> dict[str, float]:
    broker = open_broker(conf)
    compute = MessagingComputeAPI(broker)
    compute.check_image = lambda *a, **k: None  # type: ignore[method-assign]
    repos = repositories(conf, db, every_writer_here=False)
    app = api_app(conf, api_services(conf, repos, compute), db)
    sinks = []
    for name in HOSTS:
        repos.hosts.report(name, dict(INVENTORY))
        sinks.append(compute_server(broker, name, Sink()))  # type: ignore[arg-type]
        sinks[-1].start()
    client = Client(app)
    body = {"image": IMAGE, "command": COMMAND, "memory": MEMORY_MIB, "cpu": CPU}
    warm = 5
    uuids = []
    for _ in range(args.n + warm):
        answer = client.post("/v1/containers?run=true", json=body, headers=HEADERS)
        assert answer.status_code == 202, answer.get_data(as_text=True)
        uuids.append(answer.get_json()["uuid"])
    control = PatientControl(MessagingControlAPI(broker))
    images = FakeImages(local=[IMAGE])
    runtime = FakeRuntime("bench-a", images=images)
    ops = Operations("bench-a", runtime, images, control, 10, Clock())
    running = Status.RUNNING

    def create(uuid: str) -> None:
        record = repos.containers.get(uuid)
        spec = record.spec()
        ops.create(CreateContainer(spec, True, PullPolicy.IF_NOT_PRESENT, "req-bench"))

    def settled(chosen: list[str]) -> bool:
        return all(
            (c := repos.containers.get(u)).status is running and c.task_state is None
            for u in chosen
        )

    for uuid in uuids[:warm]:
        create(uuid)
    until(lambda: settled(uuids[:warm]))
    measured = uuids[warm:]

    def idle_rate(seconds: float) -> float:
        before, began = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(pid) - before) / (time.monotonic() - began)

    idle = idle_rate(10.0)
    before, began = cpu_seconds(pid), time.monotonic()
    for uuid in measured:
        create(uuid)
    until(lambda: settled(measured))
    used, took = cpu_seconds(pid) - before, time.monotonic() - began
    per_create = (used - idle * took) * 1000 / len(measured)

    me = this_process("bench-a", "conductor_cpu bench")
    control.claim_host(me, 30.0)
    report = HostReport("bench-a", dict(INVENTORY))
    before, began = cpu_seconds(pid), time.monotonic()
    for _ in range(args.heartbeats):
        control.report_host(report)
        control.claim_host(me, 30.0)
    used, took = cpu_seconds(pid) - before, time.monotonic() - began
    per_heartbeat = (used - idle * took) * 1000 / args.heartbeats

    on_host = len(repos.containers.on_host("bench-a"))
    reads = 30
    before, began = cpu_seconds(pid), time.monotonic()
    for _ in range(reads):
        control.containers_on_host("bench-a")
    used, took = cpu_seconds(pid) - before, time.monotonic() - began
    per_read = (used - idle * took) * 1000 / reads
    for sink in sinks:
        sink.stop()
    broker.close()
    return {
        "create_ms": round(per_create, 2),
        "heartbeat_ms": round(per_heartbeat, 2),
        "containers_on_host_ms": round(per_read, 2),
        "records_on_host": on_host,
        "idle_ms_per_s": round(idle * 1000, 2),
        "n": len(measured),
    }


if __name__ == "__main__":
    sys.exit(main())
