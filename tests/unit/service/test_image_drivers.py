"""Which image driver a request gets: the configured list and default decide."""

from __future__ import annotations

import pytest

from dockyard.domain.errors import ValidationFailed
from dockyard.service.image_drivers import ImageDrivers


@pytest.mark.parametrize("asked", [None, "", "None"])
def test_no_driver_means_the_configured_default(asked: str | None) -> None:
    assert ImageDrivers(("docker", "glance"), "glance").choose(asked) == "glance"
    assert ImageDrivers().choose(asked) == "docker"


def test_a_driver_outside_the_list_is_a_400_naming_the_list() -> None:
    with pytest.raises(
        ValidationFailed, match=r"glance is not enabled here \(image_driver_list: docker\)"
    ):
        ImageDrivers().choose("glance")


def test_glance_listed_without_a_client_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="glance is not configured"):
        ImageDrivers(("docker", "glance")).check_glance("web")
