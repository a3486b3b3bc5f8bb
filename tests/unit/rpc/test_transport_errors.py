"""What a client of the broker transport sees when sending fails."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import oslo_messaging
import pytest
from prometheus_client import REGISTRY

from dockyard.domain.errors import (
    BrokerUnavailable,
    DatabaseUnavailable,
    DockyardError,
    ServiceBusy,
)
from dockyard.observability.context import RequestScope, bound, current
from dockyard.rpc import codec
from dockyard.rpc.messages import ContainerReport
from dockyard.rpc.messaging import (
    COMPUTE,
    COMPUTE_CASTS,
    CONTROL,
    CONTROL_CASTS,
    _Client,
    _Endpoint,
)


class FailingRpc:
    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def prepare(self, **_: Any) -> FailingRpc:
        return self

    def cast(self, *_: Any, **__: Any) -> None:
        raise self.failure

    def call(self, *_: Any, **__: Any) -> None:
        raise self.failure


def client(failure: Exception) -> _Client:
    broker = SimpleNamespace(
        config=SimpleNamespace(call_timeout=1), client=lambda topic: FailingRpc(failure)
    )
    return _Client(cast(Any, broker), "topic", COMPUTE, COMPUTE_CASTS)


@pytest.mark.parametrize(
    "failure",
    [
        oslo_messaging.MessageDeliveryFailure("no route"),
        ConnectionResetError(104, "Connection reset by peer"),
        OSError("Server unexpectedly closed connection"),
    ],
    ids=["delivery", "reset", "socket"],
)
def test_a_broker_going_away_is_an_outage_not_a_crash(failure: Exception) -> None:
    with pytest.raises(BrokerUnavailable, match="broker is unavailable"):
        client(failure).send("stats", "h1", "The agent", uuid="u")


def test_an_agent_not_listening_is_busy() -> None:
    with pytest.raises(ServiceBusy, match="not listening"):
        client(oslo_messaging.MessageUndeliverable(Exception(), "x", "y", "z")).send(
            "stats", "h1", "The agent", uuid="u"
        )


def errors(method: str, kind: str) -> float:
    labels = {"method": method, "kind": kind}
    return REGISTRY.get_sample_value("dockyard_rpc_errors_total", labels) or 0.0


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (oslo_messaging.MessagingTimeout("late"), "timeout"),
        (oslo_messaging.MessageDeliveryFailure("no route"), "delivery"),
        (oslo_messaging.MessageUndeliverable(Exception(), "x", "y", "z"), "undeliverable"),
        (ConnectionResetError(104, "reset"), "transport"),
    ],
)
def test_failures_are_counted_by_method_and_kind(failure: Exception, kind: str) -> None:
    before = errors("stats", kind)
    with pytest.raises(DockyardError):
        client(failure).send("stats", "h1", "The agent", uuid="u")
    assert errors("stats", kind) == before + 1


class RecordingRpc:
    def __init__(self) -> None:
        self.contexts: list[Any] = []

    def prepare(self, **_: Any) -> RecordingRpc:
        return self

    def cast(self, ctxt: Any, *_: Any, **__: Any) -> None:
        self.contexts.append(ctxt)

    def call(self, ctxt: Any, *_: Any, **__: Any) -> Any:
        self.contexts.append(ctxt)
        return codec.reply("installation-1")


def test_the_request_scope_travels_in_the_message_context() -> None:
    rpc = RecordingRpc()
    broker = SimpleNamespace(config=SimpleNamespace(call_timeout=1), client=lambda topic: rpc)
    sender = _Client(cast(Any, broker), "topic", CONTROL, frozenset())
    with bound(RequestScope("req-9", "dave", "p")):
        assert sender.send("installation", None, "The conductor") == "installation-1"
    sender.send("installation", None, "The conductor")
    assert rpc.contexts == [{"request_id": "req-9", "user_id": "dave", "project_id": "p"}, {}]


def test_the_receiving_side_works_under_the_sent_scope() -> None:
    seen: list[RequestScope | None] = []

    class Control:
        def installation(self) -> str:
            seen.append(current())
            return "installation-1"

    endpoint = _Endpoint(Control(), CONTROL, frozenset(), "the conductor")
    sent = {"request_id": "req-3", "user_id": "erin", "project_id": "p2"}
    assert endpoint._dispatch("installation", sent) == codec.reply("installation-1")
    assert endpoint._dispatch("installation", {}) == codec.reply("installation-1")
    assert seen == [RequestScope("req-3", "erin", "p2"), None]
    assert current() is None


class Flaky:
    """A control side whose database is out for the first ``outages`` reports."""

    def __init__(self, outages: int) -> None:
        self.outages = outages
        self.applied: list[Any] = []

    def settle(self, message: Any) -> None:
        if self.outages:
            self.outages -= 1
            raise DatabaseUnavailable("The database is unavailable; try again shortly.")
        self.applied.append(message)


def settle_wire() -> dict[str, Any]:
    from tests.support.rpc_samples import MESSAGES

    report = next(m for m in MESSAGES if isinstance(m, ContainerReport))
    return codec.encode_args(CONTROL["settle"], {"message": report})


def test_a_cast_report_is_applied_once_the_database_is_back() -> None:
    target, slept = Flaky(outages=3), []
    endpoint = _Endpoint(
        target, CONTROL, CONTROL_CASTS, "conductor c", 120.0, slept.append, lambda: sum(slept)
    )

    assert endpoint._dispatch("settle", {}, **settle_wire()) is None

    assert len(target.applied) == 1
    assert slept == [0.5, 1.0, 2.0]


def test_a_cast_report_is_given_up_after_the_patience() -> None:
    # Then the agent's reconciliation repairs the record (tests/unit/compute/test_operations.py).
    target, slept = Flaky(outages=100), []
    endpoint = _Endpoint(
        target, CONTROL, CONTROL_CASTS, "conductor c", 5.0, slept.append, lambda: sum(slept)
    )

    assert endpoint._dispatch("settle", {}, **settle_wire()) is None

    assert target.applied == []
    assert slept == [0.5, 1.0, 2.0]  # 3.5 s in, the next 4 s would pass the 5 s
