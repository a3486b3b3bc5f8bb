"""Builds the all-in-one process from configuration: the one place that wires parts."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import docker
from oslo_config import cfg

from dockyard.api.app import Services, WSGIApp
from dockyard.api.schemas.containers import Limits
from dockyard.cmd.auth_wiring import api_app
from dockyard.compute.agent import ComputeAgent
from dockyard.config import api, compute, database, default
from dockyard.config import docker as docker_config
from dockyard.db import migrate
from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.session import Database
from dockyard.drivers.image.docker import DockerImages
from dockyard.drivers.runtime.docker.driver import DockerRuntime
from dockyard.rpc.local import LocalComputeAPI
from dockyard.service.containers import ContainerService
from dockyard.service.control import ControlService
from dockyard.service.creation import ContainerCreator, CreateDefaults


@dataclass
class AllInOne:
    app: WSGIApp
    services: Services
    agent: ComputeAgent
    db: Database
    api: api.ApiConfig


def open_database(conf: cfg.ConfigOpts) -> Database:
    defaults = default.view(conf)
    os.makedirs(defaults.data_dir, mode=0o700, exist_ok=True)
    db = Database(database.view(conf).connection)
    migrate.upgrade(db)
    return db


def build(conf: cfg.ConfigOpts) -> AllInOne:
    defaults = default.view(conf)
    compute_cfg = compute.view(conf)
    docker_cfg = docker_config.view(conf)
    db = open_database(conf)
    # A host is down when it missed three reconciliation rounds.
    hosts = HostRepository(db, down_after=dt.timedelta(seconds=3 * compute_cfg.sync_interval + 30))
    containers = ContainerRepository(db)
    actions = ActionRepository(db)
    control = ControlService(containers, hosts, actions)

    client = docker.DockerClient(base_url=docker_cfg.api_url, timeout=docker_cfg.api_timeout)
    runtime = DockerRuntime(client, defaults.host, docker_cfg.publish_address)
    agent = ComputeAgent(
        defaults.host, runtime, DockerImages(client), control, compute_cfg, docker_cfg
    )
    compute_api = LocalComputeAPI({defaults.host: agent})

    api_cfg = api.view(conf)
    services = Services(
        containers=ContainerService(
            containers,
            actions,
            compute_api,
            api_cfg.max_limit,
            pull_policy=defaults.default_image_pull_policy,
        ),
        creator=ContainerCreator(
            containers,
            hosts,
            actions,
            compute_api,
            CreateDefaults(
                defaults.default_cpu, defaults.default_memory, defaults.default_image_pull_policy
            ),
        ),
        limits=Limits(
            min_cpu=defaults.minimum_cpus,
            max_cpu=defaults.maximum_cpus,
            min_memory=defaults.minimum_memory,
            max_memory=defaults.maximum_memory,
            min_disk=defaults.minimum_disk,
            max_disk=defaults.maximum_disk,
        ),
    )
    return AllInOne(api_app(conf, services, db), services, agent, db, api_cfg)
