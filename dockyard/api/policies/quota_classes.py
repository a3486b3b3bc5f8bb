"""quota_class:* rules (api-other §16)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API

ONE = "/v1/quota_classes/{quota_class_name}"


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("quota_class:get", ADMIN_API, "GET", ONE, "Show a quota class."),
        ("quota_class:update", ADMIN_API, "PUT", ONE, "Change a quota class."),
    ])  # fmt: skip
