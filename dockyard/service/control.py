"""The control side of RPC: applies what agents report to the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from dockyard.db.repositories.actions import ActionRepository
from dockyard.db.repositories.console_tokens import ConsoleTokenRepository
from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.db.repositories.installation import InstallationRepository
from dockyard.domain.addresses import addresses_of, held_ports
from dockyard.domain.errors import DockyardError, Unavailable
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.image_records import ImageRecord
from dockyard.domain.models import Container
from dockyard.domain.networks import HostNetwork
from dockyard.domain.volumes import HostVolumes
from dockyard.drivers.network.base import NetworkDriver
from dockyard.rpc.messages import (
    ContainerReport,
    EventReport,
    HostImages,
    HostReport,
    ImageReport,
)
from dockyard.service.container_volumes import ContainerVolumes
from dockyard.service.images import ImageRecordKeeper

LOG = logging.getLogger(__name__)

#: (the networks a removed container was on, its host): tells the hosts carrying them.
MembersLeft = Callable[[Collection[str], Collection[str]], None]


class ControlService:
    def __init__(
        self,
        containers: ContainerRepository,
        hosts: HostRepository,
        actions: ActionRepository,
        console_tokens: ConsoleTokenRepository | None = None,
        installation: InstallationRepository | None = None,
        images: ImageRecordKeeper | None = None,
        networks: NetworkDriver | None = None,
        volumes: ContainerVolumes | None = None,
        members_left: MembersLeft | None = None,
    ) -> None:
        self.volumes = volumes
        #: Told the networks a container left and its host, once its ports are released.
        self.members_left = members_left
        self.images = images
        self.containers = containers
        self.hosts = hosts
        self.actions = actions
        self.console_tokens = console_tokens
        self._installation = installation
        self.networks = networks

    def report(self, message: ContainerReport) -> bool:
        event = message.event
        applied = self.containers.apply(
            message.uuid,
            message.change,
            expect=message.expect,
            event=None if event is None else (event.request_id, event.event, event.finish_action),
        )
        if applied and message.release_claim:
            self.failed_create(message.uuid)
        return applied

    def failed_create(self, uuid: str) -> None:
        """A create ended in Error (its agent said so, or the conductor ended it on a
        host that went down): its claim, ports, own group and the volumes it made go,
        named volumes are free again; the record stays, in Error."""
        self.containers.release_claim(uuid)
        self._release_ports(uuid, forget=True)
        if self.volumes is not None:
            self.volumes.release(uuid)

    def settle(self, message: ContainerReport) -> None:
        self.report(message)

    def _release_ports(self, uuid: str, forget: bool) -> None:
        """Give back the ports (and own group) of a container whose create failed or
        that is gone.

        ``forget``: clear the record's ``addresses`` (it stays, in Error).
        """
        if self.networks is None:
            return
        record = self.containers.find(uuid)
        if record is None:
            return
        if record.addresses:
            held = held_ports(record.project_id or "", record.addresses)
            self.networks.release_ports(uuid, [h.port for h in held])
            if forget:
                self.containers.update(uuid, {"addresses": None})
            if self.members_left is not None and record.host:
                self.members_left({h.port.network_id for h in held}, (record.host,))
        if record.exposed_ports:
            self.networks.release_exposed_ports_group(uuid)

    def record_event(self, message: EventReport) -> None:
        self.actions.record_event(
            message.uuid, message.request_id, message.event, message.finish_action
        )

    def container_removed(self, uuid: str) -> None:
        try:
            self._release_ports(uuid, forget=False)
        except Unavailable as exc:
            # The container is gone: its record goes too. A backend that keeps ports
            # elsewhere (Neutron) has them swept by its own reconcile loop.
            LOG.warning("ports of removed container %s not released yet: %s", uuid, exc)
        if self.volumes is not None:
            self.volumes.release(uuid)
        self.containers.destroy(uuid)

    def report_host(self, message: HostReport) -> None:
        self.hosts.report(message.host, message.inventory)

    def resize_claim(self, uuid: str, cpu: float, memory_mib: int) -> bool:
        return self.containers.resize(uuid, cpu, memory_mib) is not None

    def containers_on_host(self, host: str) -> list[Container]:
        return self.containers.on_host(host)

    def container(self, uuid: str) -> Container | None:
        return self.containers.find(uuid)

    def spend_console_token(self, token: str, uuid: str, exec_id: str | None) -> bool:
        if self.console_tokens is None:
            return False
        return self.console_tokens.spend(token, uuid, exec_id)

    def installation(self) -> str:
        return self._installation_repository().id()

    def claim_host(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        return self._installation_repository().claim_host(agent, stale_after)

    def release_host(self, agent: HostAgent) -> None:
        self._installation_repository().release_host(agent)

    def host_networks(self, host: str) -> list[HostNetwork]:
        if self.networks is None:
            return []
        return list(self.networks.networks_for_host(host))

    def host_firewall(self, host: str) -> HostFirewall:
        if self.networks is None:
            return HostFirewall()
        return self.networks.firewall_for_host(host)

    def host_volumes(self, host: str) -> HostVolumes:
        if self.volumes is None:
            return HostVolumes()
        return self.volumes.for_host(host)

    def volumes_removed(self, host: str, volume_ids: list[str]) -> None:
        if self.volumes is not None:
            self.volumes.removed(volume_ids)

    def network_detached(self, uuid: str, network_id: str) -> None:
        record = self.containers.find(uuid)
        if self.networks is None or record is None:
            return
        held = held_ports(record.project_id or "", record.addresses)
        gone = [h for h in held if h.port.network_id == network_id]
        if not gone:
            return
        self.networks.release_ports(uuid, [h.port for h in gone])
        if self.members_left is not None and record.host:
            self.members_left({network_id}, (record.host,))
        kept = [h for h in held if h not in gone]
        addresses = addresses_of(
            [h.port for h in kept], {h.port.id for h in kept if h.preserve_on_delete}
        )
        self.containers.update(uuid, {"addresses": addresses or None})

    def _installation_repository(self) -> InstallationRepository:
        if self._installation is None:
            raise DockyardError("this control side was built without the installation")
        return self._installation

    def report_image(self, message: ImageReport) -> bool:
        return self.images.report(message) if self.images is not None else False

    def sync_images(self, message: HostImages) -> None:
        if self.images is not None:
            self.images.sync(message)

    def image_records(self, host: str) -> list[ImageRecord]:
        return self.images.on_host(host) if self.images is not None else []
