"""The create flow: validate against live state, place, claim, record, hand to the agent."""

from __future__ import annotations

import dataclasses
import logging
import random
import uuid as uuidlib
from dataclasses import dataclass

from dockyard.db.repositories.containers import ContainerRepository
from dockyard.db.repositories.hosts import HostRepository
from dockyard.domain import failpoints
from dockyard.domain.addresses import addresses_of
from dockyard.domain.clock import Clock
from dockyard.domain.container_request import ContainerRequest, CpuPolicy, PullPolicy
from dockyard.domain.cpusets import pick_cpus, whole_cpus
from dockyard.domain.errors import InvalidInput
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.images import parse_image
from dockyard.domain.models import Container, ContainerAction, Host, RequestContext
from dockyard.domain.names import generate_name
from dockyard.domain.networks import Attachment, HostNetwork, Port
from dockyard.domain.recent import Recent
from dockyard.domain.registries import RegistryAuth, in_registry
from dockyard.domain.security_groups import Protocol as GroupProtocol
from dockyard.domain.states import Status, TaskState
from dockyard.domain.volumes import HostMount, MountRequest
from dockyard.drivers.network.base import Caller, NetworkDriver, realised_on
from dockyard.rpc.api import ComputeAPI
from dockyard.rpc.messages import CreateContainer
from dockyard.scheduler.request import PlacementRequest
from dockyard.scheduler.scheduler import place
from dockyard.service.container_volumes import ContainerVolumes, VolumePlan
from dockyard.service.image_drivers import ImageDrivers
from dockyard.service.registries import RegistryService
from dockyard.service.tunnel_push import TunnelPush

LOG = logging.getLogger(__name__)

#: Seconds a host's "I can get this image" answer is trusted for further creates.
IMAGE_CHECK_TTL = 30.0


@dataclass(frozen=True)
class CreateDefaults:
    cpu: float
    memory: int
    pull_policy: PullPolicy


