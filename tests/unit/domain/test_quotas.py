"""Quota arithmetic: units, unlimited limits and the over-quota message."""

from __future__ import annotations

from dockyard.domain.quotas import QuotaLimits, held, over, over_quota, shown, usage_limit

LIMITS = {"containers": 2, "cpu": 1, "disk": -1, "memory": 100}


def test_a_container_holds_milli_cpus_and_zero_for_unset_disk() -> None:
    assert held(0.1, 64, None) == {"containers": 1, "cpu": 100, "disk": 0, "memory": 64}


def test_cpu_limits_compare_in_milli_cpus_and_show_in_vcpus() -> None:
    assert usage_limit("cpu", 2) == 2000
    assert usage_limit("cpu", -1) == -1
    assert usage_limit("memory", 5) == 5
    assert shown("cpu", 1250) == 1.25


def test_over_lists_only_increases_past_a_finite_limit() -> None:
    in_use = {"containers": 2, "cpu": 900, "disk": 10**9, "memory": 100}
    delta = {"containers": 1, "cpu": 100, "disk": 1, "memory": -50}
    assert over(LIMITS, in_use, delta) == ["containers"]
    assert over(LIMITS, in_use, {"cpu": 101}) == ["cpu"]


def test_over_quota_names_each_resource_its_limit_and_usage() -> None:
    error = over_quota(
        ["cpu", "memory"], LIMITS, {"cpu": 500, "memory": 90}, {"cpu": 750, "memory": 20}
    )
    assert error.status == 403 and error.code == "over-quota"
    assert error.detail == (
        "Quota exceeded for resources: cpu, memory (cpu: 0.75 requested, limit 1, 0.5 in use; "
        "memory: 20 requested, limit 100, 90 in use)."
    )
    assert error.fields == {"resources": ["cpu", "memory"]}


def test_spec_defaults() -> None:
    assert QuotaLimits().as_dict() == {"containers": 40, "cpu": 20, "disk": 100, "memory": 51200}
