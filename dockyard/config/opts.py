"""Every option Dockyard declares, for oslo-config-generator and the docs."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.config import (
    api,
    compute,
    dashboard,
    database,
    default,
    docker,
    identity,
    images,
    libraries,
    network,
    neutron,
    quota,
    rpc,
    volume,
    websocket_proxy,
)

SECTIONS = (
    default,
    api,
    database,
    docker,
    compute,
    websocket_proxy,
    identity,
    rpc,
    quota,
    volume,
    dashboard,
    network,
    images,
    neutron,
)


def register_all(conf: cfg.ConfigOpts, *, libraries_too: bool = True) -> None:
    """Dockyard's options and, unless ``libraries_too`` is false, those of the API's libraries
    (finding those imports keystonemiddleware and oslo.policy, which agents never use)."""
    for section in SECTIONS:
        section.register_opts(conf)
    if libraries_too:
        libraries.register_opts(conf)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [
        ("DEFAULT", [*default.opts, *rpc.default_opts, *images.default_opts]),
        (api.GROUP, list(api.opts)),
        (database.GROUP, list(database.opts)),
        (docker.GROUP, list(docker.opts)),
        (compute.GROUP, list(compute.opts)),
        (websocket_proxy.GROUP, list(websocket_proxy.opts)),
        (rpc.GROUP, list(rpc.opts)),
        (identity.GROUP, list(identity.opts)),
        (quota.GROUP, list(quota.opts)),
        (volume.GROUP, list(volume.opts)),
        (dashboard.GROUP, list(dashboard.opts)),
        (network.GROUP, list(network.opts)),
        (images.GROUP, list(images.opts)),
        (neutron.GROUP, list(neutron.opts)),
        *libraries.list_opts(),
    ]
