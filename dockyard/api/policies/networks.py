"""network:* rules (api-other §16)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ROLE_ADMIN


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("network:create", ROLE_ADMIN, "POST", "/v1/networks", "Create a network."),
        ("network:delete", ROLE_ADMIN, "DELETE", "/v1/networks/{network_id}",
         "Delete a network."),
        ("network:attach_external_network", ROLE_ADMIN, "POST", "/v1/containers",
         "Attach a container to an unshared external network."),
    ])  # fmt: skip
