"""Timing every call a driver makes to its backend, at the one place drivers are built."""

from __future__ import annotations

from typing import TypeVar

from dockyard.observability.metrics import ENGINE_CALL_SECONDS, timed

D = TypeVar("D")


def instrument(driver: D, kind: str, interface: type) -> D:
    """``driver`` with each public method of ``interface`` timed in
    ``dockyard_engine_call_duration_seconds{driver=kind, method=...}``.

    Only the interface's methods are wrapped, so the label values are a fixed set. A
    method returning a stream (events, attach) is timed until the stream is open.
    """
    for name, member in vars(interface).items():
        if name.startswith("_") or not callable(member):
            continue
        setattr(driver, name, timed(ENGINE_CALL_SECONDS, getattr(driver, name), kind, name))
    return driver