class ContainerCreator:
    def __init__(
        self,
        containers: ContainerRepository,
        hosts: HostRepository,
        compute: ComputeAPI,
        defaults: CreateDefaults,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        registries: RegistryService | None = None,
        networks: NetworkDriver | None = None,
        volumes: ContainerVolumes | None = None,
        image_drivers: ImageDrivers | None = None,
    ) -> None:
        self.volumes = volumes
        self.containers = containers
        self.hosts = hosts
        self.compute = compute
        self.defaults = defaults
        self.rng = rng or random.Random()
        self.clock = clock or containers.db.clock
        self._image_ok: Recent[tuple[str, str, PullPolicy, RegistryAuth | None]] = Recent(
            IMAGE_CHECK_TTL, self.clock.monotonic
        )
        self.registries = registries
        self.networks = networks
        self.tunnels = TunnelPush(networks, compute) if networks is not None else None
        self.image_drivers = image_drivers or ImageDrivers()

    def _registry(
        self, ctx: RequestContext, new: ContainerRequest, image: str
    ) -> tuple[str, str | None, RegistryAuth | None]:
        """The image as pulled, the registry's uuid and its auth (the caller's own only)."""
        if not new.registry:
            return image, None, None
        if self.registries is None:
            raise InvalidInput("registry: private registries are not configured.", field="registry")
        registry, auth = self.registries.for_container(ctx, new.registry)
        return in_registry(image, registry.domain), registry.uuid, auth

    def _image(
        self, ctx: RequestContext, new: ContainerRequest, driver: str
    ) -> tuple[str, str | None, RegistryAuth | None]:
        """What the agent fetches, the registry's uuid and its auth; a Glance image is
        looked up now, so a wrong one is refused before anything is made."""
        if driver != "glance":
            return self._registry(ctx, new, str(new.image_ref or parse_image(new.image)))
        if new.registry:
            raise InvalidInput(
                "registry: a Glance image comes from Glance, not from a registry.",
                field="registry",
            )
        self.image_drivers.check_glance(new.image)
        return new.image, None, None

    def create(self, ctx: RequestContext, new: ContainerRequest, run: bool) -> Container:
        driver = self.image_drivers.choose(new.image_driver)
        image, registry_id, auth = self._image(ctx, new, driver)
        caller = Caller(ctx.project_id, may_attach_external=ctx.may_attach_external)
        # With exposed_ports, the container's own group is made with its ports (below)
        # and stands in for the project's default group.
        named = not new.exposed_ports or new.security_groups
        group_ids = self._security_groups(caller, new) if named else ()
        record = dataclasses.replace(
            self._record(ctx, new),
            registry_id=registry_id,
            security_groups=list(group_ids),
            image_driver=driver,
        )
        volumes = self._plan_volumes(ctx, new)
        # Early 403 for the common case (new volumes' GiB count in disk); create_claimed
        # and the volume records reserve atomically.
        with_volumes = dataclasses.replace(record, disk=(record.disk or 0) + volumes.new_gib)
        limits = self.containers.check_quota(with_volumes if volumes.new_gib else record)
        attachments = self._attachments(caller, new)
        dedicated = record.cpu_policy is CpuPolicy.DEDICATED
        request = PlacementRequest(
            cpu=record.cpu or 0.0,
            memory_mib=record.memory or 0,
            disk_gib=(record.disk or 0) + volumes.host_gib,
            runtime=new.runtime,
            availability_zone=new.availability_zone,
            requested_host=volumes.host or new.host,
            dedicated_cpus=whole_cpus(record.cpu or 0.0) if dedicated else 0,
            disk_quota=record.disk is not None,
            volumes=volumes.needs_volumes,
        )
        placement = place(request, self.hosts.all(), self.rng)
        if placement.refusal is not None:
            raise placement.refusal
        pull_policy = new.image_pull_policy or self.defaults.pull_policy
        if placement.candidates and driver == "docker":
            self._check_image(placement.candidates[0].name, image, pull_policy, auth)
        failpoints.hit("create.before_claim", record.name)
        for host in placement.candidates:
            created = self.containers.create_claimed(
                self._pinned(record, request, host),
                host.name,
                self._action(ctx, record),
                limits,
            )
            if created is not None:
                mounts = self._claim_volumes(ctx, volumes, created)
                plan = self._ports(created, attachments, group_ids)
                plan = dataclasses.replace(plan, volumes=mounts, binds=volumes.binds)
                failpoints.hit("create.after_claim", record.name)
                return self._dispatch(ctx, plan, image, pull_policy, run, auth, driver)
        if placement.candidates:
            # Concurrent creates took the room first: say what ran out, not "ok".
            placement = place(request, self.hosts.all(), self.rng)
        reason = placement.explain()
        LOG.warning("no host for container %s: %s", record.uuid, reason)
        failed = dataclasses.replace(
            record, status=Status.ERROR, task_state=None, status_reason=reason
        )
        return self.containers.create(failed)

    def _plan_volumes(self, ctx: RequestContext, new: ContainerRequest) -> VolumePlan:
        """The create's mounts resolved against the caller's volumes; nothing is made."""
        if not new.mounts:
            return VolumePlan()
        if self.volumes is None:
            raise InvalidInput("mounts: volumes are not configured.", field="mounts")
        return self.volumes.plan(ctx.project_id, new.mounts, new.host)

    def _claim_volumes(
        self, ctx: RequestContext, volumes: VolumePlan, record: Container
    ) -> tuple[HostMount, ...]:
        """Record the claimed container's volumes; a failure leaves neither them nor it."""
        if self.volumes is None or not (volumes.needs_volumes or volumes.binds):
            return ()
        assert record.host is not None
        try:
            return self.volumes.claim(volumes, ctx.project_id, record.uuid, record.host)
        except Exception:
            self.containers.destroy(record.uuid)
            raise

    def _security_groups(self, caller: Caller, new: ContainerRequest) -> tuple[str, ...]:
        """Ids of the groups the container's ports get (none without networking)."""
        if self.networks is None:
            if new.security_groups:
                raise InvalidInput(
                    "security_groups: networking is not configured.", field="security_groups"
                )
            return ()
        groups = self.networks.resolve_security_groups(caller, new.security_groups)
        return tuple(group.id for group in groups)

    def _attachments(self, caller: Caller, new: ContainerRequest) -> tuple[Attachment, ...]:
        """The networks and ports asked for, checked before anything is made."""
        if self.networks is None:
            if new.nets:
                raise InvalidInput("nets: networking is not configured.", field="nets")
            return ()
        return self.networks.resolve(caller, new.nets)

    def _ports(
        self, record: Container, attachments: tuple[Attachment, ...], group_ids: tuple[str, ...]
    ) -> _Plan:
        """Make the claimed container's ports and note them on its record.

        A failure leaves nothing: the ports driver undoes its own part, the record
        and its claim go here.
        """
        if self.networks is None or not attachments:
            return _Plan(record)
        assert record.host is not None
        ports: tuple[Port, ...] = ()
        try:
            if record.exposed_ports:
                group_ids = (*self._exposed_ports_group(record), *group_ids)
            ports = self.networks.make_ports(record.uuid, record.host, attachments, group_ids)
            preserved = {
                port.id
                for port, attachment in zip(ports, attachments, strict=True)
                if attachment.preserve_on_delete
            }
            addresses = addresses_of(ports, preserved)
            noted = self.containers.update(
                record.uuid, {"addresses": addresses, "security_groups": list(group_ids)}
            )
            firewall = self.networks.firewall_for_host(record.host)
            networks = realised_on(self.networks, record.host, attachments)
        except Exception:
            self._forget(record, ports)
            raise
        if self.tunnels is not None:
            # The other hosts of these networks carry them to this one from now on.
            self.tunnels([a.network.id for a in attachments], skip=record.host)
        return _Plan(noted or record, networks, ports, firewall)

    def _exposed_ports_group(self, record: Container) -> tuple[str]:
        """Make the group that opens exactly the container's ``exposed_ports``; its id."""
        assert self.networks is not None
        ports = [(p.number, GroupProtocol(str(p.protocol))) for p in record.exposed_ports]
        group = self.networks.make_exposed_ports_group(
            record.uuid, record.name or record.uuid, record.project_id, ports
        )
        return (group.id,)

    def _forget(self, record: Container, ports: tuple[Port, ...] = ()) -> None:
        """Undo a create the agent never got: ports, own group, volumes, record, claim and
        quota."""
        try:
            if self.networks is not None:
                if ports:
                    self.networks.release_ports(record.uuid, ports)
                if record.exposed_ports:
                    self.networks.release_exposed_ports_group(record.uuid)
            if self.volumes is not None:
                # Never realised: the volumes it made go at once, named ones are detached.
                self.volumes.release(record.uuid, realised=False)
        finally:
            self.containers.destroy(record.uuid)

    def _check_image(
        self, host: str, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None
    ) -> None:
        """Ask the host whether it can get the image, unless it said yes a moment ago.

        A burst of creates from one image then costs one round trip to the agent;
        an image that vanishes within the window fails the create on the agent instead.
        """
        key = (host, image, pull_policy, auth)
        if key in self._image_ok:
            return
        self.compute.check_image(host, image, pull_policy, auth)
        self._image_ok.add(key)

    def _action(self, ctx: RequestContext, record: Container) -> ContainerAction:
        return ContainerAction(
            action="create",
            container_uuid=record.uuid,
            request_id=ctx.request_id,
            user_id=ctx.user_id,
            project_id=ctx.project_id,
            start_time=record.created_at or self.clock.now(),
        )

    def _record(self, ctx: RequestContext, new: ContainerRequest) -> Container:
        return Container.requested(
            new,
            uuid=str(uuidlib.uuid4()),
            name=new.name or generate_name(self.rng),
            created_at=self.clock.now(),
            project_id=ctx.project_id,
            user_id=ctx.user_id,
            # The agent takes it from here; it only reports the steps a client can tell apart.
            task_state=TaskState.CONTAINER_CREATING,
            cpu=new.cpu if new.cpu is not None else self.defaults.cpu,
            memory=new.memory if new.memory is not None else self.defaults.memory,
            # Until the engine reports them (with any the image exposes too).
            ports=sorted({port.number for port in new.exposed_ports}),
        )

    def _pinned(self, record: Container, request: PlacementRequest, host: Host) -> Container:
        if not request.dedicated_cpus:
            return record
        # Races between concurrent creates only make two containers share CPUs.
        pinned = [c.cpuset_cpus for c in self.containers.on_host(host.name) if c.cpuset_cpus]
        cpuset = pick_cpus(request.dedicated_cpus, host.cpu_count, pinned)
        return dataclasses.replace(record, cpuset_cpus=cpuset)

    def _dispatch(
        self,
        ctx: RequestContext,
        plan: _Plan,
        image: str,
        pull_policy: PullPolicy,
        run: bool,
        auth: RegistryAuth | None = None,
        image_driver: str = "docker",
    ) -> Container:
        record = plan.record
        assert record.host is not None
        spec = dataclasses.replace(record.spec(), image=image, volumes=plan.volumes)
        message = CreateContainer(
            spec,
            run,
            pull_policy,
            ctx.request_id,
            auth=auth,
            networks=plan.networks,
            ports=plan.ports,
            firewall=plan.firewall,
            binds=plan.binds,
            image_driver=image_driver,
        )
        try:
            self.compute.create(record.host, message)
        except Exception:
            # The caller gets an error and no id: leave nothing behind, ports, claim and
            # quota included, whatever the failure. Should the cast have reached the agent
            # after all, the agent finds no record and its reconciler removes what it made.
            self._forget(record, plan.ports)
            raise
        return record


@dataclass(frozen=True)
class _Plan:
    """A claimed container and what the agent needs to plug it in."""

    record: Container
    networks: tuple[HostNetwork, ...] = ()
    ports: tuple[Port, ...] = ()
    firewall: HostFirewall | None = None
    volumes: tuple[HostMount, ...] = ()
    #: Files to inject (``type: bind`` mounts).
    binds: tuple[MountRequest, ...] = ()
