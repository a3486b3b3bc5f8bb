"""Holding operations at failpoints, and the checks every fault case ends with."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
import sqlalchemy as sa

from dockyard.domain.models import LABEL_CONTAINER_ID, LABEL_HOST
from dockyard.domain.networks import DEVICE_OWNER
from dockyard.domain.states import from_engine
from dockyard.drivers.network.local.firewall import NftablesFirewall, kernel_tools_present
from tests.support.cluster import Cluster

#: The steps at which a case holds an operation, in the order of the table.
CREATE_STEPS = (
    "create.before_claim",
    "create.after_claim",
    "create.pulling",
    "create.before_start",
    "create.before_report",
)
STEPS = (*CREATE_STEPS, "stop", "delete", "rules")
#: Held in the API process (the POST waits), not in the agent.
API_STEPS = frozenset({"create.before_claim", "create.after_claim"})
#: The registry's copy of the test image, pulled (policy ``always``) at create.pulling.
PULLED_IMAGE = "127.0.0.1:5001/dockyard-test/busybox:latest"
#: The port the rule-change case opens in the project's ``default`` group.
RULE_PORT = 4711


class Holds:
    """The test's side of dockyard/domain/failpoints.py: arm, wait, release by file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, point: str, subject: str, suffix: str) -> Path:
        return self.directory / f"{point}@{subject}.{suffix}"

    def arm(self, point: str, subject: str) -> None:
        self._file(point, subject, "arm").touch()

    def wait_reached(self, point: str, subject: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self._file(point, subject, "reached").exists():
            assert time.monotonic() < deadline, f"{point} was never reached by {subject}"
            time.sleep(0.05)

    def release_all(self) -> None:
        for armed in self.directory.glob("*.arm"):
            armed.with_suffix(".release").touch()


@dataclass
class Case:
    """One operation held at one step: what happened to it, and when it settled."""

    step: str
    name: str
    uuid: str | None = None
    #: The answer to the held POST (API steps), set by its thread.
    answer: requests.Response | None = None
    error: str | None = None
    thread: threading.Thread | None = None
    outcome: str | None = None
    settled_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def record(cluster: Cluster, ident: str) -> dict[str, Any] | None:
    response = cluster.request("GET", f"/v1/containers/{ident}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_name(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    listed = cluster.request("GET", "/v1/containers?limit=1000").json()["containers"]
    return [item for item in listed if item["name"] == name]


def definite(shown: dict[str, Any] | None) -> bool:
    return shown is None or (
        shown["task_state"] is None and shown["status"] not in ("Creating", "Deleting")
    )


def describe(shown: dict[str, Any] | None) -> str:
    if shown is None:
        return "record gone"
    if shown["status"] == "Error":
        reason = (shown.get("status_reason") or "").splitlines()[0:1]
        return f"Error: {reason[0][:90] if reason else ''}"
    return str(shown["status"])


# -- the checks ---------------------------------------------------------------------


def engine_containers(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """Every engine container labelled with one of the cluster's hosts, by Dockyard uuid."""
    found: dict[str, dict[str, Any]] = {}
    for host, spec in cluster.hosts.items():
        client = docker.APIClient(base_url=spec.engine, timeout=30)
        try:
            for item in client.containers(all=True, filters={"label": f"{LABEL_HOST}={host}"}):
                found[item["Labels"][LABEL_CONTAINER_ID]] = item
        finally:
            client.close()
    return found


def violations(cluster: Cluster) -> list[str]:
    """What is wrong now between records, claims, quota usage and the engine; [] if nothing.

    - a record in a task state, Creating or Deleting (the case waits at most its bound);
    - a record whose engine container is missing or in another state (Error may have one
      or not, but holds no claim without one);
    - an engine container labelled with a host of the cluster that no record owns;
    - a host whose used cpu/memory differ from the sum of its claimed records, a record
      that runs without a claim, or a project's quota usage that differs from its claims.
    """
    found: list[str] = []
    engine = sa.create_engine(cluster.database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            rows = [
                dict(row)
                for row in conn.execute(
                    sa.text(
                        "SELECT uuid, name, project_id, host, status, task_state, cpu, memory, "
                        "claimed FROM containers"
                    )
                ).mappings()
            ]
            hosts = {
                row["name"]: dict(row)
                for row in conn.execute(
                    sa.text("SELECT name, cpu_used_milli, memory_used FROM hosts")
                ).mappings()
            }
            usages = {
                (row["project_id"], row["resource"]): row["in_use"]
                for row in conn.execute(
                    sa.text("SELECT project_id, resource, in_use FROM quota_usages")
                ).mappings()
            }
            ports = [
                dict(row)
                for row in conn.execute(
                    sa.text("SELECT id, device_id, device_owner, host FROM ports")
                ).mappings()
            ]
            guarded = [
                (row["host"], row["ip_address"])
                for row in conn.execute(
                    sa.text(
                        "SELECT p.host, a.ip_address FROM ports p "
                        "JOIN port_addresses a ON a.port_id = p.id "
                        "WHERE EXISTS (SELECT 1 FROM port_security_groups g "
                        "WHERE g.port_id = p.id)"
                    )
                ).mappings()
            ]
            installation = conn.execute(sa.text("SELECT id FROM installation")).scalar_one()
    finally:
        engine.dispose()
    on_engine = engine_containers(cluster)
    for row in rows:
        label = f"{row['name']} ({row['uuid'][:8]})"
        if row["task_state"] is not None or row["status"] in ("Creating", "Deleting"):
            found.append(f"{label} is still {row['status']}/{row['task_state']}")
            continue
        item = on_engine.get(row["uuid"])
        if row["status"] == "Error":
            # An Error record may keep its engine container (a failed stop or delete;
            # the user deletes it), but a claim with nothing behind it is a leak.
            if item is None and row["claimed"]:
                found.append(f"{label} is Error without an engine container but claimed")
            continue
        if item is None:
            found.append(f"{label} is {row['status']} but has no engine container")
        elif str(from_engine(item["State"])) != row["status"]:
            found.append(f"{label} is {row['status']}, its engine container {item['State']}")
        if not row["claimed"]:
            found.append(f"{label} is {row['status']} without a claim")
    owned = {row["uuid"] for row in rows}
    for ident, item in on_engine.items():
        if ident not in owned:
            found.append(f"engine container {item['Names']} ({ident[:8]}) has no record")
    claimed = [row for row in rows if row["claimed"]]
    for name, host in hosts.items():
        mine = [row for row in claimed if row["host"] == name]
        cpu = sum(round((row["cpu"] or 0) * 1000) for row in mine)
        memory = sum(row["memory"] or 0 for row in mine)
        if (host["cpu_used_milli"], host["memory_used"]) != (cpu, memory):
            found.append(
                f"host {name} uses {host['cpu_used_milli']} mCPU/{host['memory_used']} MiB, "
                f"its claimed records {cpu}/{memory}"
            )
    projects = {row["project_id"] for row in rows} | {project for project, _ in usages}
    for project in projects:
        mine = [row for row in claimed if row["project_id"] == project]
        expected = {
            "containers": len(mine),
            "cpu": sum(round((row["cpu"] or 0) * 1000) for row in mine),
            "memory": sum(row["memory"] or 0 for row in mine),
        }
        for resource, value in expected.items():
            in_use = usages.get((project, resource), 0)
            if in_use != value:
                found.append(f"project {project} {resource} in use {in_use}, claimed {value}")
    found += leaked_ports(ports, owned)
    if kernel_tools_present():
        for host_name in cluster.hosts:
            wanted = {address for on, address in guarded if on == host_name}
            enforced = guarded_addresses(installation, host_name)
            if enforced != wanted:
                found.append(
                    f"host {host_name} guards {sorted(enforced)} in the kernel, "
                    f"its ports {sorted(wanted)}"
                )
    return found


def leaked_ports(ports: list[dict[str, Any]], containers: set[str]) -> list[str]:
    """Ports Dockyard made (and so their addresses) whose container has no record."""
    return [
        f"port {port['id'][:8]} ({port['host']}) outlived its container {port['device_id'][:8]}"
        for port in ports
        if port["device_owner"] == DEVICE_OWNER and port["device_id"] not in containers
    ]


def firewall_table(installation: str, host: str) -> str:
    """The host's nftables table as ``nft`` lists it; "" when it is not there."""
    table = NftablesFirewall(installation, host).names.table
    listed = subprocess.run(
        ["nft", "list", "table", "inet", table], capture_output=True, text=True, timeout=60
    )
    return listed.stdout if listed.returncode == 0 else ""


def guarded_addresses(installation: str, host: str) -> set[str]:
    """The addresses whose ingress the host's table guards."""
    return set(re.findall(r"([0-9a-f.:]+) : jump i_", firewall_table(installation, host)))


def installation_of(cluster: Cluster) -> str:
    engine = sa.create_engine(cluster.database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT id FROM installation")).scalar_one())
    finally:
        engine.dispose()


def wait_clean(cluster: Cluster, bound: float) -> float:
    """Seconds until ``violations`` is empty; fails with what is left past ``bound``."""
    start = time.monotonic()
    while True:
        left = violations(cluster)
        elapsed = time.monotonic() - start
        if not left:
            return elapsed
        assert elapsed < bound, f"not settled after {elapsed:.1f} s:\n" + "\n".join(left)
        time.sleep(0.5)
