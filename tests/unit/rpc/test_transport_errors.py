"""What a client of the broker transport sees when sending fails."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import oslo_messaging
import pytest

from dockyard.domain.errors import BrokerUnavailable, ServiceBusy
from dockyard.rpc.messaging import COMPUTE, COMPUTE_CASTS, _Client


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
