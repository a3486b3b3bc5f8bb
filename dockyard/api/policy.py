"""Authorization with oslo.policy: Dockyard's rules, overridable by a policy file.

The composition root builds one ``Authorizer`` from the configuration
(``[oslo_policy] policy_file``) and hands it to the API through ``Services``;
handlers reach it as ``req.authorize(...)``. The rules and their defaults live
in ``dockyard.api.policies``.
"""

from __future__ import annotations

from collections.abc import Mapping

from oslo_config import cfg
from oslo_policy import policy

from dockyard.api import policies
from dockyard.domain.errors import Forbidden
from dockyard.domain.models import RequestContext

Target = Mapping[str, object]


def credentials(ctx: RequestContext) -> dict[str, object]:
    """What rules see of the caller (the shape of oslo.context's policy values)."""
    return {
        "user_id": ctx.user_id,
        "project_id": ctx.project_id,
        "roles": list(ctx.roles),
        "is_admin": ctx.is_admin,
    }


def own_target(ctx: RequestContext) -> dict[str, object]:
    """The target of create, list and other operations on the caller's own project."""
    return {"project_id": ctx.project_id, "user_id": ctx.user_id}


class Authorizer:
    def __init__(self, enforcer: policy.Enforcer) -> None:
        self.enforcer = enforcer

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Authorizer:
        """Dockyard's defaults, overridden by the configured policy file when there is one."""
        enforcer = policy.Enforcer(conf)
        enforcer.register_defaults(policies.list_rules())
        return cls(enforcer)

    def is_admin(self, ctx: RequestContext) -> bool:
        """The rule ``context_is_admin`` for the caller's roles (never its is_admin)."""
        creds = {**credentials(ctx), "is_admin": False}
        return bool(self.enforcer.enforce("context_is_admin", own_target(ctx), creds))

    def allows(self, ctx: RequestContext, rule: str, target: Target | None = None) -> bool:
        found = self.enforcer.enforce(rule, target or own_target(ctx), credentials(ctx))
        return bool(found)

    def authorize(
        self,
        ctx: RequestContext,
        rule: str,
        target: Target | None = None,
        might_not_exist: bool = False,
    ) -> None:
        """Raise ``Forbidden`` naming ``rule`` unless it passes.

        ``might_not_exist``: a rule neither registered nor in the policy file passes.
        """
        if might_not_exist and not self.exists(rule):
            return
        if not self.allows(ctx, rule, target):
            raise Forbidden(f"Policy doesn't allow {rule} to be performed.")

    def exists(self, rule: str) -> bool:
        self.enforcer.load_rules()
        return rule in self.enforcer.rules

    def denied(self, ctx: RequestContext, prefix: str) -> frozenset[str]:
        """Suffixes of the rules named ``<prefix><suffix>`` the caller fails.

        Field-level visibility: ``denied(ctx, "container:get_one:")`` names the fields
        to drop; a field without a rule is shown.
        """
        self.enforcer.load_rules()
        names = [name for name in self.enforcer.rules if name.startswith(prefix)]
        return frozenset(n[len(prefix) :] for n in names if not self.allows(ctx, n))
