"""Finding a host's runtime and image drivers by name, through entry points.

A driver package declares a factory under ``dockyard.drivers.runtime`` or
``dockyard.drivers.image`` in its packaging metadata; the composition root asks
for the configured name and calls the factory with a :class:`DriverContext`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from dockyard.domain.clock import Clock
from dockyard.domain.glance_settings import GlanceConfig

RUNTIME_GROUP = "dockyard.drivers.runtime"
IMAGE_GROUP = "dockyard.drivers.image"

T = TypeVar("T")


class UnknownDriver(LookupError):
    """No installed driver has the configured name."""

    def __init__(self, group: str, name: str, choices: list[str]) -> None:
        self.group, self.name, self.choices = group, name, choices
        super().__init__(
            f"no {group} driver is named {name!r}; "
            f"the installed ones are: {', '.join(choices) or '(none)'}"
        )


@dataclass
class DriverContext:
    """What every driver factory of one agent is given."""

    host: str
    engine_url: str
    engine_timeout: int
    publish_address: str
    clock: Clock
    #: The installation id everything the drivers make is labelled with.
    installation: str
    #: This host's underlay address for networks spanning hosts ("": none).
    tunnel_address: str = ""
    #: Where the agent keeps local state ([DEFAULT] data_dir).
    data_dir: str = ""
    #: How to reach Glance, for the glance image driver.
    glance: GlanceConfig = field(default_factory=GlanceConfig)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: str, make: Callable[[], T]) -> T:
        """One value per agent under ``key`` (e.g. an engine client both drivers use)."""
        if key not in self._shared:
            self._shared[key] = make()
        value: T = self._shared[key]
        return value


#: Makes a driver for one agent.
Factory = Callable[[DriverContext], object]


def factory(group: str, name: str) -> Factory:
    """The factory registered as ``name`` in ``group``; UnknownDriver names the choices."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    if name not in found:
        raise UnknownDriver(group, name, sorted(found))
    made: Factory = found[name].load()
    return made
