"""[volume]: the volumes containers mount, and where a host keeps their data."""

from __future__ import annotations

import os
from dataclasses import dataclass

from oslo_config import cfg

from dockyard.domain.volumes import MountLimits

GROUP = "volume"

opts = [
    cfg.StrOpt(
        "driver",
        default="local",
        choices=["local"],
        help="Volume backend. 'local' keeps each volume on one host as a sparse file "
        "holding an ext4 filesystem of exactly the volume's size, loop-mounted, so the "
        "size is enforced. A Cinder backend is designed (docs/volumes.md) but not built.",
    ),
    cfg.StrOpt(
        "volumes_dir",
        default="",
        help="Directory where a host keeps its volumes' files and mount points, under "
        "one sub-directory per installation and host. Empty means data_dir/volumes. "
        "Its filesystem needs room for the volumes' data (the files are sparse: they "
        "take only what is written).",
    ),
    cfg.IntOpt(
        "maximum_size",
        default=1024,
        min=1,
        help="Largest volume (GiB) a create's mounts or a block-storage create may ask for.",
    ),
    cfg.IntOpt(
        "maximum_mounts",
        default=16,
        min=1,
        help="Most mounts (volumes and injected files) one container may have.",
    ),
    cfg.IntOpt(
        "maximum_bind_size",
        default=1024 * 1024,
        min=1,
        help="Largest file (bytes, decoded) a 'bind' mount may inject into a container.",
    ),
]


@dataclass(frozen=True)
class VolumeConfig:
    driver: str = "local"
    volumes_dir: str = ""
    maximum_size: int = 1024
    maximum_mounts: int = 16
    maximum_bind_size: int = 1024 * 1024

    def directory(self, data_dir: str) -> str:
        """Where volumes live: ``volumes_dir``, else ``data_dir/volumes``."""
        return self.volumes_dir or os.path.join(data_dir, "volumes")

    def mount_limits(self) -> MountLimits:
        return MountLimits(
            max_size_gib=self.maximum_size,
            max_mounts=self.maximum_mounts,
            max_bind_bytes=self.maximum_bind_size,
        )


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group=GROUP)


def view(conf: cfg.ConfigOpts) -> VolumeConfig:
    return VolumeConfig(**{o.dest: conf[GROUP][o.dest] for o in opts})
