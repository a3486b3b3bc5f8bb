"""One cloud for the whole fault suite, every fault private to it.

One conductor, one API and one agent, as separate processes (tests/support/cluster.py).
The agent drives a Docker engine of the suite's own (tests/support/private_engine.py),
which the suite may SIGKILL and whose small disk a pull may fill. The processes reach
PostgreSQL and RabbitMQ through fault proxies (tests/support/faultproxy.py), so that
cutting them off kills their connections and nobody else's. Every failpoint is enabled
(dockyard/domain/failpoints.py); the cases arm the ones they hold.

Each case's figures are collected in ``RESULTS`` and written as JSON at the end, to
``$DOCKYARD_FAULTS_JSON`` when set (scripts/render-reliability.py renders the table
of docs/reliability.md from it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.domain.failpoints import POINTS
from tests.faults.support import Holds
from tests.support.cluster import REPAIR_AFTER, Cluster, HostSpec, running_cluster
from tests.support.faultproxy import FaultProxy
from tests.support.private_engine import PrivateEngine, private_engine

pytestmark = pytest.mark.docker

RESULTS: list[dict[str, Any]] = []


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
        specs=(HostSpec("f", engine.url, "az1", 17),),
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("DOCKYARD_FAULTS_JSON")
    if target and RESULTS:
        Path(target).write_text(json.dumps(RESULTS, indent=1, sort_keys=True) + "\n")
