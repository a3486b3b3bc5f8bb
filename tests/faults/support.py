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
from dockyard.drivers.volume.base import engine_volume_name
from dockyard.drivers.volume.local.host import LABEL_VOLUME_ID
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
#: The steps whose case makes a container (each with volumes).
CONTAINER_STEPS = (*CREATE_STEPS, "stop", "delete")
#: Held in the API process (the POST waits), not in the agent.
API_STEPS = frozenset({"create.before_claim", "create.after_claim"})
#: The registry's copy of the test image, pulled (policy ``always``) at create.pulling.
PULLED_IMAGE = "127.0.0.1:5001/dockyard-test/busybox:latest"
#: The port the rule-change case opens in the project's ``default`` group.
RULE_PORT = 4711
#: Every container a case makes gets a volume of its own (made with it, removed with
#: it) here, and the case's kept volume (tests/faults/conftest.py kept_volumes) at KEEP.
NEW_VOLUME = {"size": 1, "destination": "/data"}
KEEP = "/keep"
#: The file the kept volumes hold from before the suite's faults (kept_volumes).
MARKER = "kept-by-the-fault-suite"
#: The block-storage API's volumes of the project every request acts in under noauth
#: ([DEFAULT] noauth_project_id).
VOLUMES = "/volume/v3/dockyard/volumes"
#: How the engine names a Dockyard volume, before its id.
ENGINE_VOLUME = engine_volume_name("")


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
      that runs without a claim, or a project's quota usage that differs from its claims;
    - a volume left ``creating`` or ``deleting`` (unless an engine container an Error
      record kept still mounts it: it goes with that record), held by a container that has no
      record, made for a container (``auto_remove``) but held by none, or whose status
      says otherwise than its attachments; a host's claimed disk or a project's ``disk``
      usage that differ from its volumes' and claimed records' GiB;
    - on each host, a volume file, mount point or engine volume that no volume record
      placed there owns, or a volume record placed there that lacks one of them.
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
                        "disk, claimed FROM containers"
                    )
                ).mappings()
            ]
            hosts = {
                row["name"]: dict(row)
                for row in conn.execute(
                    sa.text("SELECT name, cpu_used_milli, memory_used, disk_used FROM hosts")
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
            volumes = [
                dict(row)
                for row in conn.execute(
                    sa.text(
                        "SELECT uuid, project_id, size_gib, status, host, auto_remove FROM volumes"
                    )
                ).mappings()
            ]
            held = {
                row["volume_uuid"]: row["container_uuid"]
                for row in conn.execute(
                    sa.text("SELECT volume_uuid, container_uuid FROM volume_attachments")
                ).mappings()
            }
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
        disk = sum(row["disk"] or 0 for row in mine)
        disk += sum(volume["size_gib"] for volume in volumes if volume["host"] == name)
        if (host["cpu_used_milli"], host["memory_used"], host["disk_used"]) != (cpu, memory, disk):
            found.append(
                f"host {name} uses {host['cpu_used_milli']} mCPU/{host['memory_used']} MiB/"
                f"{host['disk_used']} GiB, its claimed records and volumes {cpu}/{memory}/{disk}"
            )
    projects = (
        {row["project_id"] for row in rows}
        | {project for project, _ in usages}
        | {volume["project_id"] for volume in volumes}
    )
    for project in projects:
        mine = [row for row in claimed if row["project_id"] == project]
        expected = {
            "containers": len(mine),
            "cpu": sum(round((row["cpu"] or 0) * 1000) for row in mine),
            "memory": sum(row["memory"] or 0 for row in mine),
            "disk": sum(row["disk"] or 0 for row in mine)
            + sum(v["size_gib"] for v in volumes if v["project_id"] == project),
        }
        for resource, value in expected.items():
            in_use = usages.get((project, resource), 0)
            if in_use != value:
                found.append(f"project {project} {resource} in use {in_use}, claimed {value}")
    found += leaked_ports(ports, owned)
    status_of = {row["uuid"]: row["status"] for row in rows}
    found += volume_records(volumes, held, owned, kept_by_error(on_engine, status_of))
    for host_name, spec in cluster.hosts.items():
        placed = {v["uuid"] for v in volumes if v["host"] == host_name}
        found += volume_data(cluster, installation, host_name, spec.engine, placed)
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


def kept_by_error(on_engine: dict[str, dict[str, Any]], status_of: dict[str, str]) -> set[str]:
    """Volumes mounted by the engine container an Error record kept (a create or delete
    that met the engine down): removed once the user deletes that record."""
    return {
        name.removeprefix(ENGINE_VOLUME)
        for ident, item in on_engine.items()
        if status_of.get(ident) == "Error"
        for mount in item.get("Mounts") or []
        if (name := str(mount.get("Name") or "")).startswith(ENGINE_VOLUME)
    }


def volume_records(
    volumes: list[dict[str, Any]],
    held: dict[str, str],
    containers: set[str],
    waiting: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Volume records at odds with their attachments or with the container records;
    ``waiting``: volumes whose removal waits for an Error record's engine container."""
    found: list[str] = []
    for volume in volumes:
        label = f"volume {volume['uuid'][:8]} ({volume['status']})"
        holder = held.get(volume["uuid"])
        if volume["status"] == "deleting" and volume["uuid"] in waiting:
            continue
        if volume["status"] in ("creating", "deleting"):
            found.append(f"{label} is still {volume['status']}")
        elif holder is not None and holder not in containers:
            found.append(f"{label} is held by {holder[:8]}, which has no record")
        elif volume["auto_remove"] and holder is None:
            found.append(f"{label} was made for a container and outlived it")
        elif (volume["status"] == "in-use") != (holder is not None):
            found.append(f"{label} is held by {holder and holder[:8]}")
    return found


def volumes_root(cluster: Cluster, installation: str, host: str) -> Path:
    """Where the host's agent keeps its volumes' files: ``[volume] volumes_dir`` unset,
    so ``<data_dir>/volumes/<installation>/<host>`` (dockyard/drivers/volume/local)."""
    return cluster.root / host / "volumes" / installation / host


def volume_data(
    cluster: Cluster, installation: str, host: str, engine_url: str, placed: set[str]
) -> list[str]:
    """What the host holds of volumes (files, mount points, engine volumes) against the
    volume records placed on it: each must have all three, and nothing else may exist."""
    root = volumes_root(cluster, installation, host)
    names = [item.name for item in root.iterdir()] if root.is_dir() else []
    files = {name.removesuffix(".img") for name in names if name.endswith(".img")}
    partial = [name for name in names if name.endswith(".img.new")]
    mounts = {
        Path(line.split()[1]).name
        for line in Path("/proc/mounts").read_text().splitlines()
        if line.split()[1].startswith(f"{root / 'mnt'}/")
    }
    client = docker.APIClient(base_url=engine_url, timeout=30)
    try:
        listed = client.volumes(filters={"label": f"{LABEL_HOST}={host}"}).get("Volumes") or []
    finally:
        client.close()
    on_engine = {item["Labels"][LABEL_VOLUME_ID] for item in listed}
    found = [f"host {host}: a volume file {name} was left half made" for name in partial]
    for what, present in (("file", files), ("mount", mounts), ("engine volume", on_engine)):
        found += [f"host {host}: volume {i[:8]}'s {what} has no record" for i in present - placed]
        found += [f"host {host}: volume {i[:8]} has no {what}" for i in placed - present]
    return found


def kept_volume_problems(cluster: Cluster, volume_id: str, attached: bool = False) -> list[str]:
    """What is wrong with a kept volume: [] when it is recorded on the cluster's host,
    ``in-use`` by one container if ``attached`` (else ``available``, held by none), and
    its filesystem, mounted, still holds the MARKER file written before any fault."""
    engine = sa.create_engine(cluster.database_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT status, host FROM volumes WHERE uuid = :v"), {"v": volume_id}
            ).first()
            holders = conn.execute(
                sa.text("SELECT count(*) FROM volume_attachments WHERE volume_uuid = :v"),
                {"v": volume_id},
            ).scalar_one()
            installation = conn.execute(sa.text("SELECT id FROM installation")).scalar_one()
    finally:
        engine.dispose()
    label = f"kept volume {volume_id[:8]}"
    if row is None:
        return [f"{label} has no record"]
    wanted = ("in-use", 1) if attached else ("available", 0)
    found = []
    if (row.status, holders) != wanted:
        found.append(f"{label} is {row.status} with {holders} holders, not {wanted}")
    if row.host not in cluster.hosts:
        return [*found, f"{label} is on host {row.host!r}"]
    marker = volumes_root(cluster, installation, row.host) / "mnt" / volume_id / MARKER
    try:
        if marker.read_text().strip() != MARKER:
            found.append(f"{label}: {marker} holds {marker.read_text()[:40]!r}")
    except OSError as exc:
        found.append(f"{label}: {marker}: {exc.strerror}")
    return found


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
