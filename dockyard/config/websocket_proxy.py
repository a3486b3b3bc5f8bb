"""[websocket_proxy]: the console proxy through which clients attach and run interactive execs.

Every compute agent serves the terminals of its own host's containers, so no
Docker Engine has to listen on the network as Zun's single wsproxy needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oslo_config import cfg

GROUP = "websocket_proxy"

opts = [
    cfg.BoolOpt(
        "enabled",
        default=True,
        help="Serve attach and interactive exec sessions of this host's containers. "
        "When off, those endpoints answer 409 for containers on this host.",
    ),
    cfg.StrOpt(
        "wsproxy_host",
        default="127.0.0.1",
        help="Address the console proxy listens on. Clients connect to it directly, so "
        "in the cloud shape use an address they can reach.",
    ),
    cfg.PortOpt(
        "wsproxy_port",
        default=6784,
        help="Port the console proxy listens on; 0 picks a free port at start.",
    ),
    cfg.StrOpt(
        "base_url",
        default="",
        help="URL clients are given for this host's proxy, e.g. "
        "wss://console.example.com:6784/ behind a TLS terminator. Empty: "
        "ws://<wsproxy_host>:<port it listens on>/.",
    ),
    cfg.ListOpt(
        "allowed_origins",
        default=[],
        help="Host names a browser's Origin header may name besides the proxy's own. "
        "Connections without an Origin header (command-line clients) are accepted.",
    ),
    cfg.IntOpt(
        "token_ttl",
        default=60,
        min=1,
        help="Seconds within which a client must connect with the single-use token that "
        "attach or an interactive exec handed out. Read by the API.",
    ),
    cfg.StrOpt(
        "ssl_cert_file",
        default="",
        help="PEM certificate (chain) with which the console proxy serves WSS (wss:// "
        "URLs) instead of WS; needs ssl_key_file. Empty: [api] ssl_cert_file and "
        "ssl_key_file when those are set (as in `dockyard up`), else plain WS.",
    ),
    cfg.StrOpt(
        "ssl_key_file",
        default="",
        secret=True,
        help="PEM private key of ssl_cert_file (unencrypted; keep it mode 0600).",
    ),
]


@dataclass(frozen=True)
class WebsocketProxyConfig:
    enabled: bool
    wsproxy_host: str
    wsproxy_port: int
    base_url: str
    allowed_origins: list[str]
    token_ttl: int
    ssl_cert_file: str = ""
    ssl_key_file: str = field(default="", repr=False)


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> WebsocketProxyConfig:
    return WebsocketProxyConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
