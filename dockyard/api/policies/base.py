"""Base rules, and the check strings every resource's defaults are written with.

Personas. Zun knows two kinds of caller: admins, and anybody holding some role
in the project that owns a resource. Dockyard keeps those defaults and adds a
read-only persona on top, without changing anything for projects whose users
hold ``member`` or ``admin``:

- ``PROJECT_READER`` (reads: show, list, logs, top, stats, archives, the
  action log) is Zun's ``is_admin:True or project_id:%(project_id)s``: any
  role in the project may read.
- ``PROJECT_WRITER`` (everything that changes a container) adds
  ``not rule:reader_only``. ``reader_only`` matches a caller who holds
  ``reader`` but not ``member``. Keystone expands implied roles into tokens
  (``admin`` implies ``member`` implies ``reader``), so a member's token
  carries ``member`` and ``reader`` and still passes; so does a caller with
  only an unrelated role (``_member_``, ``heat_stack_owner``), exactly as in Zun.
  Only a caller whose sole say in the project is ``reader`` is refused.

Operators turn the persona off by overriding ``reader_only`` with ``!``, or
redefine who is read-only in that one rule.
"""

from __future__ import annotations

from oslo_policy import policy

ADMIN_API = "rule:context_is_admin"
ROLE_ADMIN = "role:admin"
ADMIN_OR_OWNER = "is_admin:True or project_id:%(project_id)s"
DENY_EVERYBODY = "rule:deny_everybody"
PROJECT_READER = ADMIN_OR_OWNER
PROJECT_WRITER = "is_admin:True or (project_id:%(project_id)s and not rule:reader_only)"


def operation(method: str, path: str) -> policy.Operation:
    return {"method": method, "path": path}


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.RuleDefault(
            "context_is_admin",
            ROLE_ADMIN,
            description="Who is an admin: the result is the request context's is_admin.",
        ),
        policy.RuleDefault(
            "admin_or_owner",
            ADMIN_OR_OWNER,
            description="An admin, or a caller in the project that owns the resource.",
        ),
        policy.RuleDefault("admin_api", ADMIN_API, description="Admins only."),
        policy.RuleDefault("deny_everybody", "!", description="Nobody at all."),
        policy.RuleDefault(
            "reader_only",
            "role:reader and not role:member",
            description="A caller who may read a project's resources but not change them "
            "(holds reader, not member). Writes check 'not rule:reader_only'.",
        ),
    ]
