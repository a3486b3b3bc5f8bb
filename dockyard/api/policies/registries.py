"""registry:* rules (api-other §16); writes follow the reader persona (see base)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API, PROJECT_READER, PROJECT_WRITER

COLLECTION = "/v1/registries"
ONE = "/v1/registries/{registry_ident}"


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("registry:create", PROJECT_WRITER, "POST", COLLECTION, "Store registry credentials."),
        ("registry:get_all", PROJECT_READER, "GET", COLLECTION, "List registries."),
        ("registry:get_all_all_projects", ADMIN_API, "GET", COLLECTION,
         "List the registries of every project."),
        ("registry:get_one", PROJECT_READER, "GET", ONE, "Show a registry."),
        ("registry:update", PROJECT_WRITER, "PATCH", ONE, "Change a registry."),
        ("registry:delete", PROJECT_WRITER, "DELETE", ONE, "Delete a registry."),
    ])  # fmt: skip
