"""What the cloud-shape commands share: configuration, the broker, the database, signals."""

from __future__ import annotations

import logging

from oslo_config import cfg

from dockyard.cmd.storage import configured_database
from dockyard.config import database, opts, rpc
from dockyard.db.session import Database
from dockyard.domain.clock import Clock
from dockyard.rpc.messaging import Broker, BrokerSettings

LOG = logging.getLogger("dockyard")

CLI_OPTS = [cfg.BoolOpt("debug", default=False, help="Log at debug level.")]


def load_config(argv: list[str], prog: str) -> cfg.ConfigOpts:
    """Options from ``--config-file`` (default: oslo.config's search, e.g. /etc/dockyard)."""
    conf = cfg.ConfigOpts()
    opts.register_all(conf)
    conf.register_cli_opts(CLI_OPTS)
    conf(argv, project="dockyard", prog=prog)
    return conf


def setup_logging(conf: cfg.ConfigOpts) -> None:
    logging.basicConfig(
        level=logging.DEBUG if conf.debug else logging.INFO,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )


def broker(conf: cfg.ConfigOpts) -> Broker:
    view = rpc.view(conf)
    return Broker(
        BrokerSettings(
            transport_url=view.transport_url,
            exchange=view.exchange,
            compute_topic=view.compute_topic,
            conductor_topic=view.conductor_topic,
            call_timeout=view.call_timeout,
            send_retries=view.send_retries,
            config_files=view.config_files,
        )
    )


def open_database(conf: cfg.ConfigOpts, clock: Clock | None = None) -> Database:
    """The shared database, as it is: its schema is `dockyard-manage db upgrade`'s business."""
    if not conf[database.GROUP].connection:
        raise SystemExit("[database] connection must name the shared database (PostgreSQL/MySQL)")
    return configured_database(conf, clock)
