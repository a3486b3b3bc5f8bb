"""One rich sample of every message and result that crosses RPC, for codec and contract tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

from dockyard.domain.container_request import (
    CpuPolicy,
    ExposedPort,
    Healthcheck,
    Protocol,
    PullPolicy,
    RestartPolicy,
    RestartPolicyName,
)
from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.image_records import (
    ImageRecord,
    ImageStatus,
    ImageUse,
    LocalImage,
    PullProgress,
)
from dockyard.domain.models import (
    ActionEvent,
    Archive,
    Container,
    ContainerSpec,
    ExecResult,
    LogOptions,
    PathStat,
    ProcessTable,
    StatsSnapshot,
)
from dockyard.domain.networks import (
    AllocationPool,
    Endpoint,
    FixedIP,
    HostNetwork,
    Port,
    Subnet,
)
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.reports import ANY_TASK, ContainerChange, RuntimeFields
from dockyard.domain.security_groups import (
    Direction,
    EtherType,
    SecurityGroupRule,
)
from dockyard.domain.security_groups import Protocol as RuleProtocol
from dockyard.domain.states import Status, TaskState
from dockyard.domain.volumes import HostMount, HostVolume, HostVolumes, MountRequest, MountType
from dockyard.rpc.messages import (
    CommitContainer,
    ContainerOperation,
    ContainerReport,
    CreateContainer,
    EventReport,
    HostImages,
    HostReport,
    ImageReport,
    PullImage,
    RebuildContainer,
    ResizeContainer,
)

UUID = "0b7a3f4e-2222-4c2d-9e3f-000000000001"
WHEN = dt.datetime(2025, 3, 4, 5, 6, 7, 891011)

SPEC = ContainerSpec(
    uuid=UUID,
    name="web",
    image="dockyard-test/busybox:latest",
    command=("sh", "-c", "echo 'é' && sleep 1"),
    entrypoint=("/bin/busybox",),
    cpu=0.5,
    memory_mib=64,
    environment={"A": "1", "EMPTY": ""},
    labels={"team": "x"},
    workdir="/tmp",
    hostname="web-1",
    interactive=True,
    tty=False,
    auto_remove=False,
    privileged=False,
    runtime="runc",
    restart_policy=RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
    healthcheck=Healthcheck("true", 5, 2, 1),
    host="node-1",
    exposed_ports=(ExposedPort(80), ExposedPort(53, Protocol.UDP)),
    cpuset_cpus="0,1",
    disk_gib=2,
)

IMAGE_RECORD = ImageRecord(
    uuid=UUID,
    repo="127.0.0.1:5001/team/app",
    tag="1.0",
    host="node-1",
    project_id="p",
    image_id="sha256:" + "ef" * 32,
    size=4_261_000,
    status=ImageStatus.READY,
    pulled_by_dockyard=True,
    last_used_at=WHEN,
    created_at=WHEN,
)
CONTAINER = Container(
    uuid=UUID,
    name="web",
    project_id="p-1",
    user_id="u-1",
    image="dockyard-test/busybox:latest",
    status=Status.RUNNING,
    task_state=TaskState.CONTAINER_STOPPING,
    status_reason=None,
    status_detail="Up 2 seconds (healthy)",
    command=("sleep", "60"),
    cpu=0.5,
    memory=64,
    environment={"A": "1"},
    labels={"team": "x"},
    ports=[8080],
    exposed_ports=(ExposedPort(80),),
    addresses={"net": [{"addr": "172.17.0.2", "version": 4, "port": None}]},
    restart_policy=RestartPolicy(RestartPolicyName.ON_FAILURE, 3),
    healthcheck=Healthcheck("true", interval=5),
    image_pull_policy=PullPolicy.ALWAYS,
    cpu_policy=CpuPolicy.DEDICATED,
    host="node-1",
    runtime_id="abc123",
    exit_code=None,
    started_at=WHEN,
    finished_at=None,
    claimed=True,
    created_at=WHEN,
    updated_at=WHEN + dt.timedelta(seconds=1),
    id=7,
)

NETWORK = HostNetwork(
    "net-1",
    (
        Subnet(
            "sub-4", "net-1", "p-1", "10.100.3.0/24", 4, "10.100.3.1",
            (AllocationPool("10.100.3.2", "10.100.3.254"),), name="v4",
        ),
        Subnet("sub-6", "net-1", "p-1", "fd00:3::/64", 6, None, (), name="v6"),
    ),
    mtu=1450,
)  # fmt: skip
PORT = Port(
    "port-1",
    "p-1",
    "net-1",
    "fa:16:3e:00:00:01",
    (FixedIP("sub-4", "10.100.3.7"), FixedIP("sub-6", "fd00:3::7")),
    ("sg-default", "sg-web"),
    name="",
    device_id=UUID,
    device_owner="compute:dockyard",
    host="node-1",
)
FIREWALL = HostFirewall(
    ports=(
        GuardedPort(
            "port-1",
            UUID,
            ("10.100.3.7", "fd00:3::7"),
            (
                SecurityGroupRule(
                    "r-1", "sg-web", "p-1", Direction.INGRESS, EtherType.IPV4,
                    RuleProtocol.TCP, 80, 81, remote_ip_prefix="0.0.0.0/0",
                ),
                SecurityGroupRule(
                    "r-2", "sg-default", "p-1", Direction.INGRESS, EtherType.IPV6,
                    remote_group_id="sg-default",
                ),
                SecurityGroupRule(
                    "r-3", "sg-default", "p-1", Direction.EGRESS, EtherType.IPV4,
                    RuleProtocol.ICMP, 8, 0, description="ping é",
                ),
            ),
        ),
    ),
    members={"sg-default": ("10.100.3.7", "fd00:3::7"), "sg-empty": ()},
)  # fmt: skip
NETWORKED_SPEC = dataclasses.replace(
    SPEC,
    network=Endpoint("dockyard-net-1", "10.100.3.7", "fd00:3::7", PORT.mac_address, ("web",)),
)

VOLUMES_SPEC = dataclasses.replace(
    SPEC,
    volumes=(
        HostMount(HostVolume("vol-1", 2 * 1024**3), "/data"),
        HostMount(HostVolume("vol-2", 1024**3), "/var/lib/app"),
    ),
)
HOST_VOLUMES = HostVolumes((HostVolume("vol-1", 2 * 1024**3),), ("vol-3", "vol-4"))

MESSAGES = [
    CreateContainer(SPEC, run=True, pull_policy=PullPolicy.IF_NOT_PRESENT, request_id="req-1"),
    CreateContainer(
        ContainerSpec(uuid=UUID, name="min", image="i"), False, PullPolicy.NEVER, "req-2"
    ),
    ContainerOperation(UUID, "stop", "req-3", timeout=3, signal="SIGKILL", force=True),
    # What an agent saw, ending a task, with the event it closes.
    ContainerReport(
        UUID,
        ContainerChange(
            Status.RUNNING,
            "The container ran out of memory and was killed (OOM).",
            None,
            RuntimeFields("abc123", "Up 2 seconds", 0, 3, "web-1", (80, 443), WHEN, None),
        ),
        TaskState.CONTAINER_STARTING,
        event=EventReport(
            UUID, "req-4", ActionEvent("compute__do_container_start", WHEN, WHEN, "Success")
        ),
    ),
    # A step: only the task moves, guarded on the previous one.
    ContainerReport(
        UUID, ContainerChange(task=TaskState.IMAGE_PULLING), TaskState.CONTAINER_CREATING
    ),
    # Guarded on "no task", an Error that gives the claim back.
    ContainerReport(UUID, ContainerChange.failed("lost", task=ANY_TASK), None, release_claim=True),
    # No guard, a reason alone.
    ContainerReport(UUID, ContainerChange(reason="resize_container failed: no room")),
    EventReport(
        UUID,
        "req-4",
        ActionEvent(
            "compute__do_container_start", WHEN, WHEN + dt.timedelta(seconds=1), "Error", "x"
        ),
        finish_action=False,
    ),
    HostReport("node-1", {"cpus": 2, "runtimes": ["runc"], "info": {"os": "Debian"}}),
    ResizeContainer(UUID, 1.5, 128, 0.5, 64, "req-5"),
    RebuildContainer(SPEC, run=False, pull_policy=PullPolicy.ALWAYS, request_id="req-6"),
    CreateContainer(
        SPEC, True, PullPolicy.ALWAYS, "req-8", auth=RegistryAuth("reg.example:5000", "u", "p w")
    ),
    RebuildContainer(SPEC, True, PullPolicy.ALWAYS, "req-9", auth=RegistryAuth("reg.example:5000")),
    RebuildContainer(SPEC, True, PullPolicy.IF_NOT_PRESENT, "req-13", image_driver="glance"),
    CommitContainer(UUID, "repo/name", "v1", "req-7"),
    # A container's pull progress: status_detail alone, guarded on image_pulling.
    ContainerReport(
        UUID,
        ContainerChange(detail="Pulling image: 1/3 layers, 0.5/2.0 MB"),
        TaskState.IMAGE_PULLING,
    ),
    PullImage(UUID, "127.0.0.1:5002/team/app", "1.0", RegistryAuth("127.0.0.1:5002", "u", "p")),
    PullImage(UUID, "busybox", "latest"),
    ImageReport(UUID, ImageStatus.PULLING, PullProgress(1, 3, 524288, 2097152)),
    ImageReport(UUID, ImageStatus.READY, image_id="sha256:" + "cd" * 32, size=4_404_019_200),
    ImageReport(UUID, ImageStatus.ERROR, reason="registry 127.0.0.1:5001 could not be reached"),
    HostImages(
        "node-1",
        (
            LocalImage("busybox", "latest", "sha256:" + "ab" * 32, 4_261_000),
            LocalImage("127.0.0.1:5001/team/app", "1.0", "sha256:" + "ef" * 32, 0),
        ),
        (
            ImageUse("busybox:latest", WHEN, pulled=True),
            ImageUse("127.0.0.1:5001/team/app:1.0", WHEN),
        ),
        listed_at=WHEN,
    ),
    # On a network: what the agent realises, the port it is created on, the rules.
    CreateContainer(
        NETWORKED_SPEC,
        True,
        PullPolicy.IF_NOT_PRESENT,
        "req-10",
        networks=(NETWORK,),
        ports=(PORT,),
        firewall=FIREWALL,
    ),
    ContainerOperation(UUID, "network_attach", "req-12", network_id=NETWORK.network_id),
    # With volumes to realise and mount, and a file to inject.
    CreateContainer(
        VOLUMES_SPEC,
        True,
        PullPolicy.IF_NOT_PRESENT,
        "req-11",
        binds=(MountRequest(MountType.BIND, "/etc/app.conf", content=b"a=1\n\x00\xff"),),
    ),
    RebuildContainer(
        VOLUMES_SPEC,
        True,
        PullPolicy.NEVER,
        "req-12",
        binds=(MountRequest(MountType.BIND, "/etc/a", content=b"x"),),
    ),
]

RESULTS = [
    HOST_VOLUMES,
    HostVolumes(),
    ExecResult("hello\nwörld\n", 0),
    ExecResult("", None),
    ProcessTable(("UID", "PID", "CMD"), (("root", "1", "sleep 60"), ("root", "7", "sh"))),
    StatsSnapshot(1.5, 3.25, 64.0, 5.08, 4096, 0, 1200, 800, name="web"),
    Archive(bytes(range(256)) * 3, PathStat("tmp", 4096, 0o40755 | 2**31, "2025-01-01T00:00:00Z")),
    CONTAINER,
    Container(uuid=UUID, name="bare", project_id="p", user_id="u", image="i"),
    LogOptions(tail=10, since=WHEN, timestamps=True),
    LogOptions(since=1700000000),
    LogOptions(),
    FIREWALL,
    HostFirewall(),
    NETWORK,
    IMAGE_RECORD,
]
