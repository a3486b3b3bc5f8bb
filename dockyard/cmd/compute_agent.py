"""`dockyard-compute`: one host's agent. No database: it reports to the conductor over RPC.

This module must not import SQLAlchemy, the database, the API or the identity code
(an import-linter contract and tests/unit/cmd/test_compute_agent_imports.py hold it).
"""

from __future__ import annotations

import logging
import sys
import time

from prometheus_client import start_http_server

from dockyard.cmd.broker import open_broker
from dockyard.cmd.configuration import load_service_config, setup_logging
from dockyard.cmd.host_agent import build_agent, choose_drivers
from dockyard.cmd.signals import wait_for_signal
from dockyard.compute.host_claim import HostInUse
from dockyard.config import api, compute, default
from dockyard.domain.clock import Clock
from dockyard.domain.errors import Unavailable
from dockyard.rpc.messaging import MessagingControlAPI, compute_server

LOG = logging.getLogger("dockyard")


def main(argv: list[str] | None = None) -> int:
    conf = load_service_config(
        sys.argv[1:] if argv is None else argv, "dockyard-compute", libraries_too=False
    )
    setup_logging(conf)
    drivers = choose_drivers(conf)
    broker = open_broker(conf)
    host = default.view(conf).host
    control = MessagingControlAPI(broker)
    while True:
        try:
            # Agents hold no database credentials: the conductor tells the installation.
            installation = control.installation()
            break
        except Unavailable as exc:  # the conductor is not up yet
            LOG.warning("agent %s cannot register yet: %s", host, exc.detail)
            time.sleep(2)
    agent = build_agent(conf, drivers, control, Clock(), installation, "dockyard-compute")
    try:
        agent.start()
    except HostInUse as exc:
        broker.close()
        print(f"dockyard-compute cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    server = compute_server(broker, host, agent)
    server.start()
    print(f"dockyard-compute is serving host {host}.", flush=True)
    settings = compute.view(conf)
    exporter = None
    if settings.metrics_port:
        # The agent's only listener: Prometheus's exposition, in this process's registry.
        exporter, _ = start_http_server(settings.metrics_port, settings.metrics_host)
        print(
            f"dockyard-compute serves its metrics on "
            f"http://{settings.metrics_host}:{settings.metrics_port}/metrics.",
            flush=True,
        )
    wait_for_signal()
    if exporter is not None:
        exporter.shutdown()
    server.stop()
    finished = agent.stop(timeout=api.view(conf).shutdown_timeout)
    broker.close()
    print("dockyard-compute stopped" + ("." if finished else " with operations running."))
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
