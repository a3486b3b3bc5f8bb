"""[DEFAULT] transport and [rpc]: how the API, the conductor and agents talk."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "rpc"

default_opts = [
    cfg.StrOpt(
        "rpc_transport",
        default="local",
        choices=["local", "messaging"],
        help="How `dockyard up` reaches its agent: 'local' calls it in-process, "
        "'messaging' goes through the broker at transport_url like the cloud shape. "
        "dockyard-api, dockyard-conductor and dockyard-compute always use 'messaging'.",
    ),
    cfg.StrOpt(
        "transport_url",
        default="rabbit://guest:guest@127.0.0.1:5672/",
        secret=True,
        help="oslo.messaging URL of the message broker: "
        "driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host. "
        "Broker tuning goes in oslo.messaging's own sections ([oslo_messaging_rabbit]).",
    ),
]

opts = [
    cfg.IntOpt(
        "call_timeout",
        default=60,
        min=1,
        help="Seconds a synchronous RPC (logs, exec, top, a report to the conductor...) "
        "waits for its answer before failing with 503: a dead agent never hangs a caller.",
    ),
    cfg.IntOpt(
        "send_retries",
        default=3,
        min=0,
        help="Reconnection attempts when the broker is unreachable, before an RPC fails with 503.",
    ),
    cfg.StrOpt(
        "exchange",
        default="dockyard",
        help="Broker exchange under which Dockyard's topics live.",
    ),
    cfg.StrOpt(
        "compute_topic",
        default="dockyard-compute",
        help="Topic agents listen on; each agent serves `<topic>.<host>`.",
    ),
    cfg.StrOpt(
        "conductor_topic",
        default="dockyard-conductor",
        help="Topic conductors listen on; agents' reports go to any one of them.",
    ),
]


@dataclass(frozen=True)
class RpcConfig:
    rpc_transport: str
    transport_url: str
    call_timeout: int
    send_retries: int
    exchange: str
    compute_topic: str
    conductor_topic: str
    config_files: tuple[str, ...] = ()

    def __repr__(self) -> str:  # transport_url may hold the broker password
        return f"RpcConfig(rpc_transport={self.rpc_transport!r}, exchange={self.exchange!r})"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> RpcConfig:
    return RpcConfig(
        **{o.dest: conf[o.dest] for o in default_opts},
        **{o.dest: conf[GROUP][o.dest] for o in opts},
        config_files=tuple(conf.config_file or ()),
    )
