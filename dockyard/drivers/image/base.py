"""The image interface: making images available to one host's runtime."""

from __future__ import annotations

import abc

from dockyard.domain.registries import RegistryAuth


class ImageDriver(abc.ABC):
    """Makes images available to the runtime of one host."""

    @abc.abstractmethod
    def exists_locally(self, image: str) -> bool:
        """Whether the engine already holds ``image`` (a normalised reference)."""

    @abc.abstractmethod
    def check_remote(self, image: str, auth: RegistryAuth | None = None) -> None:
        """Ask the image's registry whether it has ``image``, logged in with ``auth``.

        Raises ``InvalidImage`` with a message a person can act on when the
        registry says no or cannot be reached (``RegistryAuthFailed`` when it
        refuses the credentials or wants some).
        """

    @abc.abstractmethod
    def pull(self, image: str, auth: RegistryAuth | None = None) -> None:
        """Pull ``image`` from its registry, logged in with ``auth``.

        Raises ``InvalidImage`` (``RegistryAuthFailed``) / ``DriverError``.
        """
