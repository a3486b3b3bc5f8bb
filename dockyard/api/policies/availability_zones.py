"""availability_zones:* rules (api-other §16)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import PROJECT_READER


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("availability_zones:get_all", PROJECT_READER, "GET", "/v1/availability_zones",
         "List availability zones."),
    ])  # fmt: skip
