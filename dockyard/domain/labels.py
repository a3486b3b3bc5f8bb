"""The labels every engine object Dockyard makes carries, and who may touch which object.

An object belongs to one host of one installation (one database). An agent only
ever considers objects labelled with both its installation and its host, so two
installations sharing an engine (and a host name) never see each other's objects.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

LABEL_CONTAINER_ID = "dockyard.container_id"
LABEL_HOST = "dockyard.host"
LABEL_INSTALLATION = "dockyard.installation"


@dataclass(frozen=True)
class Owner:
    """One host of one installation: the scope of an agent."""

    installation: str
    host: str

    def labels(self) -> dict[str, str]:
        """The labels stamped on every object this owner makes."""
        return {LABEL_INSTALLATION: self.installation, LABEL_HOST: self.host}

    def owns(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with ``labels`` was made by this owner."""
        return (
            labels.get(LABEL_HOST) == self.host
            and labels.get(LABEL_INSTALLATION) == self.installation
        )

    def may_consider(self, installation: str | None, uuid: str, known: Collection[str]) -> bool:
        """Whether an object of this host, made by ``installation``, is this owner's business.

        Objects of this installation are; those of another never are. Objects made
        before installations were labelled (``installation`` None) are adopted only
        when this installation has a record of them: another installation on the
        same engine may own the rest, so they are never removed as orphans either.
        """
        if installation is None:
            return uuid in known
        return installation == self.installation

    def may_remove_unrecorded(self, installation: str | None) -> bool:
        """Whether an object with no record may be removed as an orphan: only our own."""
        return installation == self.installation
