"""The use cases each process serves, built from configuration and repositories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from oslo_config import cfg

from dockyard.api.policy import Authorizer
from dockyard.api.schemas.containers import Limits
from dockyard.api.services import Services
from dockyard.cmd.identity import load_or_create_key
from dockyard.cmd.periodic import Periodic
from dockyard.cmd.storage import Repositories
from dockyard.config import api, default, network, neutron, volume, websocket_proxy
from dockyard.config import images as image_config
from dockyard.domain.container_request import PullPolicy
from dockyard.drivers.image.glance_client import GlanceClient
from dockyard.drivers.network.base import NetworkDriver
from dockyard.drivers.network.local.records import LocalNetworkDriver, ProjectNetworks
from dockyard.drivers.network.neutron.client import NeutronClient
from dockyard.drivers.network.neutron.driver import NeutronNetworkDriver
from dockyard.drivers.network.neutron.watch import NeutronWatch
from dockyard.drivers.volume.base import VolumeDriver
from dockyard.rpc.api import ComputeAPI
from dockyard.service.consoles import ConsoleService
from dockyard.service.container_groups import ContainerGroups
from dockyard.service.container_networks import ContainerNetworks
from dockyard.service.container_volumes import ContainerVolumes
from dockyard.service.containers import ContainerService
from dockyard.service.control import ControlService
from dockyard.service.creation import ContainerCreator, CreateDefaults
from dockyard.service.firewall_push import FirewallPush
from dockyard.service.hosts import HostService
from dockyard.service.idempotency import IdempotentCreates
from dockyard.service.image_drivers import ImageDrivers
from dockyard.service.images import ImageRecordKeeper, ImageService
from dockyard.service.networks import NetworkService
from dockyard.service.quotas import QuotaService
from dockyard.service.registries import RegistryService
from dockyard.service.secrets import SecretBox, SecretKeyError
from dockyard.service.tunnel_push import TunnelPush
from dockyard.service.volumes import LocalVolumeDriver

#: Where `dockyard up` keeps the auth_encryption_key it generated, in data_dir.
ENCRYPTION_KEY_FILE = "registry.key"


def keep_encryption_key(conf: cfg.ConfigOpts) -> None:
    """Without a configured ``auth_encryption_key``, use one generated on the first start
    and kept (mode 0600) in data_dir, so stored passwords stay readable across restarts."""
    if default.view(conf).auth_encryption_key:
        return
    key = load_or_create_key(Path(default.view(conf).data_dir) / ENCRYPTION_KEY_FILE)
    conf.set_override("auth_encryption_key", key.hex())


def secret_box(conf: cfg.ConfigOpts) -> SecretBox:
    """The box registry passwords are sealed in; the process stops when no key is set."""
    key = default.view(conf).auth_encryption_key
    if not key:
        raise SystemExit(
            "[DEFAULT] auth_encryption_key is not set: it encrypts registry passwords and has "
            "no default. Set it to the same random secret (32+ characters, e.g. the output "
            "of `openssl rand -hex 32`) in the configuration of every API process."
        )
    try:
        return SecretBox(key)
    except SecretKeyError as exc:
        raise SystemExit(str(exc)) from None


def control_service(
    conf: cfg.ConfigOpts, repos: Repositories, compute_api: ComputeAPI | None = None
) -> ControlService:
    """What agents report to (the conductor's use case); with ``compute_api``, the hosts
    of a removed container's networks are told at once (tunnels follow members)."""
    networks = network_driver(conf, repos)
    return ControlService(
        repos.containers,
        repos.hosts,
        repos.actions,
        repos.console_tokens,
        installation=repos.installation,
        images=ImageRecordKeeper(repos.images, repos.containers),
        networks=networks,
        volumes=container_volumes(conf, repos),
        members_left=None if compute_api is None else TunnelPush(networks, compute_api),
    )


def container_volumes(conf: cfg.ConfigOpts, repos: Repositories) -> ContainerVolumes:
    """Containers' volumes over the configured volume driver (``[volume] driver``)."""
    settings = volume.view(conf)
    if settings.driver != "local":
        raise SystemExit(f"[volume] driver {settings.driver!r} is not available; use local")
    return ContainerVolumes(
        LocalVolumeDriver(repos.volumes, settings.mount_limits()), repos.container_files
    )


def network_driver(conf: cfg.ConfigOpts, repos: Repositories) -> NetworkDriver:
    """The control side of the configured network driver (``[network] driver``)."""
    settings = network.view(conf)
    if settings.driver == "neutron":
        return neutron_driver(conf, repos)
    if settings.driver != "local":
        raise SystemExit(f"[network] driver {settings.driver!r} is not available")
    return LocalNetworkDriver(
        repos.networks,
        repos.security_groups,
        ProjectNetworks(
            pool=settings.project_network_pool,
            prefix=settings.project_network_prefix,
            name=settings.project_network_name,
            mtu=settings.mtu,
        ),
        tunnel_addresses=repos.hosts.tunnel_addresses,
    )


def volume_driver(conf: cfg.ConfigOpts, repos: Repositories) -> VolumeDriver:
    """The control side of the configured volume backend (``[volume] driver``)."""
    settings = volume.view(conf)
    if settings.driver != "local":
        raise SystemExit(f"[volume] driver {settings.driver!r} is not available; use local")
    return LocalVolumeDriver(repos.volumes, settings.mount_limits())


def neutron_driver(conf: cfg.ConfigOpts, repos: Repositories) -> NeutronNetworkDriver:
    """The ``neutron`` driver, reaching Neutron as the ``[neutron]`` service user."""
    settings = network.view(conf)
    reach = neutron.view(conf)
    if not reach.auth_url or not reach.password:
        raise SystemExit("[network] driver = neutron needs [neutron] auth_url and password")
    client = NeutronClient(
        auth_url=reach.auth_url,
        username=reach.username,
        password=reach.password,
        project_name=reach.project_name,
        user_domain_name=reach.user_domain_name,
        project_domain_name=reach.project_domain_name,
        region_name=reach.region_name,
        endpoint_override=reach.endpoint_override,
        interface=reach.interface,
        timeout=reach.timeout,
    )
    return NeutronNetworkDriver(
        client,
        repos.installation.id(),
        project_network_name=settings.project_network_name,
        project_network_pool=settings.project_network_pool,
        project_network_prefix=settings.project_network_prefix,
    )


def neutron_watch(
    conf: cfg.ConfigOpts, repos: Repositories, compute_api: ComputeAPI
) -> Periodic | None:
    """Under the neutron driver: the loop that pushes changed security groups to the hosts
    and removes ports whose container is gone; ``None`` under any other driver."""
    driver = network_driver(conf, repos)
    if not isinstance(driver, NeutronNetworkDriver):
        return None

    def live(ids: Iterable[str]) -> set[str]:
        return set(ids) & set(repos.containers.uuids())

    watch = NeutronWatch(driver, compute_api.apply_firewall, live)
    return Periodic("neutron-watch", neutron.view(conf).poll_interval, watch.run)


def network_service(
    repos: Repositories, driver: NetworkDriver, compute_api: ComputeAPI
) -> NetworkService:
    return NetworkService(
        repos.networks,
        repos.security_groups,
        driver,
        hosts_changed=FirewallPush(driver, compute_api),
    )


def image_drivers(conf: cfg.ConfigOpts) -> ImageDrivers:
    """The drivers a request may name; a Glance client when 'glance' is among them."""
    try:
        chosen = image_config.drivers(conf)
    except cfg.Error as exc:
        raise SystemExit(str(exc)) from None
    glance = image_config.view(conf)
    if "glance" not in chosen.image_driver_list:
        return ImageDrivers(chosen.image_driver_list, chosen.default_image_driver)
    if not glance.configured:
        raise SystemExit(
            "[DEFAULT] image_driver_list has 'glance' but [glance] names neither auth_url "
            "nor api_servers"
        )
    return ImageDrivers(chosen.image_driver_list, chosen.default_image_driver, GlanceClient(glance))


def neutron_endpoint(driver: NetworkDriver) -> Callable[[str], str | None]:
    """The cloud's Neutron root for the built-in identity's catalog (neutron driver)."""

    def endpoint(_base: str) -> str | None:
        if isinstance(driver, NeutronNetworkDriver) and isinstance(driver.api, NeutronClient):
            return driver.api.root_url()
        return None

    return endpoint


def api_services(conf: cfg.ConfigOpts, repos: Repositories, compute_api: ComputeAPI) -> Services:
    """The API's use cases, reaching agents through ``compute_api``."""
    drivers = image_drivers(conf)
    defaults = default.view(conf)
    api_cfg = api.view(conf)
    containers, hosts, actions, quotas = repos.containers, repos.hosts, repos.actions, repos.quotas
    networks = network_driver(conf, repos)
    network_records = network_service(repos, networks, compute_api)
    registries = RegistryService(repos.registries, secret_box(conf), api_cfg.max_limit)
    volumes = container_volumes(conf, repos)
    container_service = ContainerService(
        containers,
        actions,
        compute_api,
        api_cfg.max_limit,
        pull_policy=PullPolicy.parse(defaults.default_image_pull_policy),
        hosts=hosts,
        registries=registries,
        networks=networks,
        volumes=volumes,
        image_drivers=drivers,
    )
    token_ttl = dt.timedelta(seconds=websocket_proxy.view(conf).token_ttl)
    services = Services(
        quotas=QuotaService(quotas),
        containers=container_service,
        creator=ContainerCreator(
            containers,
            hosts,
            compute_api,
            CreateDefaults(
                defaults.default_cpu,
                defaults.default_memory,
                PullPolicy.parse(defaults.default_image_pull_policy),
            ),
            registries=registries,
            networks=networks,
            volumes=volumes,
            image_drivers=drivers,
        ),
        idempotent=IdempotentCreates(
            repos.idempotency,
            containers,
            dt.timedelta(seconds=api_cfg.idempotency_window),
            repos.clock,
        ),
        limits=Limits(
            min_cpu=defaults.minimum_cpus,
            max_cpu=defaults.maximum_cpus,
            min_memory=defaults.minimum_memory,
            max_memory=defaults.maximum_memory,
            min_disk=defaults.minimum_disk,
            max_disk=defaults.maximum_disk,
            mounts=volume.view(conf).mount_limits(),
        ),
        authorizer=Authorizer.from_conf(conf),
        hosts=HostService(hosts, api_cfg.max_limit, defaults.default_availability_zone),
        registries=registries,
        images=ImageService(
            repos.images,
            hosts,
            containers,
            compute_api,
            registries,
            api_cfg.max_limit,
            image_drivers=drivers,
        ),
        consoles=ConsoleService(
            container_service, hosts, compute_api, repos.console_tokens, token_ttl
        ),
        clock=repos.clock,
        changes=repos.changes,
        max_wait=api_cfg.max_wait,
        networks=network_records,
        container_groups=ContainerGroups(
            container_service,
            networks,
            network_records,
            networks.set_port_groups if isinstance(networks, NeutronNetworkDriver) else None,
        ),
        container_networks=ContainerNetworks(container_service, networks),
        volumes=volume_driver(conf, repos),
        # Under the neutron driver clients use the cloud's Neutron, not Dockyard's subset.
        serve_network_api=not isinstance(networks, NeutronNetworkDriver),
        network_endpoint=neutron_endpoint(networks),
    )
    return services
