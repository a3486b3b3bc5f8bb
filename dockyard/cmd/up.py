"""`dockyard up`: the whole service in one process on one machine."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from oslo_config import cfg

from dockyard.cmd.identity import OPENRC, auth_url, bootstrap_admin
from dockyard.cmd.serving import start_server, wait_for_signal
from dockyard.cmd.wiring import AllInOne, build
from dockyard.compute.host_claim import HostInUse
from dockyard.config import opts

LOG = logging.getLogger("dockyard")

CLI_OPTS = [
    cfg.StrOpt("data-dir", dest="cli_data_dir", help="Overrides [DEFAULT] data_dir."),
    cfg.StrOpt("bind", help="Overrides [api] host_ip."),
    cfg.PortOpt("port", help="Overrides [api] port."),
    cfg.StrOpt("docker-url", help="Overrides [docker] api_url."),
    cfg.BoolOpt("debug", default=False, help="Log at debug level."),
]


def load_config(argv: list[str]) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    opts.register_all(conf)
    conf.register_cli_opts(CLI_OPTS)
    conf(argv, project="dockyard", prog="dockyard up", default_config_files=[])
    overrides = [
        ("cli_data_dir", "data_dir", None),
        ("bind", "host_ip", "api"),
        ("port", "port", "api"),
        ("docker_url", "api_url", "docker"),
    ]
    for source, target, group in overrides:
        if conf[source] is not None:
            conf.set_override(target, conf[source], group=group)
    return conf


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
    print(
        f"Dockyard is serving the Zun v1 API on http://{node.api.host_ip}:{node.api.port}/v1 "
        f"(host {conf.host}, data in {conf.data_dir}).",
        flush=True,
    )
    if conf.auth_strategy == "local":
        print(
            f"Log in with OS_AUTH_URL={auth_url(conf)} (Dockyard's own identity; the first "
            f"admin's credentials are in {Path(conf.data_dir) / OPENRC}).",
            flush=True,
        )
    wait_for_signal()
    server.stop()
    finished = node.stop(timeout=node.api.shutdown_timeout)
    node.db.dispose()
    print("Dockyard stopped" + ("." if finished else " with operations still running."))
    return 0 if finished else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "up":
        args = args[1:]
    conf = load_config(args)
    logging.basicConfig(
        level=logging.DEBUG if conf.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return serve(conf)


if __name__ == "__main__":
    sys.exit(main())
