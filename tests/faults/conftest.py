"""One cloud for the whole fault suite, every fault private to it.

One conductor, one API and one agent, as separate processes (tests/support/cluster.py).
The agent drives a Docker engine of the suite's own (tests/support/private_engine.py),
which the suite may SIGKILL and whose small disk a pull may fill. The processes reach
PostgreSQL and RabbitMQ through fault proxies (tests/support/faultproxy.py), so that
cutting them off kills their connections and nobody else's. Every failpoint is enabled
(dockyard/domain/failpoints.py); the cases arm the ones they hold.

The private engine's disk is small (192 MiB, for the disk-full case), so the agent
offers the scheduler ``DISK_GIB`` of disk instead ([compute] disk_total_gib): the
cases' containers each carry a volume of 1 GiB (a sparse file on the machine's disk,
beside the agent's data directory, not on the engine's). ``kept_volumes`` are the
named volumes the cases attach, made and written to once, before any fault.

Each case's figures are collected in ``RESULTS`` and written as JSON at the end, to
``$DOCKYARD_FAULTS_JSON`` when set (scripts/render-reliability.py renders the table
of docs/reliability.md from it).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.domain.failpoints import POINTS
from tests.faults.support import (
    CONTAINER_STEPS,
    MARKER,
    VOLUMES,
    Holds,
    kept_volume_problems,
)
from tests.support.cluster import REPAIR_AFTER, Cluster, HostSpec, running_cluster
from tests.support.faultproxy import FaultProxy
from tests.support.private_engine import PrivateEngine, private_engine

pytestmark = pytest.mark.docker

RESULTS: list[dict[str, Any]] = []
#: GiB the fault host offers: room for every case's volumes, kept and new, twice over.
DISK_GIB = 64


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateEngine]:
    with private_engine(tmp_path_factory.mktemp("fault-engine")) as started:
        yield started


@pytest.fixture(scope="session")
def database_proxy() -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", 5432) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def broker_proxy() -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", 5672) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def holds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holds]:
    found = Holds(tmp_path_factory.mktemp("failpoints"))
    yield found
    found.release_all()


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    engine: PrivateEngine,
    database_proxy: FaultProxy,
    broker_proxy: FaultProxy,
    holds: Holds,
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("fault-cloud")
    environment = {
        "DOCKYARD_FAILPOINTS": ",".join(sorted(POINTS)),
        "DOCKYARD_FAILPOINT_DIR": str(holds.directory),
        "DOCKYARD_FAILPOINT_TIMEOUT": "150",
    }
    with running_cluster(
        root,
        specs=(
            HostSpec(
                "f", engine.url, "az1", 17, config=("[compute]", f"disk_total_gib = {DISK_GIB}")
            ),
        ),
        repair_after=REPAIR_AFTER,
        call_timeout=10,
        environment=environment,
        route_database=database_proxy.url,
        route_broker=broker_proxy.url,
    ) as started:
        try:
            yield started
        finally:
            holds.release_all()
            _unmount_under(root)


def _unmount_under(root: Path) -> None:
    """Volumes the agent could not remove before it stopped (a failed run) stay mounted
    from the machine's loop devices: unmounted here (the loop devices go with them)."""
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1]
        if point.startswith(f"{root}/"):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def kept_volumes(cluster: Cluster) -> Iterator[dict[str, str]]:
    """A named volume for each step whose case makes a container, by step: made through
    the block-storage API, realised on the host by one container that writes MARKER into
    each, then left available. Each fault case attaches them; they must outlive it.
    Deleted at the end through the API (the agent removes their data)."""
    kept: dict[str, str] = {}
    for step in CONTAINER_STEPS:
        made = cluster.request(
            "POST", VOLUMES, json={"volume": {"size": 1, "name": f"kept-{step}"}}
        )
        assert made.status_code == 202, made.text
        kept[step] = made.json()["volume"]["id"]
    writes = "; ".join(f"echo {MARKER} > /k{i}/{MARKER}" for i in range(len(kept)))
    mounts = [{"source": v, "destination": f"/k{i}"} for i, v in enumerate(kept.values())]
    writer = cluster.create(
        {"name": "kept-writer", "command": ["sh", "-c", f"{writes}; sleep 3600"], "mounts": mounts},
        run=True,
    )
    assert writer.status_code == 202, writer.text
    deadline = time.monotonic() + 120
    while any(kept_volume_problems(cluster, volume, attached=True) for volume in kept.values()):
        shown = cluster.show(writer.json()["uuid"])
        assert shown["status"] != "Error" and time.monotonic() < deadline, shown
        time.sleep(0.5)
    cluster.delete_all()
    for volume in kept.values():
        assert not kept_volume_problems(cluster, volume), volume
    yield kept
    cluster.delete_all()  # a failed case may have left holders
    for volume in kept.values():
        answer = cluster.request("DELETE", f"{VOLUMES}/{volume}")
        assert answer.status_code in (202, 404), answer.text
    deadline = time.monotonic() + 60
    while cluster.request("GET", VOLUMES).json()["volumes"]:
        assert time.monotonic() < deadline, "the kept volumes were not removed"
        time.sleep(0.5)


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("DOCKYARD_FAULTS_JSON")
    if target and RESULTS:
        Path(target).write_text(json.dumps(RESULTS, indent=1, sort_keys=True) + "\n")
