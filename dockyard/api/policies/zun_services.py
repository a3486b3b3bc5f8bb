"""zun-service:* rules (api-other §16): the service list and its switches."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("zun-service:get_all", ADMIN_API, "GET", "/v1/services", "List services."),
        ("zun-service:delete", ADMIN_API, "DELETE", "/v1/services", "Delete a service."),
        ("zun-service:enable", ADMIN_API, "PUT", "/v1/services/enable", "Enable a service."),
        ("zun-service:disable", ADMIN_API, "PUT", "/v1/services/disable",
         "Disable a service."),
        ("zun-service:force_down", ADMIN_API, "PUT", "/v1/services/force_down",
         "Mark a service down."),
    ])  # fmt: skip
