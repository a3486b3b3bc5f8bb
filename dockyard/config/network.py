"""[network]: the network driver and the pool projects' own networks are carved from."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from oslo_config import cfg

from dockyard.domain.network_pools import DEFAULT_POOL

GROUP = "network"

opts = [
    cfg.StrOpt(
        "driver",
        default="local",
        choices=[
            ("local", "Networks, subnets, ports and security groups are Dockyard records."),
            ("neutron", "The cloud's Neutron keeps them ([neutron] options, docs/networking.md)."),
        ],
        help="Where networks, addresses and security groups are kept.",
    ),
    cfg.StrOpt(
        "project_network_pool",
        default="",
        help="IPv4 range the subnets of projects' own networks (made on a project's first "
        "container without `nets`) are carved from. It must not overlap networks the hosts "
        "already use. Empty: `dockyard up` picks, at first start, a /16 of 10.64.0.0/10 "
        "that no network of its engine overlaps and keeps it in data_dir (network-pool), "
        "so installations sharing an engine never collide; the cloud shape uses "
        "10.100.0.0/16.",
    ),
    cfg.IntOpt(
        "project_network_prefix",
        default=24,
        min=8,
        max=30,
        help="Prefix length of each project network's subnet, carved from "
        "`project_network_pool` (24: 254 addresses per project network).",
    ),
    cfg.StrOpt(
        "project_network_name",
        default="private",
        help="Name of each project's own network.",
    ),
    cfg.IntOpt(
        "mtu",
        default=1500,
        min=576,
        max=9000,
        help="MTU of the networks Dockyard makes.",
    ),
    cfg.StrOpt(
        "tunnel_address",
        default="",
        help="This host's address on the network between hosts (the underlay): each "
        "project network with members on several hosts is carried between them by one "
        "VXLAN tunnel (UDP 4789) per network from this address. Empty: the host's "
        "networks stay its own (containers reach only those on the same host). Read by "
        "the agent; needs the `ip` and `bridge` commands (iproute2) and the kernel's "
        "vxlan module.",
    ),
]


@dataclass(frozen=True)
class NetworkConfig:
    driver: str = "local"
    project_network_pool: str = "10.100.0.0/16"
    project_network_prefix: int = 24
    project_network_name: str = "private"
    mtu: int = 1500
    tunnel_address: str = ""

    def __post_init__(self) -> None:
        if self.tunnel_address:
            try:
                ipaddress.ip_address(self.tunnel_address)
            except ValueError:
                raise ValueError(
                    f"[network] tunnel_address {self.tunnel_address!r} is not an IP address"
                ) from None
        try:
            pool = ipaddress.ip_network(self.project_network_pool)
        except ValueError as exc:
            raise ValueError(f"[network] project_network_pool: {exc}") from None
        if pool.version != 4 or pool.prefixlen > self.project_network_prefix:
            raise ValueError(
                f"[network] project_network_pool {pool} must be an IPv4 range no smaller than "
                f"one /{self.project_network_prefix} (project_network_prefix)"
            )


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> NetworkConfig:
    values = {o.dest: conf[GROUP][o.dest] for o in opts}
    values["project_network_pool"] = values["project_network_pool"] or str(DEFAULT_POOL)
    return NetworkConfig(**values)
