"""image:* rules (api-other §16)."""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies._table import documented
from dockyard.api.policies.base import ADMIN_API, PROJECT_READER


def list_rules() -> list[policy.RuleDefault]:
    return documented([
        ("image:pull", ADMIN_API, "POST", "/v1/images", "Pull an image to a host."),
        ("image:get_all", ADMIN_API, "GET", "/v1/images", "List images."),
        ("image:get_one", ADMIN_API, "GET", "/v1/images/{image_id}", "Show an image."),
        ("image:search", PROJECT_READER, "GET", "/v1/images/{image_ident}/search",
         "Search an image registry."),
        ("image:delete", ADMIN_API, "DELETE", "/v1/images/{image_ident}", "Delete an image."),
    ])  # fmt: skip
