"""capsule:* rules (api-other §16); writes follow the reader persona (see base)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API, PROJECT_READER, PROJECT_WRITER

COLLECTION = "/v1/capsules"
ONE = "/v1/capsules/{capsule_ident}"


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("capsule:create", PROJECT_WRITER, "POST", COLLECTION, "Create a capsule."),
        ("capsule:get", PROJECT_READER, "GET", ONE, "Show a capsule."),
        ("capsule:get:host", ADMIN_API, "GET", ONE, "See the host field of a capsule."),
        ("capsule:get_one_all_projects", ADMIN_API, "GET", ONE,
         "Show a capsule of any project."),
        ("capsule:get_all", PROJECT_READER, "GET", COLLECTION, "List capsules."),
        ("capsule:get_all_all_projects", ADMIN_API, "GET", COLLECTION,
         "List the capsules of every project."),
        ("capsule:delete", PROJECT_WRITER, "DELETE", ONE, "Delete a capsule."),
        ("capsule:delete_all_projects", ADMIN_API, "DELETE", ONE,
         "Delete a capsule of any project."),
    ])  # fmt: skip
