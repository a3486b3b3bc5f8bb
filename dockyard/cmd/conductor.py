"""`dockyard-conductor`: applies agents' reports to the database (ControlAPI over RPC)."""

from __future__ import annotations

import sys

from dockyard.cmd import cloud
from dockyard.cmd.serving import wait_for_signal
from dockyard.cmd.wiring import control_service, repositories
from dockyard.config import default
from dockyard.rpc.messaging import control_server


def main(argv: list[str] | None = None) -> int:
    conf = cloud.load_config(sys.argv[1:] if argv is None else argv, "dockyard-conductor")
    cloud.setup_logging(conf)
    db = cloud.open_database(conf)
    broker = cloud.broker(conf)
    name = default.view(conf).host
    server = control_server(broker, name, control_service(repositories(conf, db)))
    server.start()
    print(f"dockyard-conductor {name} is serving agents' reports.", flush=True)
    wait_for_signal()
    server.stop()
    broker.close()
    db.dispose()
    print("dockyard-conductor stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
