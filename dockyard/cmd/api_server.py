"""`dockyard-api`: the HTTP API of the cloud shape, reaching agents over RPC.

Run it as `dockyard-api --config-file FILE` (cheroot), or hand
`dockyard.cmd.api_server:application()` to uWSGI or gunicorn with the configuration
file in the ``DOCKYARD_CONFIG`` environment variable.
"""

from __future__ import annotations

import os
import sys

from oslo_config import cfg

from dockyard.api.app import WSGIApp
from dockyard.api.services import Services
from dockyard.cmd.authentication import api_app
from dockyard.cmd.broker import open_broker
from dockyard.cmd.configuration import load_service_config, setup_logging
from dockyard.cmd.services import api_services, secret_box
from dockyard.cmd.serving import start_server
from dockyard.cmd.signals import wait_for_signal
from dockyard.cmd.storage import open_shared_database, repositories
from dockyard.config import api
from dockyard.db.notifications import ChangeListener
from dockyard.db.session import Database
from dockyard.domain.clock import Clock
from dockyard.rpc.messaging import Broker, MessagingComputeAPI


def build(conf: cfg.ConfigOpts) -> tuple[WSGIApp, Database, Broker, Services]:
    secret_box(conf)  # refuse to start before touching the database or the broker
    db = open_shared_database(conf, Clock())  # the process's one clock, as db.clock
    broker = open_broker(conf)
    repos = repositories(conf, db, every_writer_here=False)
    if db.engine.dialect.name == "postgresql":
        ChangeListener(db, repos.changes).start()
    services = api_services(conf, repos, MessagingComputeAPI(broker))
    return api_app(conf, services, db), db, broker, services


def application() -> WSGIApp:
    """The WSGI application for an external server, configured by ``$DOCKYARD_CONFIG``."""
    path = os.environ.get("DOCKYARD_CONFIG", "")
    conf = load_service_config([f"--config-file={path}"] if path else [], "dockyard-api")
    setup_logging(conf)
    return build(conf)[0]


def main(argv: list[str] | None = None) -> int:
    conf = load_service_config(sys.argv[1:] if argv is None else argv, "dockyard-api")
    setup_logging(conf)
    app, db, broker, services = build(conf)
    settings = api.view(conf)
    server = start_server(app, settings)
    print(
        f"dockyard-api is serving the Zun v1 API on http://{settings.host_ip}:{settings.port}/v1.",
        flush=True,
    )
    wait_for_signal()
    services.changes.close()  # requests waiting for a change answer now
    server.stop()
    broker.close()
    db.dispose()
    print("dockyard-api stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
