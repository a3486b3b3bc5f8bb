"""[quota]: the limits of a project that has neither its own nor a ``default`` class."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.domain.quotas import QuotaLimits

GROUP = "quota"

_LARGEST = 2**31 - 1

opts = [
    cfg.IntOpt(
        "containers",
        default=40,
        min=-1,
        max=_LARGEST,
        help="Containers a project may hold (-1: unlimited).",
    ),
    cfg.IntOpt(
        "cpu",
        default=20,
        min=-1,
        max=_LARGEST,
        help="vCPUs a project's containers may have in total (-1: unlimited).",
    ),
    cfg.IntOpt(
        "disk",
        default=100,
        min=-1,
        max=_LARGEST,
        help="Disk (GiB) a project's containers may have in total (-1: unlimited).",
    ),
    cfg.IntOpt(
        "memory",
        default=51200,
        min=-1,
        max=_LARGEST,
        help="Memory (MiB) a project's containers may have in total (-1: unlimited).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> QuotaLimits:
    return QuotaLimits(**{o.dest: conf[GROUP][o.dest] for o in opts})
