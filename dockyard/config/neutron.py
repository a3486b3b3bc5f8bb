"""[neutron]: how the ``neutron`` network driver reaches the cloud's Neutron (a service user)."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "neutron"

opts = [
    cfg.StrOpt("auth_url", default="", help="Keystone v3 URL the service user logs in at."),
    cfg.StrOpt("username", default="dockyard", help="The service user's name."),
    cfg.StrOpt("password", default="", secret=True, help="The service user's password."),
    cfg.StrOpt(
        "project_name", default="service", help="Project the service user's token is scoped to."
    ),
    cfg.StrOpt("user_domain_name", default="Default", help="Domain of the service user."),
    cfg.StrOpt("project_domain_name", default="Default", help="Domain of `project_name`."),
    cfg.StrOpt("region_name", default="", help="Region of the `network` endpoint to use."),
    cfg.StrOpt(
        "endpoint_override",
        default="",
        help="Neutron's URL (e.g. http://neutron:9696), instead of the catalog's `network` "
        "endpoint.",
    ),
    cfg.StrOpt("interface", default="public", help="Catalog interface of the `network` endpoint."),
    cfg.FloatOpt(
        "timeout",
        default=30.0,
        min=1.0,
        help="Seconds a call to Neutron may take before it counts as unavailable.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=1.0,
        min=0.2,
        help="Seconds between two reads of the security groups of this installation's ports: "
        "a rule changed in Neutron is enforced on the hosts within about this time.",
    ),
]


@dataclass(frozen=True)
class NeutronConfig:
    auth_url: str = ""
    username: str = "dockyard"
    password: str = ""
    project_name: str = "service"
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str = ""
    endpoint_override: str = ""
    interface: str = "public"
    timeout: float = 30.0
    poll_interval: float = 1.0


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> NeutronConfig:
    return NeutronConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
