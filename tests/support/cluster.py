"""A multi-host cloud as separate processes: one conductor, one API, three compute agents.

Optional: several API processes on the one database (``api_processes``; their keys
are ``api``, ``api-2``, ...), MariaDB in place of PostgreSQL (``database_server``), and
auth_strategy = local with extra API configuration lines (``auth_strategy``,
``api_config``).

The agents drive three independent Docker engines on this machine (the main one and
the two that ``scripts/ensure-engines.sh 2`` starts), each under its own host name,
availability zone and capacity. Everything shares RabbitMQ (an exchange and topics
of this run's own) and a fresh database, on PostgreSQL or MariaDB.

Capacity arithmetic (cpu; memory is left roomy). An agent reports its engine's
``NCPU`` and the scheduler's capacity is ``round(NCPU * cpu_allocation_ratio * 1000)``
milli-CPUs. A host meant to hold exactly ``slots`` containers of ``SLOT_CPU`` (0.1)
gets ``cpu_allocation_ratio = slots * SLOT_CPU / NCPU``; on this 2-CPU machine 17
slots is a ratio of 0.85 and a capacity of 1700 milli = 17 x 100. Memory: 24 GiB
minus 512 MiB reserved, times the default ratio 1.5, is ~35,000 MiB per host, far
above 17 x 32 MiB, so cpu is the only limit that binds. Quotas are unlimited (-1).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
import sqlalchemy as sa

from dockyard.domain.models import LABEL_HOST
from tests.conftest import LATEST, TEST_IMAGE, free_port, private_network_pool, require
from tests.support.broker import TRANSPORT_URL, private_rpc_section, require_rabbitmq
from tests.support.databases import fresh_database

BIN = Path(sys.executable).parent
MAIN_ENGINE = "unix:///var/run/docker.sock"
EXTRA_ENGINES = (
    "unix:///run/dockyard-engines/1/docker.sock",
    "unix:///run/dockyard-engines/2/docker.sock",
)
SLOT_CPU = 0.1
#: [compute] heartbeat_interval and [DEFAULT] service_down_time. Five missed heartbeats
#: make a host down: on a loaded CI machine a heartbeat can come a few seconds late, and a
#: host wrongly seen down refuses creates ("not enough hosts").
#: Options of the services work: where a tree does not know them, oslo.config ignores them.
HEARTBEAT_INTERVAL = 2
SERVICE_DOWN_TIME = 10
#: [compute] lost_create_after and stuck_task_after: how long a record may stay
#: Creating, or in a task its agent is not working on, before the agent repairs it.
#: Short, so that a test can bound how soon casts lost by the broker are repaired.
REPAIR_AFTER = 10
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
READY = {
    "dockyard-conductor": "is serving agents' reports",
    "dockyard-api": "is serving the Zun v1 API",
    "dockyard-compute": "serving host",
}


@dataclass
class HostSpec:
    """One compute host: its name suffix, engine, availability zone and container slots."""

    suffix: str
    engine: str
    availability_zone: str
    slots: int
    #: A network namespace (``ip netns``) the agent runs in, with its engine; "": none.
    netns: str = ""
    #: More lines at the end of the agent's configuration (sections may repeat).
    config: tuple[str, ...] = ()


DEFAULT_HOSTS = (
    HostSpec("a", MAIN_ENGINE, "az1", 17),
    HostSpec("b", EXTRA_ENGINES[0], "az1", 17),
    HostSpec("c", EXTRA_ENGINES[1], "az2", 16),
)


@dataclass
class Process:
    name: str
    binary: str
    config: Path
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    netns: str = ""

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def engine_cpus(url: str) -> int:
    """The engine's NCPU, as the agent will report it; skips loudly when it is absent."""
    try:
        client = docker.APIClient(base_url=url, timeout=10)
    except docker.errors.DockerException as exc:
        require(False, f"!!! Docker engine {url} ({exc}): run scripts/ensure-engines.sh 2")
        raise
    try:
        info = client.info()
        client.inspect_image(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        require(False, f"!!! {TEST_IMAGE} on {url}: run scripts/ensure-engines.sh 2")
        raise
    except (docker.errors.DockerException, requests.RequestException) as exc:
        require(False, f"!!! Docker engine {url} is not answering ({exc}): "
                "run scripts/ensure-engines.sh 2")  # fmt: skip
        raise
    finally:
        client.close()
    return int(info["NCPU"])


@dataclass
class Cluster:
    root: Path
    run_id: str
    database_url: str
    url: str
    hosts: dict[str, HostSpec]
    processes: dict[str, Process] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)
    #: Every API process's URL, ``url`` first (one entry unless api_processes > 1).
    urls: list[str] = field(default_factory=list)
    #: Extra environment of every process (the fault suite's failpoints).
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def apis(self) -> list[str]:
        return [key for key in self.processes if key == "api" or key.startswith("api-")]

    # -- processes -------------------------------------------------------------------

    def host(self, suffix: str) -> str:
        return f"mh-{self.run_id}-{suffix}"

    def launch(self, key: str) -> None:
        proc = self.processes[key]
        with proc.log.open("ab") as log:
            log.write(f"\n===== starting {key} at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            enter = ["nsenter", f"--net=/run/netns/{proc.netns}"] if proc.netns else []
            proc.popen = subprocess.Popen(
                [*enter, str(BIN / proc.binary), "--config-file", str(proc.config)],
                stdout=log,
                stderr=log,
                env={**os.environ, **self.environment} if self.environment else None,
            )

    def wait_ready(self, key: str, timeout: float = 90) -> None:
        proc = self.processes[key]
        text = READY[proc.binary]
        marker = f"===== starting {key}"
        deadline = time.monotonic() + timeout
        while True:
            content = proc.log.read_text(errors="replace")
            if text in content[content.rfind(marker) :]:
                return
            assert proc.alive(), f"{key} exited:\n{content[-4000:]}"
            assert time.monotonic() < deadline, f"{key} never got ready:\n{content[-4000:]}"
            time.sleep(0.2)

    def start(self) -> None:
        # All at once: agents retry their first report until the conductor serves.
        for key in ("conductor", *self.hosts, *self.apis):
            self.launch(key)
        for key in ("conductor", *self.hosts, *self.apis):
            self.wait_ready(key)

    def kill(self, host: str) -> None:
        """SIGKILL a host's agent: no goodbye, as when a machine dies."""
        popen = self.processes[host].popen
        assert popen is not None
        popen.kill()
        popen.wait(timeout=30)

    def restart(self, host: str) -> None:
        proc = self.processes[host]
        if proc.alive():
            assert proc.popen is not None
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        self.launch(host)
        self.wait_ready(host)

    def stop(self) -> None:
        order = [*self.apis, *self.hosts, "conductor"]
        for key in order:
            proc = self.processes.get(key)
            if proc and proc.alive():
                assert proc.popen is not None
                proc.popen.send_signal(signal.SIGTERM)
        for key in order:
            proc = self.processes.get(key)
            if proc and proc.popen is not None:
                try:
                    proc.popen.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait()
        self.session.close()

    def logs(self, tail: int = 6000) -> str:
        parts = []
        for key, proc in self.processes.items():
            text = proc.log.read_text(errors="replace") if proc.log.exists() else ""
            parts.append(f"----- {key} ({proc.log}) -----\n{text[-tail:]}")
        return "\n".join(parts)

    def remove_engine_containers(self) -> int:
        """Force-remove every container labelled with one of this cluster's hosts, on
        every engine (an agent killed mid-test may have left some on another engine)."""
        removed = 0
        engines = {spec.engine for spec in self.hosts.values()}
        for engine in sorted(engines):
            client = docker.APIClient(base_url=engine, timeout=120)
            try:
                for name in self.hosts:
                    found = client.containers(all=True, filters={"label": f"{LABEL_HOST}={name}"})
                    for item in found:
                        try:
                            client.remove_container(item["Id"], force=True)
                            removed += 1
                        except docker.errors.NotFound:
                            pass
                    # Its project networks' bridges too, once their containers are gone.
                    for network in client.networks(filters={"label": f"{LABEL_HOST}={name}"}):
                        with suppress(docker.errors.APIError):
                            client.remove_network(network["Id"])
            finally:
                client.close()
        return removed

    # -- API -------------------------------------------------------------------------

    def request(
        self, method: str, path: str, version: str = LATEST, **kw: Any
    ) -> requests.Response:
        headers = {"OpenStack-API-Version": version, **kw.pop("headers", {})}
        kw.setdefault("timeout", 60)
        return self.session.request(method, self.url + path, headers=headers, **kw)

    def create(
        self,
        body: dict[str, Any] | None = None,
        run: bool = False,
        version: str = LATEST,
        session: requests.Session | None = None,
    ) -> requests.Response:
        full = {"image": TEST_IMAGE, "command": SLEEPER, "memory": 32, "cpu": SLOT_CPU}
        full.update(body or {})
        path = "/v1/containers" + ("?run=true" if run else "")
        headers = {"OpenStack-API-Version": version}
        return (session or self.session).post(
            self.url + path, json=full, headers=headers, timeout=60
        )

    def show(self, ident: str) -> dict[str, Any]:
        response = self.request("GET", f"/v1/containers/{ident}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_settled(self, ident: str, timeout: float = 60) -> dict[str, Any]:
        """Poll until the container has no task running; its record then."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show(ident)
            if shown["task_state"] is None and shown["status"] not in ("Creating", "Deleting"):
                return shown
            assert time.monotonic() < deadline, (
                f"{ident} stayed {shown['status']}/{shown['task_state']}"
            )
            time.sleep(0.2)

    def delete_all(self, timeout: float = 120) -> None:
        """Force-delete every container of the project and wait until the API has none."""
        listed = self.request("GET", "/v1/containers?limit=1000").json()["containers"]
        for item in listed:
            answer = self.request("DELETE", f"/v1/containers/{item['uuid']}?force=true")
            # 409: a delete of it is already under way (its record goes when it ends).
            assert answer.status_code in (204, 404, 409), answer.text
        deadline = time.monotonic() + timeout
        while True:
            left = self.request("GET", "/v1/containers?limit=1000").json()["containers"]
            if not left:
                return
            assert time.monotonic() < deadline, f"not deleted: {[c['uuid'] for c in left]}"
            time.sleep(0.3)

    # -- database --------------------------------------------------------------------

    def host_rows(self) -> dict[str, dict[str, Any]]:
        """The hosts table as the scheduler sees it (capacities after allocation ratios)."""
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT name, availability_zone, cpu_capacity_milli, cpu_used_milli, "
                        "memory_capacity, memory_used, last_seen FROM hosts"
                    )
                ).mappings()
                return {row["name"]: dict(row) for row in rows}
        finally:
            engine.dispose()


def _write(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def running_cluster(
    root: Path,
    specs: Sequence[HostSpec] = DEFAULT_HOSTS,
    sync_interval: int = 2,
    workers: int = 8,
    api_threads: int = 64,
    call_timeout: int = 30,
    database: str = "postgresql",
    repair_after: int | None = None,
    api_processes: int = 1,
    auth_strategy: str = "noauth",
    api_config: Sequence[str] = (),
    conductor_config: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    route_database: Callable[[str], str] | None = None,
    route_broker: Callable[[str], str] | None = None,
    before_start: Callable[[Cluster], None] | None = None,
) -> Iterator[Cluster]:
    """Start the cluster; stop it, remove its engine containers and drop its database after.

    ``database`` is ``postgresql`` or ``mariadb``; ``repair_after`` sets the agents'
    repair windows (None keeps the defaults). ``api_config`` lines go at the end of
    every API process's configuration (and so are seen by ``dockyard-manage`` run
    with ``cluster.processes["api"].config``); ``conductor_config`` lines go at the end
    of the conductor's. ``environment`` is added to every
    process's; ``route_database`` and ``route_broker`` rewrite the URLs the processes
    are given (the fault suite's proxies), while ``Cluster.database_url`` stays direct.
    ``before_start`` may add processes (an ``api-*`` key starts with the APIs).
    """
    require_rabbitmq()
    cpus = {spec.engine: engine_cpus(spec.engine) for spec in specs}
    run_id = uuid.uuid4().hex[:6]
    rpc_section, _names = private_rpc_section(root, call_timeout=call_timeout)
    ports = [free_port() for _ in range(api_processes)]
    quota = ["[quota]", "containers = -1", "cpu = -1", "memory = -1", "disk = -1"]
    with fresh_database(database) as database_url:
        common = [
            f"transport_url = {(route_broker or str)(TRANSPORT_URL)}",
            f"auth_strategy = {auth_strategy}",
            f"service_down_time = {SERVICE_DOWN_TIME}",
        ]
        db_section = ["[database]", f"connection = {(route_database or str)(database_url)}"]
        compute = [
            "[compute]",
            f"sync_interval = {sync_interval}",
            f"heartbeat_interval = {HEARTBEAT_INTERVAL}",
        ]
        if repair_after is not None:
            compute += [f"lost_create_after = {repair_after}", f"stuck_task_after = {repair_after}"]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        network_pool = private_network_pool()
        cluster = Cluster(
            root, run_id, database_url, urls[0], {}, urls=urls, environment=dict(environment or {})
        )
        # One key for every API process: each must read what another stored.
        encryption_key = secrets.token_hex(32)
        api_confs = []
        for index, port in enumerate(ports):
            suffix = "" if index == 0 else f"-{index + 1}"
            api_confs.append(
                _write(
                    root / f"api{suffix}.conf",
                    [
                        "[DEFAULT]",
                        *common,
                        f"data_dir = {root / ('api' + suffix)}",
                        f"auth_encryption_key = {encryption_key}",
                        *db_section,
                        *compute,
                        "[api]",
                        f"port = {port}",
                        f"threads = {api_threads}",
                        "shutdown_timeout = 10",
                        *quota,
                        rpc_section,
                        # The engines share this machine's kernel (and other runs): a
                        # pool of this run's own keeps their bridges apart.
                        "[network]",
                        f"project_network_pool = {network_pool}",
                        *api_config,
                    ],
                )
            )
        api_conf = api_confs[0]
        conductor_conf = _write(
            root / "conductor.conf",
            ["[DEFAULT]", *common, f"host = conductor-{run_id}", *db_section, *compute, *quota,
             rpc_section, *conductor_config],
        )  # fmt: skip
        cluster.processes["conductor"] = Process(
            "conductor", "dockyard-conductor", conductor_conf, root / "conductor.log"
        )
        for spec in specs:
            name = cluster.host(spec.suffix)
            cluster.hosts[name] = spec
            ratio = spec.slots * SLOT_CPU / cpus[spec.engine]
            conf = _write(
                root / f"compute-{spec.suffix}.conf",
                [
                    "[DEFAULT]",
                    *common,
                    f"host = {name}",
                    f"data_dir = {root / name}",
                    *compute,
                    f"workers = {workers}",
                    f"availability_zone = {spec.availability_zone}",
                    f"cpu_allocation_ratio = {ratio!r}",
                    # Several agents on one machine: each console proxy takes a free port.
                    "[websocket_proxy]",
                    "wsproxy_port = 0",
                    "[docker]",
                    f"api_url = {spec.engine}",
                    "default_stop_timeout = 1",
                    "[api]",
                    "shutdown_timeout = 10",
                    rpc_section,
                    *spec.config,
                ],
            )
            cluster.processes[name] = Process(
                name,
                "dockyard-compute",
                conf,
                root / f"compute-{spec.suffix}.log",
                netns=spec.netns,
            )
        for index, conf in enumerate(api_confs):
            key = "api" if index == 0 else f"api-{index + 1}"
            cluster.processes[key] = Process(key, "dockyard-api", conf, root / f"{key}.log")
        migrated = subprocess.run(
            [str(BIN / "dockyard-manage"), "--config-file", str(api_conf), "db", "upgrade"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr
        if before_start is not None:
            before_start(cluster)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
            cluster.remove_engine_containers()
