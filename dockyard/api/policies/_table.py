"""Building documented rules from compact (name, check, method, path, description) rows."""

from __future__ import annotations

from collections.abc import Iterable

from oslo_policy import policy

from dockyard.api.policies.base import operation

Row = tuple[str, str, str, str, str]


def documented(rows: Iterable[Row]) -> list[policy.RuleDefault]:
    return [
        policy.DocumentedRuleDefault(name, check, text, [operation(method, path)])
        for name, check, method, path, text in rows
    ]
