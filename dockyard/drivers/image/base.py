"""The image interface: making images available to one host's runtime."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

from dockyard.domain.image_gc import StoreUsage
from dockyard.domain.image_records import LocalImage, PullProgress
from dockyard.domain.registries import RegistryAuth

#: Told how far a pull is, each time the engine reports a change.
ProgressCallback = Callable[[PullProgress], None]


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
    def pull(
        self,
        image: str,
        auth: RegistryAuth | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Pull ``image`` from its registry, logged in with ``auth``; ``progress`` hears
        of every change of the pull's layers and bytes.

        Raises ``InvalidImage`` (``RegistryAuthFailed``) / ``DriverError``.
        """

    @abc.abstractmethod
    def local_images(self) -> list[LocalImage]:
        """Every tag the engine holds (images without a tag are left out)."""

    @abc.abstractmethod
    def inspect(self, image: str) -> LocalImage:
        """The engine's id and size of ``image``; ``NotFound`` when it lacks it."""

    @abc.abstractmethod
    def remove(self, reference: str) -> None:
        """Untag (and delete when untagged) ``reference``; ``NotFound`` when absent,
        ``ImageInUse`` while a container uses it."""

    def images_in_use(self) -> frozenset[str]:
        """The ids of the images any container of the engine (Dockyard's or not, in any
        state) was made from. Drivers that cannot tell leave this unimplemented: image
        garbage collection then removes nothing."""
        raise NotImplementedError(f"{type(self).__name__} cannot tell which images are in use")

    def store_usage(self) -> StoreUsage | None:
        """Bytes used and available on the filesystem holding the engine's images, or
        None when the agent cannot measure it (an engine on another machine)."""
        return None

    @abc.abstractmethod
    def search(
        self, term: str, exact: bool, auth: RegistryAuth | None = None
    ) -> list[dict[str, Any]]:
        """Repositories matching ``term`` in its registry, as Zun's search items;
        ``InvalidInput`` when the registry offers no search."""

    def engine_reference(self, image: str) -> str:
        """The reference the runtime creates a container of ``image`` from, once pulled."""
        return image

    def publish(self, image_id: str, repository: str, tag: str) -> str:
        """Offer the engine's image ``image_id`` (just committed as ``repository:tag``) where
        this driver's images come from; returns its id there. The engine itself by default."""
        return image_id
