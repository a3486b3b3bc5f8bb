"""[docker]: how agents reach their Docker Engine."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "docker"

opts = [
    cfg.StrOpt(
        "api_url",
        default="unix:///var/run/docker.sock",
        help="Docker Engine API endpoint of this host.",
    ),
    cfg.IntOpt(
        "api_timeout",
        default=120,
        min=1,
        help="Seconds before a call to the Docker Engine is abandoned.",
    ),
    cfg.FloatOpt(
        "execute_timeout",
        default=5.0,
        min=0.1,
        help="Seconds a synchronous `execute` may run before the API answers 409.",
    ),
    cfg.IntOpt(
        "default_stop_timeout",
        default=10,
        min=0,
        help="Seconds a stop waits for the process to exit before killing it, when the "
        "request names no timeout.",
    ),
    cfg.IPOpt(
        "publish_address",
        default="127.0.0.1",
        help="Host address on which the `exposed_ports` of containers are published, each at "
        "a port the engine picks (see `docker port`). The loopback default keeps them off "
        "the network; `0.0.0.0` makes them reachable from anywhere the host is.",
    ),
]


@dataclass(frozen=True)
class DockerConfig:
    api_url: str
    api_timeout: int
    execute_timeout: float
    default_stop_timeout: int
    publish_address: str = "127.0.0.1"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> DockerConfig:
    return DockerConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
