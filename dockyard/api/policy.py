"""Policy checks with Zun's rule names and defaults.

Until oslo.policy is wired in (identity issue), rules are evaluated from the
default table: OWNER rules pass for any authenticated caller (ownership is
enforced by project-scoped lookups), ADMIN rules need the admin role and
DENY rules refuse everybody.
"""

from __future__ import annotations

from dockyard.domain.errors import Forbidden
from dockyard.domain.models import RequestContext

ADMIN = "admin"
DENY = "deny"

#: Rules whose default is not "admin or owner".
DEFAULTS: dict[str, str] = {
    "container:create:runtime": ADMIN,
    # Zun denies everybody; following the project's issue, admins may create privileged
    # containers by default (operators can still forbid it).
    "container:create:privileged": ADMIN,
    "container:create:requested_destination": ADMIN,
    "container:create:image_pull_policy": ADMIN,
    "container:delete_all_projects": ADMIN,
    "container:delete_force": ADMIN,
    "container:get_one_all_projects": ADMIN,
    "container:get_all_all_projects": ADMIN,
    "container:action:events": ADMIN,
    "container:get_one:host": ADMIN,
    "container:get_one:image_pull_policy": ADMIN,
    "container:get_one:privileged": ADMIN,
    "container:get_one:runtime": ADMIN,
}


def allows(ctx: RequestContext, rule: str) -> bool:
    kind = DEFAULTS.get(rule)
    if kind == DENY:
        return False
    if kind == ADMIN:
        return ctx.is_admin
    return True


def authorize(ctx: RequestContext, rule: str) -> None:
    if not allows(ctx, rule):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
