"""One host's agent over the runtime and image drivers its configuration names.

Used by `dockyard-compute` and by the all-in-one; it reaches state only through the
ControlAPI it is given, so nothing here opens a database.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from oslo_config import cfg

from dockyard.compute.agent import ComputeAgent
from dockyard.config import api, compute, default, network, volume, websocket_proxy
from dockyard.config import docker as docker_config
from dockyard.config import images as image_config
from dockyard.domain.clock import Clock
from dockyard.drivers import loading
from dockyard.drivers.docker_factories import host_networking, volume_host
from dockyard.drivers.image.base import ImageDriver
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.drivers.timing import instrument
from dockyard.rpc.api import ControlAPI


@dataclass(frozen=True)
class DriverChoice:
    """The factories of the configured drivers, found before anything else starts."""

    runtime: loading.Factory
    image: loading.Factory
    #: Image drivers a create may name besides the host's own ("docker"), by name.
    named_images: dict[str, loading.Factory] = field(default_factory=dict)


def choose_drivers(conf: cfg.ConfigOpts) -> DriverChoice:
    """Look the configured driver names up; an unknown one stops the process, naming the
    installed choices."""
    settings = compute.view(conf)
    wanted = [
        ("runtime_driver", loading.RUNTIME_GROUP, settings.runtime_driver),
        ("image_driver", loading.IMAGE_GROUP, settings.image_driver),
    ]
    found = []
    for option, group, name in wanted:
        try:
            found.append(loading.factory(group, name))
        except loading.UnknownDriver as exc:
            choices = ", ".join(exc.choices) or "(none installed)"
            raise SystemExit(
                f"[{compute.GROUP}] {option} = {name!r} is not an installed driver; "
                f"the choices are: {choices}"
            ) from None
    named = {}
    try:
        listed = image_config.drivers(conf).image_driver_list
    except cfg.Error as exc:
        raise SystemExit(str(exc)) from None
    for name in listed:
        if name == "docker":
            continue
        try:
            named[name] = loading.factory(loading.IMAGE_GROUP, name)
        except loading.UnknownDriver as exc:
            raise SystemExit(
                f"[DEFAULT] image_driver_list names {name!r}, which is not an installed "
                f"image driver; the choices are: {', '.join(exc.choices)}"
            ) from None
    return DriverChoice(found[0], found[1], named)


def _wrong_kind(factory: loading.Factory, made: object, expected: str) -> SystemExit:
    return SystemExit(f"{factory!r} made a {type(made).__name__}, not a {expected}")


def _console_settings(conf: cfg.ConfigOpts) -> websocket_proxy.WebsocketProxyConfig:
    """The console proxy's options; without a certificate of its own it takes the API's
    (so `dockyard up` given one serves HTTPS and WSS alike)."""
    console = websocket_proxy.view(conf)
    served = api.view(conf)
    if not (console.ssl_cert_file or console.ssl_key_file) and served.ssl_cert_file:
        return dataclasses.replace(
            console, ssl_cert_file=served.ssl_cert_file, ssl_key_file=served.ssl_key_file
        )
    return console


def build_agent(
    conf: cfg.ConfigOpts,
    drivers: DriverChoice,
    control: ControlAPI,
    clock: Clock,
    installation: str,
    description: str,
) -> ComputeAgent:
    """The agent of this host; it reaches state only through ``control``.

    ``installation`` labels everything it makes; ``description`` names this process
    to a second agent that would serve the same host.
    """
    defaults = default.view(conf)
    docker_cfg = docker_config.view(conf)
    context = loading.DriverContext(
        host=defaults.host,
        engine_url=docker_cfg.api_url,
        engine_timeout=docker_cfg.api_timeout,
        publish_address=docker_cfg.publish_address,
        clock=clock,
        installation=installation,
        tunnel_address=network.view(conf).tunnel_address,
        data_dir=defaults.data_dir,
        glance=image_config.view(conf),
    )
    runtime = drivers.runtime(context)
    if not isinstance(runtime, RuntimeDriver):
        raise _wrong_kind(drivers.runtime, runtime, "RuntimeDriver")
    images = drivers.image(context)
    if not isinstance(images, ImageDriver):
        raise _wrong_kind(drivers.image, images, "ImageDriver")
    runtime = instrument(runtime, "runtime", RuntimeDriver)
    images = instrument(images, "image", ImageDriver)
    named = {"docker": images}
    for name, make in drivers.named_images.items():
        made = make(context)
        if not isinstance(made, ImageDriver):
            raise _wrong_kind(make, made, "ImageDriver")
        named[name] = instrument(made, "image", ImageDriver)
    return ComputeAgent(
        defaults.host,
        runtime,
        images,
        control,
        compute.view(conf),
        docker_cfg,
        clock,
        console=_console_settings(conf),
        installation=installation,
        description=description,
        networking=host_networking(context),
        volumes=volume_host(context, volume.view(conf).directory(defaults.data_dir)),
        image_drivers=named,
    )
