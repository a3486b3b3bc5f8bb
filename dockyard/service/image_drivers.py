"""Which image driver a request gets, and what the API checks in Glance before a create."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.domain.errors import ValidationFailed
from dockyard.drivers.image.glance_client import (
    GlanceClient,
    GlanceImage,
    check_docker,
    search_glance,
)


@dataclass(frozen=True)
class ImageDrivers:
    """``[DEFAULT] image_driver_list`` / ``default_image_driver``, and Glance when listed."""

    enabled: tuple[str, ...] = ("docker",)
    default: str = "docker"
    glance: GlanceClient | None = None

    def choose(self, asked: str | None) -> str:
        """The driver of a request naming ``asked`` (None, "" or "None": the default)."""
        name = self.default if asked in (None, "", "None") else str(asked)
        if name not in self.enabled:
            raise ValidationFailed(
                f"image_driver: {name} is not enabled here (image_driver_list: "
                f"{', '.join(self.enabled)}).",
                field="image_driver",
            )
        return name

    def _glance(self) -> GlanceClient:
        if self.glance is None:
            raise ValidationFailed(
                "image_driver: glance is not configured here ([glance]).", field="image_driver"
            )
        return self.glance

    def check_glance(self, image: str) -> GlanceImage:
        """The Glance image a create names, before anything is made: 400 when Glance has
        none (or several) by that name or id, or it is not a docker image."""
        found = self._glance().find(image)
        check_docker(found, image)
        return found

    def search_glance(self, term: str, exact: bool) -> list[dict[str, Any]]:
        return search_glance(self._glance(), term, exact)
