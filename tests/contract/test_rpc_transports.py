"""ComputeAPI and ControlAPI: one contract, two transports.

``local`` is the in-process transport of `dockyard up`; ``messaging`` is
oslo.messaging on the machine's RabbitMQ, with an exchange and topics of its own
per run. Without RabbitMQ the messaging half is skipped loudly (failed under CI).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.domain.errors import (
    Conflict,
    ContainerNotFound,
    DriverError,
    ImageInUse,
    InvalidImage,
    InvalidInput,
    NotFound,
    ServiceBusy,
    Unavailable,
)
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.models import LogOptions
from dockyard.domain.networks import HostNetwork
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.reports import ANY_TASK, ContainerChange, RuntimeFields
from dockyard.domain.states import Status, TaskState
from dockyard.domain.volumes import HostVolumes
from dockyard.rpc.api import ComputeAPI, ControlAPI
from dockyard.rpc.local import LocalComputeAPI
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
from tests.fakes.agent import (
    ARCHIVE,
    EXEC,
    EXEC_ID,
    IMAGE_ID,
    LOG_TEXT,
    SEARCH_RESULT,
    STATS,
    TOP,
    RecordingAgent,
)
from tests.fakes.control import INSTALLATION, RecordingControl
from tests.support.broker import TRANSPORT_URL, private_rpc_section, require_rabbitmq
from tests.support.rpc_samples import (
    CONTAINER,
    FIREWALL,
    HOST_VOLUMES,
    IMAGE_RECORD,
    MESSAGES,
    NETWORK,
    UUID,
)

HOST = "contract-node"
CALL_TIMEOUT = 2


def sample(kind: type) -> Any:
    return next(m for m in MESSAGES if isinstance(m, kind))


@dataclass
class Wired:
    name: str
    compute: ComputeAPI
    control: ControlAPI
    agent: RecordingAgent
    recorder: RecordingControl


@dataclass
class Transport:
    name: str
    agent: RecordingAgent
    recorder: RecordingControl
    compute: ComputeAPI
    control: ControlAPI
    close: Callable[[], None]


def local_transport() -> Transport:
    agent, recorder = RecordingAgent(), RecordingControl()
    return Transport("local", agent, recorder, LocalComputeAPI({HOST: agent}), recorder, list)


def messaging_transport(tmp: Path) -> Transport:
    require_rabbitmq()
    from dockyard.rpc import messaging

    section, names = private_rpc_section(tmp, CALL_TIMEOUT)
    conf_file = tmp / "rpc.conf"
    conf_file.write_text(section)
    broker = messaging.Broker(
        messaging.BrokerSettings(
            transport_url=TRANSPORT_URL,
            call_timeout=CALL_TIMEOUT,
            send_retries=1,
            config_files=(str(conf_file),),
            **names,
        )
    )
    agent, recorder = RecordingAgent(), RecordingControl()
    servers = [
        messaging.compute_server(broker, HOST, agent),
        messaging.control_server(broker, "conductor-1", recorder),
    ]
    for server in servers:
        server.start()

    def close() -> None:
        if agent.hold is not None:
            agent.hold.set()
        for server in servers:
            server.stop()
        broker.close()

    compute = messaging.MessagingComputeAPI(broker)
    return Transport(
        "messaging", agent, recorder, compute, messaging.MessagingControlAPI(broker), close
    )


@pytest.fixture(scope="module", params=["local", "messaging"])
def transport(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Transport]:
    if request.param == "local":
        built = local_transport()
    else:
        built = messaging_transport(tmp_path_factory.mktemp("rpc"))
    yield built
    built.close()


@pytest.fixture
def wired(transport: Transport) -> Wired:
    """The transport with a fresh agent and control state for each test."""
    agent, recorder = transport.agent, transport.recorder
    agent.calls.clear()
    agent.fail.clear()
    agent.hold = None
    recorder.__init__()  # type: ignore[misc]
    return Wired(transport.name, transport.compute, transport.control, agent, recorder)


# -- ComputeAPI: casts -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("create", sample(CreateContainer)),
        ("operate", sample(ContainerOperation)),
        ("resize", sample(ResizeContainer)),
        ("rebuild", sample(RebuildContainer)),
        ("pull_image", sample(PullImage)),
    ],
)
def test_casts_arrive_intact(wired: Wired, method: str, message: Any) -> None:
    assert getattr(wired.compute, method)(HOST, message) is None
    assert wired.agent.received(method) == (message,)


def test_casts_arrive_in_order(wired: Wired) -> None:
    for operation in ("start", "pause", "unpause", "stop", "delete"):
        wired.compute.operate(HOST, ContainerOperation(UUID, operation, "r"))
    deadline = time.monotonic() + 10
    while len(wired.agent.calls) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [args[0].operation for _, args in wired.agent.calls] == [
        "start",
        "pause",
        "unpause",
        "stop",
        "delete",
    ]


# -- ComputeAPI: calls -------------------------------------------------------


def test_calls_return_typed_results(wired: Wired) -> None:
    compute = wired.compute
    options = LogOptions(tail=5, timestamps=True, since=CONTAINER.started_at)
    assert compute.logs(HOST, UUID, options) == LOG_TEXT
    assert compute.execute(HOST, UUID, ("sh", "-c", "echo hi")) == EXEC
    assert compute.top(HOST, UUID, "aux") == TOP
    assert compute.top(HOST, UUID, None) == TOP
    assert compute.stats(HOST, UUID) == STATS
    assert compute.get_archive(HOST, UUID, "/tmp") == ARCHIVE
    commit = CommitContainer(UUID, "repo/app", "v2", "req-9")
    assert compute.commit(HOST, commit) == IMAGE_ID
    auth = RegistryAuth("registry.example.com:5000", "robot", "pa55 wörd")
    assert compute.check_image(HOST, "busybox:latest", "ifnotpresent", auth) is None
    assert compute.update_limits(HOST, UUID, 1.25, 256) is None
    assert compute.put_archive(HOST, UUID, "/srv", ARCHIVE.data) is None
    assert wired.agent.received("logs") == (UUID, options)
    assert wired.agent.received("execute") == (UUID, ["sh", "-c", "echo hi"])
    assert wired.agent.received("commit") == (commit,)
    assert wired.agent.received("update_limits") == (UUID, 1.25, 256)
    assert wired.agent.received("put_archive") == (UUID, "/srv", ARCHIVE.data)
    assert wired.agent.received("check_image") == ("busybox:latest", "ifnotpresent", auth)


def test_a_create_on_a_network_arrives_with_its_ports_and_rules(wired: Wired) -> None:
    message = next(m for m in MESSAGES if isinstance(m, CreateContainer) and m.ports)
    wired.compute.create(HOST, message)
    (received,) = wired.agent.received("create")
    assert received == message
    assert received.firewall.ports[0].rules[0].port_range_max == 81


def test_a_firewall_reaches_the_agent_whole_and_its_refusal_comes_back(wired: Wired) -> None:
    assert wired.compute.apply_firewall(HOST, FIREWALL) is None
    assert wired.agent.received("apply_firewall") == (FIREWALL,)
    wired.agent.fail["apply_firewall"] = DriverError("nft -f - failed (1): syntax error")
    with pytest.raises(DriverError, match="syntax error"):
        wired.compute.apply_firewall(HOST, HostFirewall())


def test_terminal_calls_arrive_intact(wired: Wired) -> None:
    compute = wired.compute
    assert compute.exec_session(HOST, UUID, ("sh", "-i"), True) == EXEC_ID
    assert compute.exec_resize(HOST, UUID, EXEC_ID, 40, 132) is None
    assert compute.resize_tty(HOST, UUID, 24, 80) is None
    assert wired.agent.received("exec_session") == (UUID, ["sh", "-i"], True)
    assert wired.agent.received("exec_resize") == (UUID, EXEC_ID, 40, 132)
    assert wired.agent.received("resize_tty") == (UUID, 24, 80)


@pytest.mark.parametrize(
    ("method", "call", "error"),
    [
        ("logs", lambda c: c.logs(HOST, UUID, LogOptions()), ContainerNotFound("gone", uuid=UUID)),
        (
            "check_image",
            lambda c: c.check_image(HOST, "nope:1", "never", None),
            InvalidImage("Image nope:1 is not present on node and pull policy is never."),
        ),
        ("execute", lambda c: c.execute(HOST, UUID, ["x"]), Conflict("Not running.", state="x")),
        ("stats", lambda c: c.stats(HOST, UUID), ServiceBusy("The agent is shutting down.")),
    ],
    ids=["not-found", "invalid-image", "conflict", "busy"],
)
def test_remote_errors_come_back_as_the_same_class(
    wired: Wired, method: str, call: Callable[[ComputeAPI], Any], error: Exception
) -> None:
    wired.agent.fail[method] = error
    with pytest.raises(type(error)) as raised:
        call(wired.compute)
    assert type(raised.value) is type(error)
    assert raised.value.detail == error.detail  # type: ignore[attr-defined]
    assert raised.value.fields == error.fields  # type: ignore[attr-defined]


def test_a_host_without_agent_is_refused_at_once(wired: Wired) -> None:
    started = time.monotonic()
    with pytest.raises(ServiceBusy, match="no-such-host"):
        wired.compute.logs("no-such-host", UUID, LogOptions())
    with pytest.raises(ServiceBusy, match="no-such-host"):
        wired.compute.create("no-such-host", sample(CreateContainer))
    assert time.monotonic() - started < CALL_TIMEOUT


# Only the broker has a timeout to test: in-process calls run on the caller's thread.
@pytest.mark.parametrize("transport", ["messaging"], indirect=True)
def test_an_agent_that_does_not_answer_fails_within_the_timeout(wired: Wired) -> None:
    wired.agent.hold = hold = threading.Event()
    started = time.monotonic()
    with pytest.raises(Unavailable, match=f"did not answer logs within {CALL_TIMEOUT} s"):
        wired.compute.logs(HOST, UUID, LogOptions())
    assert time.monotonic() - started < CALL_TIMEOUT + 3
    hold.set()


# -- ControlAPI --------------------------------------------------------------


def test_reports_apply_with_their_guard(wired: Wired) -> None:
    wired.recorder.add(dataclasses.replace(CONTAINER, task_state=None))
    stopped = ContainerChange(Status.STOPPED, runtime=RuntimeFields("abc123", exit_code=0))
    applied = ContainerReport(UUID, stopped, ANY_TASK)
    assert wired.control.report(applied) is True
    running = ContainerChange(Status.RUNNING)
    guarded = ContainerReport(UUID, running, TaskState.CONTAINER_STARTING)
    assert wired.control.report(guarded) is False
    assert wired.control.report(ContainerReport("missing", running)) is False
    assert wired.recorder.reports == [applied, guarded, ContainerReport("missing", running)]
    record = wired.recorder.containers[UUID]
    assert (record.status, record.exit_code, record.status_reason) == (Status.STOPPED, 0, None)


def test_a_settle_report_is_applied_with_its_guard_without_an_answer(wired: Wired) -> None:
    wired.recorder.add(dataclasses.replace(CONTAINER, task_state=TaskState.CONTAINER_STARTING))
    handled = threading.Semaphore(0)
    wired.recorder.on_report.append(lambda *_: handled.release())
    running = ContainerChange(Status.RUNNING, task=None, runtime=RuntimeFields("abc123"))
    stale = ContainerReport(UUID, ContainerChange(Status.STOPPED), TaskState.CONTAINER_STOPPING)
    final = ContainerReport(UUID, running, TaskState.CONTAINER_STARTING)

    assert wired.control.settle(stale) is None  # type: ignore[func-returns-value]
    assert handled.acquire(timeout=10)
    assert wired.control.settle(final) is None  # type: ignore[func-returns-value]
    assert handled.acquire(timeout=10)

    assert [h.applied for h in wired.recorder.handled] == [False, True]
    record = wired.recorder.containers[UUID]
    assert (record.status, record.task_state, record.runtime_id) == (Status.RUNNING, None, "abc123")


@pytest.mark.parametrize(
    "report",
    [m for m in MESSAGES if isinstance(m, ContainerReport)],
    ids=lambda r: f"{type(r.change.status).__name__}-{r.expect}",
)
def test_every_report_shape_arrives_typed_and_whole(wired: Wired, report: ContainerReport) -> None:
    """Statuses, task states, guards and datetimes cross as themselves, not as text."""
    held = report.expect if isinstance(report.expect, TaskState) else None
    wired.recorder.add(dataclasses.replace(CONTAINER, task_state=held))
    assert wired.control.report(report) is True
    assert wired.recorder.reports == [report]
    record = wired.recorder.containers[UUID]
    for name, value in report.change.fields().items():
        assert getattr(record, name) == value, name
    if report.change.runtime is not None:
        assert record.started_at == report.change.runtime.started_at
        assert isinstance(record.started_at, dt.datetime)
    if report.event is not None:
        assert wired.recorder.events == [report.event]


def test_events_hosts_and_removals_reach_the_control(wired: Wired) -> None:
    event = sample(EventReport)
    host = sample(HostReport)
    wired.control.record_event(event)
    wired.control.report_host(host)
    wired.control.container_removed(UUID)
    assert wired.recorder.events == [event]
    assert wired.recorder.hosts == [host]
    assert wired.recorder.removed == [UUID]


def test_records_come_back_whole(wired: Wired) -> None:
    wired.recorder.add(dataclasses.replace(CONTAINER))
    assert wired.control.containers_on_host("node-1") == [CONTAINER]
    assert wired.control.containers_on_host("elsewhere") == []
    assert wired.control.container(UUID) == CONTAINER
    assert wired.control.container("missing") is None


def test_a_hosts_networks_and_firewall_come_back_typed(wired: Wired) -> None:
    wired.recorder.networks["node-1"] = [NETWORK, HostNetwork("net-2", ())]
    wired.recorder.firewalls["node-1"] = FIREWALL
    assert wired.control.host_networks("node-1") == [NETWORK, HostNetwork("net-2", ())]
    assert wired.control.host_firewall("node-1") == FIREWALL
    assert wired.control.host_networks("elsewhere") == []
    assert wired.control.host_firewall("elsewhere") == HostFirewall()


def test_a_hosts_volumes_come_back_typed_and_removals_reach_the_control(wired: Wired) -> None:
    wired.recorder.volumes["node-1"] = HOST_VOLUMES
    assert wired.control.host_volumes("node-1") == HOST_VOLUMES
    assert wired.control.host_volumes("elsewhere") == HostVolumes()
    wired.control.volumes_removed("node-1", ["vol-3"])
    assert wired.recorder.removed_volumes == ["vol-3"]


def test_console_tokens_are_spent_once_and_only_for_their_session(wired: Wired) -> None:
    wired.recorder.console_tokens = {"t-attach": (UUID, None), "t-exec": (UUID, EXEC_ID)}
    assert wired.control.spend_console_token("t-exec", UUID, None) is False
    assert wired.control.spend_console_token("t-exec", "other", EXEC_ID) is False
    assert wired.control.spend_console_token("t-exec", UUID, EXEC_ID) is True
    assert wired.control.spend_console_token("t-exec", UUID, EXEC_ID) is False
    assert wired.control.spend_console_token("t-attach", UUID, None) is True


def test_installation_and_host_claims(wired: Wired) -> None:
    first = HostAgent("node-1", "t-1", "m1", 10, "dockyard up (first)")
    second = HostAgent("node-1", "t-2", "m1", 11, "dockyard up (second)")
    assert wired.control.installation() == INSTALLATION
    assert wired.control.claim_host(first, 30.0) is None
    assert wired.control.claim_host(second, 30.0) == first
    wired.control.release_host(second)  # not the holder: nothing happens
    assert wired.control.claim_host(second, 30.0) == first
    wired.control.release_host(first)
    assert wired.control.claim_host(second, 30.0) is None


def test_resize_claims_and_their_refusal(wired: Wired) -> None:
    wired.recorder.add(dataclasses.replace(CONTAINER))
    assert wired.control.resize_claim(UUID, 2.0, 512) is True
    assert wired.control.resize_claim("missing", 2.0, 512) is False
    wired.recorder.refuse_resize = Conflict("Host node-1 lacks memory.", resource="memory")
    with pytest.raises(Conflict, match="lacks memory") as raised:
        wired.control.resize_claim(UUID, 4.0, 4096)
    assert raised.value.fields == {"resource": "memory"}


# -- images ------------------------------------------------------------------


def test_image_calls_arrive_intact_and_answer_typed(wired: Wired) -> None:
    auth = RegistryAuth("127.0.0.1:5002", "robot", "pa55 wörd")
    term = "127.0.0.1:5002/team/app:1.0"
    assert wired.compute.search_images(HOST, term, True, auth) == SEARCH_RESULT
    assert wired.compute.remove_image(HOST, "busybox:latest") is None
    assert wired.agent.received("search_images") == (term, True, auth)
    assert wired.agent.received("remove_image") == ("busybox:latest",)


@pytest.mark.parametrize(
    ("method", "call", "error"),
    [
        (
            "remove_image",
            lambda c: c.remove_image(HOST, "busybox:latest"),
            ImageInUse("Image busybox:latest is used by a container.", image="busybox:latest"),
        ),
        (
            "remove_image",
            lambda c: c.remove_image(HOST, "gone:1"),
            NotFound("The engine has no image gone:1."),
        ),
        (
            "search_images",
            lambda c: c.search_images(HOST, "127.0.0.1:5001/x", False, None),
            InvalidInput("registry 127.0.0.1:5001 offers no search", field="image"),
        ),
    ],
    ids=["in-use", "not-found", "no-search"],
)
def test_image_errors_come_back_as_the_same_class(
    wired: Wired, method: str, call: Callable[[ComputeAPI], Any], error: Exception
) -> None:
    wired.agent.fail[method] = error
    with pytest.raises(type(error)) as raised:
        call(wired.compute)
    assert type(raised.value) is type(error)
    assert raised.value.fields == error.fields  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "report", [m for m in MESSAGES if isinstance(m, ImageReport)], ids=lambda r: str(r.status)
)
def test_image_reports_arrive_whole_and_answer_whether_they_applied(
    wired: Wired, report: ImageReport
) -> None:
    assert wired.control.report_image(report) is False  # no such pulling record
    wired.recorder.pulling.add(report.uuid)
    assert wired.control.report_image(report) is True
    assert wired.recorder.image_reports == [report, report]


def test_host_images_arrive_whole(wired: Wired) -> None:
    message = sample(HostImages)
    assert wired.control.sync_images(message) is None
    assert wired.recorder.host_images == [message]


def test_image_records_arrive_whole(wired: Wired) -> None:
    wired.recorder.records["node-1"] = [IMAGE_RECORD]
    assert wired.control.image_records("node-1") == [IMAGE_RECORD]
    assert wired.control.image_records("node-2") == []
