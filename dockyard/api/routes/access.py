"""Loading a container and checking a per-container rule against its owner."""

from __future__ import annotations

from dockyard.api.request import ApiRequest
from dockyard.domain.models import Container


def owned(req: ApiRequest, ident: str, rule: str) -> Container:
    """The container ``ident`` if the caller may apply ``rule`` to it.

    The lookup is confined to the caller's project (admins: every project), so a
    container of another project is a 404, never a 403. The rule's target is the
    container's own project and user.
    """
    container = req.services.containers.get(req.ctx, ident)
    req.authorize(rule, {"project_id": container.project_id, "user_id": container.user_id})
    return container
