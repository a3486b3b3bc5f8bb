"""Authorization with oslo.policy: Dockyard's rules, overridable by a policy file.

The composition root builds one ``Authorizer`` from the configuration
(``[oslo_policy] policy_file``) and hands it to the API through ``Services``;
handlers reach it as ``req.authorize(...)``. The rules and their defaults live
in ``dockyard.api.policies``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

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


#: How often (seconds) the policy file is looked at for changes.
RELOAD_EVERY = 1.0

_Key = tuple[object, ...]


def _frozen(values: Mapping[str, object]) -> tuple[tuple[str, object], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


class Authorizer:
    """Policy decisions, remembered until the rules are next looked at.

    oslo.policy re-reads its configuration and inspects every check's signature
    on each decision, which made policy the dearest part of a GET. Checks are
    pure functions of (rule, target, credentials), so a decision is kept until
    the next look at the policy file (at most ``RELOAD_EVERY`` apart), which
    also means an edited policy file still takes effect within that time.
    """

    def __init__(
        self, enforcer: policy.Enforcer, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.enforcer = enforcer
        self._clock = clock
        self._lock = threading.Lock()
        self._looked_at = -RELOAD_EVERY
        self._decisions: dict[_Key, bool] = {}
        self._denied: dict[_Key, frozenset[str]] = {}

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Authorizer:
        """Dockyard's defaults, overridden by the configured policy file when there is one."""
        enforcer = policy.Enforcer(conf)
        enforcer.register_defaults(policies.list_rules())
        return cls(enforcer)

    def _current(self) -> None:
        """Reload the rules if their time has come, forgetting every decision."""
        now = self._clock()
        if now - self._looked_at < RELOAD_EVERY:
            return
        with self._lock:
            if now - self._looked_at < RELOAD_EVERY:
                return
            self.enforcer.load_rules()
            self._decisions = {}
            self._denied = {}
            self._looked_at = now

    def _decide(self, rule: str, target: Target, creds: Mapping[str, object]) -> bool:
        self._current()
        key = (rule, _frozen(target), _frozen(creds))
        try:
            found = self._decisions.get(key)
        except TypeError:  # an unhashable value in the target: decide without remembering
            return bool(self.enforcer.enforce(rule, target, dict(creds)))
        if found is None:
            found = self._decisions[key] = bool(self.enforcer.enforce(rule, target, dict(creds)))
        return found

    def is_admin(self, ctx: RequestContext) -> bool:
        """The rule ``context_is_admin`` for the caller's roles (never its is_admin)."""
        creds = {**credentials(ctx), "is_admin": False}
        return self._decide("context_is_admin", own_target(ctx), creds)

    def allows(self, ctx: RequestContext, rule: str, target: Target | None = None) -> bool:
        return self._decide(rule, target or own_target(ctx), credentials(ctx))

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
        self._current()
        return rule in self.enforcer.rules

    def denied(self, ctx: RequestContext, prefix: str) -> frozenset[str]:
        """Suffixes of the rules named ``<prefix><suffix>`` the caller fails.

        Field-level visibility: ``denied(ctx, "container:get_one:")`` names the fields
        to drop; a field without a rule is shown.
        """
        self._current()
        key = (prefix, _frozen(credentials(ctx)), ctx.project_id)
        found = self._denied.get(key)
        if found is None:
            names = [name for name in self.enforcer.rules if name.startswith(prefix)]
            found = frozenset(n[len(prefix) :] for n in names if not self.allows(ctx, n))
            self._denied[key] = found
        return found
