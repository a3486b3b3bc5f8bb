"""The create flow's checks against the registered hosts and its choice of CPUs."""

from __future__ import annotations

import dataclasses
import random
from typing import Any, cast

import pytest

from dockyard.domain.container_request import (
    CpuPolicy,
    ExposedPort,
    Protocol,
    PullPolicy,
)
from dockyard.domain.errors import DockyardError, InvalidImage, InvalidInput, Unavailable
from dockyard.domain.models import Container, ContainerAction, Host, RequestContext
from dockyard.domain.registries import RegistryAuth
from dockyard.rpc.messages import CreateContainer
from dockyard.service.creation import (
    IMAGE_CHECK_TTL,
    ContainerCreator,
    CreateDefaults,
)
from tests import factories
from tests.factories import asked
from tests.fakes.clock import FakeClock

CTX = RequestContext("req-1", "user-1", "project-1", is_admin=True)


class Containers:
    """Just enough of ContainerRepository: claims always succeed."""

    def __init__(self, existing: list[Container] | None = None) -> None:
        self.existing = existing or []
        self.stored: list[Container] = []
        self.actions: list[ContainerAction] = []

    def check_quota(self, record: Container) -> dict[str, int]:
        return {}

    def create_claimed(
        self,
        record: Container,
        host: str,
        action: ContainerAction | None = None,
        limits: object = None,
    ) -> Container:
        claimed = dataclasses.replace(record, host=host, claimed=True)
        self.stored.append(claimed)
        if action is not None:
            self.actions.append(action)
        return claimed

    def create(self, record: Container) -> Container:
        self.stored.append(record)
        return record

    def on_host(self, host: str) -> list[Container]:
        return [c for c in self.existing if c.host == host]

    def destroy(self, uuid: str) -> bool:
        kept = [c for c in self.stored if c.uuid != uuid]
        found, self.stored = len(kept) < len(self.stored), kept
        return found


class Hosts:
    def __init__(self, hosts: list[Host]) -> None:
        self.hosts = hosts

    def all(self) -> list[Host]:
        return list(self.hosts)


class Compute:
    def __init__(self) -> None:
        self.created: list[tuple[str, CreateContainer]] = []
        self.checked: list[tuple[str, str, str, RegistryAuth | None]] = []
        self.refuse: DockyardError | None = None
        self.unreachable: Exception | None = None

    def check_image(
        self, host: str, image: str, pull_policy: str, auth: RegistryAuth | None
    ) -> None:
        self.checked.append((host, image, pull_policy, auth))
        if self.refuse is not None:
            raise self.refuse

    def create(self, host: str, msg: CreateContainer) -> None:
        if self.unreachable is not None:
            raise self.unreachable
        self.created.append((host, msg))


def host(name: str = "h1", **fields: Any) -> Host:
    """A host with 32 schedulable CPUs over 2 physical ones, on overlay2."""
    wide = {"cpus": 32.0, "cpu_count": 2, "storage_driver": "overlay2"}
    return factories.host(name, **{**wide, **fields})


def creator(
    hosts: list[Host],
    existing: list[Container] | None = None,
    clock: FakeClock | None = None,
) -> tuple[ContainerCreator, Containers, Compute]:
    containers, compute = Containers(existing), Compute()
    made = ContainerCreator(
        cast(Any, containers),
        cast(Any, Hosts(hosts)),
        cast(Any, compute),
        CreateDefaults(cpu=1.0, memory=512, pull_policy=PullPolicy.IF_NOT_PRESENT),
        random.Random(7),
        clock or FakeClock(),
    )
    return made, containers, compute


def pinned(uuid: str, cpuset: str, on: str = "h1") -> Container:
    return Container(
        uuid=uuid,
        name=uuid,
        project_id="p",
        user_id="u",
        image="busybox",
        host=on,
        cpu_policy=CpuPolicy.DEDICATED,
        cpuset_cpus=cpuset,
    )


def test_dedicated_needs_a_host_with_enough_physical_cpus() -> None:
    # Host.cpus (capacity after the allocation ratio) is 32, but only 2 CPUs exist.
    made, containers, _ = creator([host(cpu_count=2)])

    with pytest.raises(InvalidInput) as raised:
        made.create(CTX, asked(cpu=2.5, cpu_policy=CpuPolicy.DEDICATED), False)

    assert raised.value.detail.startswith("cpu_policy: dedicated needs 3 whole CPUs")
    assert raised.value.fields == {"field": "cpu_policy"}
    assert containers.stored == []


def test_dedicated_is_pinned_to_the_least_used_cpus_of_the_chosen_host() -> None:
    existing = [pinned("a", "0"), pinned("b", "0,1"), pinned("c", "1", on="h2")]
    made, containers, compute = creator([host(cpu_count=4)], existing)

    made.create(CTX, asked(cpu=1.5, cpu_policy=CpuPolicy.DEDICATED), False)

    [record] = containers.stored
    assert record.cpuset_cpus == "2,3"
    [(_, msg)] = compute.created
    assert msg.spec.cpuset_cpus == "2,3"


