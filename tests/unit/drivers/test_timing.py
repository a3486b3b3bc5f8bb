"""Every call of a driver's interface is timed, at the one place drivers are built."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from dockyard.domain.errors import NotFound
from dockyard.domain.models import ContainerSpec
from dockyard.drivers.runtime.base import RuntimeDriver
from dockyard.drivers.timing import instrument
from tests.fakes.runtime import FakeImages, FakeRuntime

IMAGE = "busybox:latest"


def calls(method: str, outcome: str) -> float:
    labels = {"driver": "runtime", "method": method, "outcome": outcome}
    return REGISTRY.get_sample_value("dockyard_engine_call_duration_seconds_count", labels) or 0


def test_calls_are_timed_by_method_and_outcome() -> None:
    runtime = FakeRuntime("timing-host", images=FakeImages(local=[IMAGE]))
    timed = instrument(runtime, "runtime", RuntimeDriver)
    assert timed is runtime and isinstance(timed, RuntimeDriver)
    before = calls("create", "ok"), calls("start", "error"), calls("inspect", "ok")

    timed.create(ContainerSpec("u1", "one", IMAGE))
    with pytest.raises(NotFound):
        timed.start("no-such-container")
    assert timed.inspect("u1").uuid == "u1"

    assert (calls("create", "ok"), calls("start", "error"), calls("inspect", "ok")) == (
        before[0] + 1,
        before[1] + 1,
        before[2] + 1,
    )


def test_only_the_interface_methods_are_wrapped() -> None:
    runtime = FakeRuntime("timing-host", images=FakeImages(local=[IMAGE]))
    instrument(runtime, "runtime", RuntimeDriver)
    assert "create" in vars(runtime) and "add" not in vars(runtime)
