"""Policy in code: every rule Dockyard checks, with its default, one module per resource.

The personas the defaults implement are described in ``base``.
"""

from __future__ import annotations

from oslo_policy import policy

from dockyard.api.policies import (
    availability_zones,
    base,
    capsules,
    containers,
    hosts,
    images,
    networks,
    quota_classes,
    quotas,
    registries,
    zun_services,
)

MODULES = (
    base,
    containers,
    images,
    hosts,
    zun_services,
    availability_zones,
    quotas,
    quota_classes,
    capsules,
    networks,
    registries,
)


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule (also the ``oslo.policy.policies`` entry point)."""
    return [rule for module in MODULES for rule in module.list_rules()]