def test_shared_containers_are_not_pinned() -> None:
    made, containers, compute = creator([host()])

    made.create(CTX, asked(cpu=1.5), False)

    assert containers.stored[0].cpuset_cpus is None
    assert compute.created[0][1].spec.cpuset_cpus is None


def test_disk_is_refused_naming_the_storage_drivers() -> None:
    made, containers, _ = creator([host("h1"), host("h2", storage_driver="vfs")])

    with pytest.raises(InvalidInput) as raised:
        made.create(CTX, asked(disk=5), False)

    assert raised.value.detail == (
        "disk: the storage driver (overlay2, vfs) of the hosts cannot limit container disk size."
    )
    assert containers.stored == []


def test_disk_goes_to_a_host_that_can_limit_it() -> None:
    quota = host("h2", storage_driver="btrfs", supports_disk_quota=True)
    made, _, compute = creator([host("h1"), quota])

    made.create(CTX, asked(disk=5), False)

    [(placed, msg)] = compute.created
    assert placed == "h2"
    assert msg.spec.disk_gib == 5


def test_exposed_ports_are_stored_and_sent() -> None:
    made, containers, compute = creator([host()])

    ports = (ExposedPort(53, Protocol.UDP), ExposedPort(80))
    made.create(CTX, asked(exposed_ports=ports), False)

    assert containers.stored[0].exposed_ports == ports
    assert containers.stored[0].ports == [53, 80]
    assert compute.created[0][1].spec.exposed_ports == ports


def test_new_records_start_in_container_creating() -> None:
    made, containers, _ = creator([host()])

    made.create(CTX, asked(), True)

    [record] = containers.stored
    assert str(record.status) == "Creating"
    assert str(record.task_state) == "container_creating"


def test_a_record_no_host_can_take_is_an_error_without_a_task() -> None:
    made, containers, compute = creator([host(memory_mib=64)])

    made.create(CTX, asked(memory=4096), True)

    [record] = containers.stored
    assert str(record.status) == "Error"
    assert record.task_state is None
    assert compute.created == []


def test_an_image_check_is_trusted_for_a_while_per_host_image_and_policy() -> None:
    clock = FakeClock()
    made, _, compute = creator([host()], clock=clock)

    for _ in range(3):
        made.create(CTX, asked(), True)
    made.create(CTX, asked(image_pull_policy=PullPolicy.ALWAYS), True)
    made.create(CTX, asked("other"), True)
    assert compute.checked == [
        ("h1", "busybox:latest", "ifnotpresent", None),
        ("h1", "busybox:latest", "always", None),
        ("h1", "other:latest", "ifnotpresent", None),
    ]

    clock.advance(IMAGE_CHECK_TTL + 1)
    made.create(CTX, asked(), True)
    assert len(compute.checked) == 4


def test_a_refused_image_is_asked_about_again() -> None:
    made, containers, compute = creator([host()])
    compute.refuse = InvalidImage("image: nope is not found.", field="image")

    for _ in range(2):
        with pytest.raises(InvalidImage):
            made.create(CTX, asked("nope"), True)

    assert len(compute.checked) == 2
    assert containers.stored == []


def test_the_create_action_opens_with_the_claim() -> None:
    made, containers, _ = creator([host()])

    made.create(CTX, asked(), True)

    [record] = containers.stored
    [action] = containers.actions
    assert (action.action, action.container_uuid, action.request_id) == (
        "create",
        record.uuid,
        "req-1",
    )
    assert action.start_time == record.created_at


@pytest.mark.parametrize(
    "failure",
    [Unavailable("The message broker is unreachable: refused"), ConnectionResetError(104)],
    ids=["mapped", "unexpected"],
)
def test_a_create_the_agent_cannot_be_sent_leaves_no_record(failure: Exception) -> None:
    made, containers, compute = creator([host()])
    compute.unreachable = failure

    with pytest.raises(type(failure)):
        made.create(CTX, asked(), True)

    assert containers.stored == []


def test_a_full_disk_leaves_the_record_in_error_naming_it() -> None:
    full = host("h1", storage_driver="btrfs", supports_disk_quota=True, disk_used=98)
    made, containers, compute = creator([full, host("h2")])

    made.create(CTX, asked(disk=5), True)

    [record] = containers.stored
    assert str(record.status) == "Error"
    assert (
        record.status_reason == "There are not enough hosts available (h1: disk; h2: disk_quota)."
    )
    assert compute.created == []


def test_a_claim_lost_to_a_concurrent_create_is_explained_on_fresh_hosts() -> None:
    hosts = Hosts([host("h1")])
    made, containers, compute = creator(hosts.hosts)
    made.hosts = cast(Any, hosts)

    def lose(
        record: Container, on: str, action: ContainerAction | None = None, limits: object = None
    ) -> None:
        hosts.hosts = [host("h1", memory_used=8192)]  # the winner's claim

    containers.create_claimed = lose  # type: ignore[assignment,method-assign]

    made.create(CTX, asked(), True)

    [record] = containers.stored
    assert record.status_reason == "There are not enough hosts available (h1: ram)."
    assert compute.created == []
