"""[dashboard]: the web dashboard the API process serves at ``/dashboard``."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "dashboard"

opts = [
    cfg.BoolOpt(
        "enabled",
        default=False,
        help="Serve the web dashboard at /dashboard from the API process. `dockyard up` "
        "turns it on unless the configuration file says otherwise; `dockyard-api` "
        "serves it only when this is set.",
    ),
    cfg.StrOpt(
        "identity_url",
        default="",
        help="Keystone v3 URL (ending in /v3) the dashboard's login form authenticates "
        "against. Empty: the built-in /v3 under auth_strategy = local, and "
        "[keystone_authtoken] www_authenticate_uri under auth_strategy = keystone.",
    ),
    cfg.IntOpt(
        "identity_timeout",
        default=10,
        min=1,
        help="Seconds to wait for Keystone when logging in, checking or revoking a token.",
    ),
]


@dataclass(frozen=True)
class DashboardConfig:
    enabled: bool
    identity_url: str
    identity_timeout: int


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> DashboardConfig:
    return DashboardConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
