"""Entry points of the Docker drivers: both drivers of one agent share one engine client."""

from __future__ import annotations

import os
from pathlib import Path

import docker

from dockyard.domain.labels import Owner
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.image.glance import GlanceImages
from dockyard.drivers.image.glance_client import GlanceClient
from dockyard.drivers.loading import DriverContext
from dockyard.drivers.network.local.firewall import kernel_tools_present
from dockyard.drivers.network.local.host import BridgeHost
from dockyard.drivers.network.local.tunnels import VxlanTunnels
from dockyard.drivers.runtime.docker.driver import DockerRuntime
from dockyard.drivers.volume.local.host import LoopVolumeHost


def _client(ctx: DriverContext) -> docker.DockerClient:
    return ctx.shared(
        "docker.client",
        lambda: docker.DockerClient(base_url=ctx.engine_url, timeout=ctx.engine_timeout),
    )


def runtime_driver(ctx: DriverContext) -> DockerRuntime:
    owner = Owner(ctx.installation, ctx.host)
    return DockerRuntime(_client(ctx), owner, ctx.publish_address, ctx.clock)


def image_driver(ctx: DriverContext) -> DockerImages:
    return DockerImages(_client(ctx))


def glance_image_driver(ctx: DriverContext) -> GlanceImages:
    """Glance's docker images, loaded into this host's engine."""
    if not ctx.glance.configured:
        raise SystemExit(
            "[DEFAULT] image_driver_list has 'glance' but [glance] names neither auth_url "
            "nor api_servers"
        )
    directory = ctx.glance.images_directory or os.path.join(ctx.data_dir, "glance-images")
    return GlanceImages(
        GlanceClient(ctx.glance), DockerImages(_client(ctx)), Path(directory), ctx.host
    )


def host_networking(ctx: DriverContext) -> BridgeHost | None:
    """Networks as the engine's bridge networks, filtered with nftables; None without ``nft``
    (containers then stay on the engine's default bridge)."""
    if not kernel_tools_present():
        return None
    tunnels = (
        VxlanTunnels(ctx.installation, ctx.host, ctx.tunnel_address) if ctx.tunnel_address else None
    )
    return BridgeHost(_client(ctx), ctx.host, ctx.installation, tunnels=tunnels)


def volume_host(ctx: DriverContext, volumes_dir: str) -> LoopVolumeHost:
    """Volumes as loop-mounted files under ``volumes_dir``, exposed as engine volumes."""
    return LoopVolumeHost(_client(ctx), ctx.host, ctx.installation, volumes_dir)
