"""Reading a process's configuration and setting up its logging."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.config import libraries, opts
from dockyard.observability import logs

#: `dockyard up`'s shortcuts for the options people change most.
ALL_IN_ONE_OPTS = [
    cfg.StrOpt("data-dir", dest="cli_data_dir", help="Overrides [DEFAULT] data_dir."),
    cfg.StrOpt("bind", help="Overrides [api] host_ip."),
    cfg.PortOpt("port", help="Overrides [api] port."),
    cfg.StrOpt("docker-url", help="Overrides [docker] api_url."),
    cfg.BoolOpt("debug", default=False, help="Log at debug level."),
]

SERVICE_OPTS = [cfg.BoolOpt("debug", default=False, help="Log at debug level.")]


def load_config(
    argv: list[str], prog: str = "dockyard up", *, libraries_too: bool = True
) -> cfg.ConfigOpts:
    """The all-in-one's options: only the files named by ``--config-file``, then the
    command-line shortcuts (``--port`` ...) over them. ``libraries_too``: as for
    :func:`load_service_config`."""
    conf = cfg.ConfigOpts()
    opts.register_all(conf, libraries_too=False)
    conf.set_default("enabled", True, group="dashboard")  # the all-in-one serves it
    conf.register_cli_opts(ALL_IN_ONE_OPTS)
    conf(argv, project="dockyard", prog=prog, default_config_files=[])
    _declare_libraries(conf, libraries_too)
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


def load_service_config(
    argv: list[str], prog: str, *, libraries_too: bool = True
) -> cfg.ConfigOpts:
    """A cloud-shape service's options from ``--config-file`` (default: oslo.config's
    search, e.g. /etc/dockyard). Without ``libraries_too`` the API libraries' sections
    are not declared, so finding them does not import those libraries."""
    conf = cfg.ConfigOpts()
    opts.register_all(conf, libraries_too=False)
    conf.register_cli_opts(SERVICE_OPTS)
    conf(argv, project="dockyard", prog=prog)
    _declare_libraries(conf, libraries_too)
    return conf


def _declare_libraries(conf: cfg.ConfigOpts, wanted: bool) -> None:
    # After parsing (oslo.config reads a section's values when they are asked for), so
    # that `--help` and a bad option answer before these libraries are imported.
    if wanted:
        libraries.register_opts(conf)


def setup_logging(conf: cfg.ConfigOpts, *, with_pid: bool = True) -> None:
    """Text or JSON lines (``[DEFAULT] log_json``), each naming the request it is for."""
    logs.configure(debug=conf.debug, json_lines=conf.log_json, with_pid=with_pid)
