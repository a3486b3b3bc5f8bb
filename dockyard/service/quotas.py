"""Quota and quota-class use cases: read and change limits, show usage."""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.db.repositories.quotas import QuotaRepository
from dockyard.domain.quotas import DEFAULT_CLASS


class QuotaService:
    def __init__(self, quotas: QuotaRepository) -> None:
        self.quotas = quotas

    def get(self, project_id: str) -> dict[str, int]:
        """The project's effective limit of every resource."""
        return self.quotas.limits(project_id)

    def usages(self, project_id: str) -> dict[str, dict[str, int | float]]:
        """Every resource's limit and what the project's containers use of it."""
        return self.quotas.usages(project_id)

    def defaults(self) -> dict[str, int]:
        """The limits of a project without its own: the ``default`` class, else config."""
        return self.quotas.class_limits(DEFAULT_CLASS)

    def update(self, project_id: str, values: Mapping[str, int]) -> dict[str, int]:
        """Set the project's own limits for the resources given; returns all limits."""
        self.quotas.set_limits(project_id, values)
        return self.quotas.limits(project_id)

    def delete(self, project_id: str) -> None:
        """Drop the project's own limits, so the defaults apply again."""
        self.quotas.delete_limits(project_id)

    def get_class(self, class_name: str) -> dict[str, int]:
        """The class's limits, config values filling the resources it does not set."""
        return self.quotas.class_limits(class_name)

    def update_class(self, class_name: str, values: Mapping[str, int]) -> dict[str, int]:
        """Set the class's limits for the resources given; returns all its limits."""
        self.quotas.set_class_limits(class_name, values)
        return self.quotas.class_limits(class_name)
