"""Entry points of the Docker drivers: both drivers of one agent share one engine client."""

from __future__ import annotations

import docker

from dockyard.domain.labels import Owner
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.loading import DriverContext
from dockyard.drivers.runtime.docker.driver import DockerRuntime


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
