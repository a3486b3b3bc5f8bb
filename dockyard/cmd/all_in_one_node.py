"""The parts of the all-in-one process, wired from configuration: API, conductor's use
case and one agent, talking in process (or over a broker when configured so)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oslo_config import cfg

from dockyard.api.app import WSGIApp
from dockyard.api.services import Services
from dockyard.cmd.authentication import api_app
from dockyard.cmd.host_agent import DriverChoice, build_agent, choose_drivers
from dockyard.cmd.identity import OPENRC, auth_url, bootstrap_admin
from dockyard.cmd.network_pool import keep_network_pool
from dockyard.cmd.periodic import Periodic
from dockyard.cmd.services import (
    api_services,
    control_service,
    keep_encryption_key,
    neutron_watch,
)
from dockyard.cmd.serving import start_server
from dockyard.cmd.signals import wait_for_signal
from dockyard.cmd.storage import Repositories, open_local_database, repositories
from dockyard.compute.agent import ComputeAgent
from dockyard.compute.host_claim import HostInUse
from dockyard.config import api, default
from dockyard.config import rpc as rpc_config
from dockyard.db.session import Database
from dockyard.domain.clock import Clock
from dockyard.rpc.local import LocalComputeAPI

if TYPE_CHECKING:
    from dockyard.rpc.messaging import Broker, Server


@dataclass
class AllInOne:
    app: WSGIApp
    services: Services
    agent: ComputeAgent
    db: Database
    api: api.ApiConfig
    #: Under rpc_transport = messaging: the broker, the agent's server, the control's server.
    rpc: tuple[Broker, Server, Server] | None = None
    #: Under the neutron network driver: the loop keeping hosts' rules true to Neutron.
    watch: Periodic | None = None

    def stop(self, timeout: float) -> bool:
        """Stop taking work, finish what runs (up to ``timeout`` s); whether all finished."""
        if self.watch is not None:
            self.watch.stop()
        if self.rpc is None:
            return self.agent.stop(timeout)
        broker, agent_server, control_server = self.rpc
        agent_server.stop()
        finished = self.agent.stop(timeout)
        control_server.stop()
        broker.close()
        return finished


def all_in_one_description(conf: cfg.ConfigOpts) -> str:
    """How this process is named to a second agent that would serve the same host."""
    settings = api.view(conf)
    return (
        f"dockyard up (API on {settings.host_ip}:{settings.port}, "
        f"data in {default.view(conf).data_dir})"
    )


def build(conf: cfg.ConfigOpts) -> AllInOne:
    drivers = choose_drivers(conf)  # an unknown driver stops the process before any I/O
    db = open_local_database(conf, Clock())  # the process's one clock, as db.clock
    keep_encryption_key(conf)
    keep_network_pool(conf)
    repos = repositories(conf, db, every_writer_here=True)
    if rpc_config.view(conf).rpc_transport == "messaging":
        return _build_over_broker(conf, drivers, db, repos)
    agent = build_agent(
        conf,
        drivers,
        control_service(conf, repos),
        db.clock,
        repos.installation.id(),
        all_in_one_description(conf),
    )
    compute_api = LocalComputeAPI({agent.host: agent})
    services = api_services(conf, repos, compute_api)
    node = AllInOne(api_app(conf, services, db), services, agent, db, api.view(conf))
    node.watch = neutron_watch(conf, repos, compute_api)
    if node.watch is not None:
        node.watch.start()
    return node


def _build_over_broker(
    conf: cfg.ConfigOpts, drivers: DriverChoice, db: Database, repos: Repositories
) -> AllInOne:
    """The all-in-one process with every RPC going through the broker, as in the cloud shape."""
    # Imported here: oslo.messaging is slow to import and warns about eventlet, and the
    # usual all-in-one (rpc_transport = local) never uses it.
    from dockyard.cmd.broker import open_broker
    from dockyard.rpc import messaging

    host = default.view(conf).host
    broker = open_broker(conf)
    controls = messaging.control_server(broker, host, control_service(conf, repos))
    controls.start()
    agent = build_agent(
        conf,
        drivers,
        messaging.MessagingControlAPI(broker),
        db.clock,
        repos.installation.id(),
        all_in_one_description(conf),
    )
    agents = messaging.compute_server(broker, host, agent)
    agents.start()
    compute_api = messaging.MessagingComputeAPI(broker)
    services = api_services(conf, repos, compute_api)
    node = AllInOne(api_app(conf, services, db), services, agent, db, api.view(conf))
    node.rpc = (broker, agents, controls)
    node.watch = neutron_watch(conf, repos, compute_api)
    if node.watch is not None:
        node.watch.start()
    return node


def _announce_admin(conf: cfg.ConfigOpts, node: AllInOne) -> None:
    """Create the first admin under auth_strategy = local and show its credentials once."""
    if conf.auth_strategy != "local":
        return
    created = bootstrap_admin(conf, node.db)
    if created is None:
        return
    path, text = created
    print(
        "Created the project and user `admin` with role admin; its credentials are shown "
        f"this once and saved to {path} (mode 0600):\n\n{text}",
        flush=True,
    )


def serve(conf: cfg.ConfigOpts) -> int:
    """Build, serve until SIGTERM/SIGINT, then stop; 0 when every operation finished."""
    node = build(conf)
    _announce_admin(conf, node)
    try:
        node.agent.start()
    except HostInUse as exc:
        node.stop(timeout=0)
        node.db.dispose()
        print(f"Dockyard cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    server = start_server(node.app, node.api)
    url = f"{node.api.scheme}://{node.api.host_ip}:{node.api.port}"
    print(
        f"Dockyard is serving the Zun v1 API on {url}/v1 "
        f"(host {conf.host}, data in {conf.data_dir}).",
        flush=True,
    )
    if conf.dashboard.enabled:
        print(f"The dashboard is at {url}/dashboard/.", flush=True)
    if conf.auth_strategy == "local":
        print(
            f"Log in with OS_AUTH_URL={auth_url(conf)} (Dockyard's own identity; the first "
            f"admin's credentials are in {Path(conf.data_dir) / OPENRC}).",
            flush=True,
        )
    wait_for_signal()
    node.services.changes.close()  # requests waiting for a change answer now
    server.stop()
    finished = node.stop(timeout=node.api.shutdown_timeout)
    node.db.dispose()
    print("Dockyard stopped" + ("." if finished else " with operations still running."))
    return 0 if finished else 1
