"""[api]: where the HTTP API listens and how it serves."""

from __future__ import annotations

from dataclasses import dataclass, field

from oslo_config import cfg

GROUP = "api"

opts = [
    cfg.StrOpt("host_ip", default="127.0.0.1", help="Address the API listens on."),
    cfg.PortOpt("port", default=9517, help="Port the API listens on."),
    cfg.IntOpt(
        "threads",
        default=16,
        min=1,
        max=512,
        help="Worker threads of the API's WSGI server (concurrent requests).",
    ),
    cfg.IntOpt(
        "backlog",
        default=256,
        min=1,
        help="Connections the API's socket queues while every worker thread is busy.",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=1,
        help="Largest page a list request returns; also the default page size.",
    ),
    cfg.IntOpt(
        "shutdown_timeout",
        default=30,
        min=0,
        help="Seconds to wait, on SIGTERM, for running requests and container "
        "operations to finish before exiting.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=1024 * 1024,
        min=1024,
        help="Largest request body, in bytes, the API accepts; a larger one is refused "
        "with 413 before it is read. This also bounds put_archive, whose archive travels "
        "base64-encoded in the body (about 3/4 of this size).",
    ),
    cfg.IntOpt(
        "max_wait",
        default=20,
        min=0,
        max=300,
        help="Longest time, in seconds, a GET of one container with `If-None-Match` and "
        "`Prefer: wait=N` is held until the container changes (clients that wait for a "
        "state ask once instead of polling). 0 answers such requests at once.",
    ),
    cfg.IntOpt(
        "max_waiting_requests",
        default=8,
        min=0,
        help="Requests that may wait for a change at once; each holds one of 'threads' "
        "while it waits. Beyond this, a waiting GET is answered at once.",
    ),
    cfg.IntOpt(
        "idempotency_window",
        default=24 * 60 * 60,
        min=60,
        help="Seconds an Idempotency-Key of a container create is remembered: the same "
        "project sending the same key again within this time gets the container the first "
        "request made instead of a new one. Older keys are forgotten.",
    ),
    cfg.BoolOpt(
        "metrics_enabled",
        default=True,
        help="Serve Prometheus metrics at /metrics (outside /v1, without authentication, "
        "as Prometheus scrapes). They hold counts and timings by route, status and host "
        "name, no tenant's data; limit who reaches the path at the network or proxy if "
        "host names are private, or set this to false. See docs/operations.md.",
    ),
    cfg.StrOpt(
        "ssl_cert_file",
        default="",
        help="PEM certificate (chain) with which the API serves HTTPS instead of HTTP; "
        "needs ssl_key_file. In `dockyard up` the console proxy serves WSS with it too "
        "unless [websocket_proxy] names its own.",
    ),
    cfg.StrOpt(
        "ssl_key_file",
        default="",
        secret=True,
        help="PEM private key of ssl_cert_file (unencrypted; keep it mode 0600).",
    ),
]


@dataclass(frozen=True)
class ApiConfig:
    host_ip: str
    port: int
    threads: int
    backlog: int
    max_limit: int
    shutdown_timeout: int
    max_request_body_size: int
    max_wait: int = 20
    max_waiting_requests: int = 8
    idempotency_window: int = 24 * 60 * 60
    metrics_enabled: bool = True
    ssl_cert_file: str = ""
    ssl_key_file: str = field(default="", repr=False)

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_cert_file else "http"


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> ApiConfig:
    return ApiConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
