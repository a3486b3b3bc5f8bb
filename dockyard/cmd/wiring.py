"""Builds the all-in-one process from configuration: the one place that wires parts."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import docker
from oslo_config import cfg

from dockyard.api.app import Services, WSGIApp
from dockyard.api.policy import Authorizer
from dockyard.api.schemas.containers import Limits
from dockyard.cmd import cloud
from dockyard.cmd.auth_wiring import api_app
from dockyard.cmd.identity import load_or_create_key
from dockyard.cmd.storage import configured_database
from dockyard.compute.agent import ComputeAgent
from dockyard.config import api, compute, default, quota, websocket_proxy
from dockyard.config import docker as docker_config
from dockyard.config import rpc as rpc_config
from dockyard.db import migrate
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.console_tokens import ConsoleTokenRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.installation import InstallationRepository
from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.db.repositories.registries import RegistryRepository
from dockyard.db.session import Database
from dockyard.domain.labels import Owner
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.runtime.docker.driver import DockerRuntime
from dockyard.rpc import messaging
from dockyard.rpc.api import ComputeAPI, ControlAPI
from dockyard.rpc.local import LocalComputeAPI
from dockyard.rpc.messaging import Broker, Server
from dockyard.service.consoles import ConsoleService
from dockyard.service.containers import ContainerService
from dockyard.service.control import ControlService
from dockyard.service.creation import ContainerCreator, CreateDefaults
from dockyard.service.hosts import HostService
from dockyard.service.quotas import QuotaService
from dockyard.service.registries import RegistryService
from dockyard.service.secrets import SecretBox, SecretKeyError


@dataclass
class AllInOne:
    app: WSGIApp
    services: Services
    agent: ComputeAgent
    db: Database
    api: api.ApiConfig
    #: Under rpc_transport = messaging: the broker, the agent's server, the control's server.
    rpc: tuple[Broker, Server, Server] | None = None

    def stop(self, timeout: float) -> bool:
        """Stop taking work, finish what runs (up to ``timeout`` s); whether all finished."""
        if self.rpc is None:
            return self.agent.stop(timeout)
        broker, agent_server, control_server = self.rpc
        agent_server.stop()
        finished = self.agent.stop(timeout)
        control_server.stop()
        broker.close()
        return finished


def open_database(conf: cfg.ConfigOpts) -> Database:
    defaults = default.view(conf)
    os.makedirs(defaults.data_dir, mode=0o700, exist_ok=True)
    db = configured_database(conf)
    migrate.upgrade(db)
    return db


@dataclass
class Repositories:
    containers: ContainerRepository
    hosts: HostRepository
    actions: ActionRepository
    quotas: QuotaRepository
    registries: RegistryRepository
    console_tokens: ConsoleTokenRepository
    installation: InstallationRepository


def repositories(conf: cfg.ConfigOpts, db: Database) -> Repositories:
    down_after = dt.timedelta(seconds=default.view(conf).service_down_time)
    hosts = HostRepository(db, down_after=down_after)
    quotas = QuotaRepository(db, quota.view(conf))
    containers = ContainerRepository(db, quotas)
    actions = ActionRepository(db)
    return Repositories(
        containers,
        hosts,
        actions,
        quotas,
        RegistryRepository(db),
        ConsoleTokenRepository(db),
        InstallationRepository(db),
    )


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


def control_service(repos: Repositories) -> ControlService:
    return ControlService(
        repos.containers,
        repos.hosts,
        repos.actions,
        repos.console_tokens,
        installation=repos.installation,
    )


def compute_agent(
    conf: cfg.ConfigOpts, control: ControlAPI, installation: str, description: str
) -> ComputeAgent:
    """The agent of this host over its Docker Engine; it reaches state only through ``control``.

    ``installation`` labels everything it makes; ``description`` names this process
    to a second agent that would serve the same host.
    """
    defaults = default.view(conf)
    compute_cfg = compute.view(conf)
    docker_cfg = docker_config.view(conf)
    client = docker.DockerClient(base_url=docker_cfg.api_url, timeout=docker_cfg.api_timeout)
    owner = Owner(installation, defaults.host)
    runtime = DockerRuntime(client, owner, docker_cfg.publish_address)
    return ComputeAgent(
        defaults.host,
        runtime,
        DockerImages(client),
        control,
        compute_cfg,
        docker_cfg,
        console=websocket_proxy.view(conf),
        installation=installation,
        description=description,
    )


def all_in_one_description(conf: cfg.ConfigOpts) -> str:
    settings = api.view(conf)
    return (
        f"dockyard up (API on {settings.host_ip}:{settings.port}, "
        f"data in {default.view(conf).data_dir})"
    )


def build(conf: cfg.ConfigOpts) -> AllInOne:
    db = open_database(conf)
    keep_encryption_key(conf)
    repos = repositories(conf, db)
    if rpc_config.view(conf).rpc_transport == "messaging":
        return _build_over_broker(conf, db, repos)
    control = control_service(repos)
    agent = compute_agent(conf, control, repos.installation.id(), all_in_one_description(conf))
    services = api_services(conf, repos, LocalComputeAPI({agent.host: agent}))
    return AllInOne(api_app(conf, services, db), services, agent, db, api.view(conf))


def _build_over_broker(conf: cfg.ConfigOpts, db: Database, repos: Repositories) -> AllInOne:
    """The all-in-one process with every RPC going through the broker, as in the cloud shape."""
    host = default.view(conf).host
    broker = cloud.broker(conf)
    controls = messaging.control_server(broker, host, control_service(repos))
    controls.start()
    agent = compute_agent(
        conf,
        messaging.MessagingControlAPI(broker),
        repos.installation.id(),
        all_in_one_description(conf),
    )
    agents = messaging.compute_server(broker, host, agent)
    agents.start()
    services = api_services(conf, repos, messaging.MessagingComputeAPI(broker))
    node = AllInOne(api_app(conf, services, db), services, agent, db, api.view(conf))
    node.rpc = (broker, agents, controls)
    return node


def api_services(conf: cfg.ConfigOpts, repos: Repositories, compute_api: ComputeAPI) -> Services:
    """The API's use cases, reaching agents through ``compute_api``."""
    defaults = default.view(conf)
    api_cfg = api.view(conf)
    containers, hosts, actions, quotas = repos.containers, repos.hosts, repos.actions, repos.quotas
    registries = RegistryService(repos.registries, secret_box(conf), api_cfg.max_limit)
    container_service = ContainerService(
        containers,
        actions,
        compute_api,
        api_cfg.max_limit,
        pull_policy=defaults.default_image_pull_policy,
        hosts=hosts,
        registries=registries,
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
                defaults.default_cpu, defaults.default_memory, defaults.default_image_pull_policy
            ),
            registries=registries,
        ),
        limits=Limits(
            min_cpu=defaults.minimum_cpus,
            max_cpu=defaults.maximum_cpus,
            min_memory=defaults.minimum_memory,
            max_memory=defaults.maximum_memory,
            min_disk=defaults.minimum_disk,
            max_disk=defaults.maximum_disk,
        ),
        authorizer=Authorizer.from_conf(conf),
        hosts=HostService(hosts, api_cfg.max_limit, defaults.default_availability_zone),
        registries=registries,
        consoles=ConsoleService(
            container_service, hosts, compute_api, repos.console_tokens, token_ttl
        ),
    )
    return services
