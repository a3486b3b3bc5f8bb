"""`dockyard-conductor`: applies agents' reports to the database (ControlAPI over RPC)
and ends creates stranded on hosts that went down."""

from __future__ import annotations

import datetime as dt
import sys

from dockyard.cmd.broker import open_broker
from dockyard.cmd.configuration import load_service_config, setup_logging
from dockyard.cmd.periodic import Periodic
from dockyard.cmd.services import control_service, neutron_watch
from dockyard.cmd.signals import wait_for_signal
from dockyard.cmd.storage import open_shared_database, repositories
from dockyard.config import compute, default
from dockyard.domain.clock import Clock
from dockyard.rpc.messaging import MessagingComputeAPI, control_server
from dockyard.service.sweeper import DownHostSweeper


def main(argv: list[str] | None = None) -> int:
    conf = load_service_config(sys.argv[1:] if argv is None else argv, "dockyard-conductor")
    setup_logging(conf)
    db = open_shared_database(conf, Clock())  # the process's one clock, as db.clock
    broker = open_broker(conf)
    name = default.view(conf).host
    repos = repositories(conf, db, every_writer_here=False)
    compute_api = MessagingComputeAPI(broker)
    control = control_service(conf, repos, compute_api)
    server = control_server(broker, name, control)
    windows = compute.view(conf)
    sweeper = DownHostSweeper(
        repos.containers,
        repos.hosts,
        dt.timedelta(seconds=windows.lost_create_after),
        grace=dt.timedelta(seconds=default.view(conf).service_down_time),
        release=control.failed_create,
    )
    sweeps = Periodic("down-host-sweep", windows.sync_interval, sweeper.run)
    watch = neutron_watch(conf, repos, compute_api)
    server.start()
    sweeps.start()
    if watch is not None:
        watch.start()
    print(f"dockyard-conductor {name} is serving agents' reports.", flush=True)
    wait_for_signal()
    if watch is not None:
        watch.stop()
    sweeps.stop()
    server.stop()
    broker.close()
    db.dispose()
    print("dockyard-conductor stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
