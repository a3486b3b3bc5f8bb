"""Zun's network record (api-other §14.1) for a Dockyard network."""

from __future__ import annotations

import uuid
from typing import Any

from dockyard.domain.models import RequestContext
from dockyard.domain.networks import Network
from dockyard.drivers.network.base import network_name


def network(item: Network, ctx: RequestContext) -> dict[str, Any]:
    """The record Zun keeps for an engine network wrapping a Neutron network: ``name`` is
    the network's id (as Zun sets it), ``network_id`` the engine network's name."""
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"dockyard:network:{item.id}")),
        "name": item.id,
        "project_id": ctx.project_id,
        "user_id": ctx.user_id,
        "network_id": network_name(item.id),
        "neutron_net_id": item.id,
    }
