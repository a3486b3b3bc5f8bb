"""quota:* rules (api-other §16); the target is the project named in the path."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API, PROJECT_READER

ONE = "/v1/quotas/{project_id}"


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("quota:get", PROJECT_READER, "GET", ONE, "Show a project's quotas."),
        ("quota:get_default", PROJECT_READER, "GET", ONE + "/defaults",
         "Show the default quotas."),
        ("quota:update", ADMIN_API, "PUT", ONE, "Set a project's quotas."),
        ("quota:delete", ADMIN_API, "DELETE", ONE, "Reset a project's quotas."),
    ])  # fmt: skip
