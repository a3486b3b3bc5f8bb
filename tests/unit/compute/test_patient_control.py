from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from dockyard.compute.patient_control import PatientControl
from dockyard.domain.errors import ServiceBusy, Unavailable
from dockyard.domain.reports import ANY_TASK, ContainerChange
from dockyard.domain.states import Status
from dockyard.rpc.messages import ContainerReport, HostReport
from tests.fakes.clock import FakeClock
from tests.fakes.control import RecordingControl
from tests.unit.compute.helpers import UUID, record


class Flaky(RecordingControl):
    """Fails the first ``failures`` calls as a broker outage would."""

    def __init__(self, failures: int) -> None:
        super().__init__([record(status=Status.RUNNING)])
        self.failures = failures

    def report(self, message: ContainerReport) -> bool:
        if self.failures:
            self.failures -= 1
            raise Unavailable("broker connection lost")
        return super().report(message)

    def report_host(self, message: HostReport) -> None:
        raise ServiceBusy("conductor not answering")


def test_a_report_survives_a_short_outage() -> None:
    inner, clock = Flaky(failures=3), FakeClock()
    control = PatientControl(inner, patience=60, sleep=clock.sleep, clock=clock.monotonic)

    applied = control.report(ContainerReport(UUID, ContainerChange(Status.STOPPED), ANY_TASK))

    assert applied is True
    assert inner.containers[UUID].status is Status.STOPPED
    assert clock.slept == [0.5, 1.0, 2.0]


def test_a_long_outage_gives_up_within_its_patience() -> None:
    inner, clock = Flaky(failures=1000), FakeClock()
    control = PatientControl(inner, patience=30, sleep=clock.sleep, clock=clock.monotonic)

    with pytest.raises(Unavailable):
        control.report(ContainerReport(UUID, ContainerChange(Status.STOPPED), ANY_TASK))
    assert clock.monotonic() <= 30


def test_heartbeats_are_not_retried() -> None:
    clock = FakeClock()
    control = PatientControl(Flaky(0), sleep=clock.sleep, clock=clock.monotonic)
    with pytest.raises(ServiceBusy):
        control.report_host(HostReport("node-1"))
    assert clock.slept == []


def test_each_retry_is_counted() -> None:
    def retries() -> float:
        labels = {"method": "report"}
        return REGISTRY.get_sample_value("dockyard_rpc_retries_total", labels) or 0.0

    before = retries()
    inner, clock = Flaky(failures=2), FakeClock()
    control = PatientControl(inner, patience=60, sleep=clock.sleep, clock=clock.monotonic)
    control.report(ContainerReport(UUID, ContainerChange(Status.STOPPED), ANY_TASK))
    assert retries() == before + 2
