"""host:* rules (api-other §16)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("host:get_all", ADMIN_API, "GET", "/v1/hosts", "List compute hosts."),
        ("host:get", ADMIN_API, "GET", "/v1/hosts/{host_ident}", "Show a compute host."),
    ])  # fmt: skip
