"""Default policy rules for the create parameters that need more than container:create."""

from __future__ import annotations

import pytest

from dockyard.api import policy
from dockyard.domain.errors import Forbidden
from dockyard.domain.models import RequestContext

CREATE_RULES = (
    "container:create:privileged",
    "container:create:runtime",
    "container:create:requested_destination",
    "container:create:image_pull_policy",
)


def context(is_admin: bool) -> RequestContext:
    roles = ("admin",) if is_admin else ("member",)
    return RequestContext("req-1", "user-1", "project-1", roles=roles, is_admin=is_admin)


@pytest.mark.parametrize("rule", CREATE_RULES)
def test_non_admins_are_refused(rule: str) -> None:
    with pytest.raises(Forbidden) as raised:
        policy.authorize(context(is_admin=False), rule)

    assert raised.value.status == 403
    assert rule in raised.value.detail


@pytest.mark.parametrize("rule", CREATE_RULES)
def test_admins_are_allowed(rule: str) -> None:
    # Privileged included: unlike Zun's deny-everybody default (see DEFAULTS).
    policy.authorize(context(is_admin=True), rule)


def test_plain_create_is_open_to_any_caller() -> None:
    policy.authorize(context(is_admin=False), "container:create")
