"""The stored forms of a container's typed request values (JSON and string columns).

The forms are those rows already hold, so no migration is needed: a restart policy is
``{"Name", "MaximumRetryCount"}`` (older rows hold the count as a string), a healthcheck
``{"test", "interval", "retries", "timeout"}`` with only the keys given, exposed ports
``["80/tcp", ...]`` (None when there are none).
"""

from __future__ import annotations

from typing import Any

from dockyard.domain.container_request import (
    CpuPolicy,
    ExposedPort,
    Healthcheck,
    PullPolicy,
    RestartPolicy,
    RestartPolicyName,
)

_CHECK_COUNTS = ("interval", "retries", "timeout")


def restart_policy_from_row(value: dict[str, Any] | None) -> RestartPolicy | None:
    if not value:
        return None
    count = value.get("MaximumRetryCount") or 0
    return RestartPolicy(RestartPolicyName(value["Name"]), int(count))


def restart_policy_to_row(policy: RestartPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"Name": str(policy.name), "MaximumRetryCount": policy.maximum_retry_count}


def healthcheck_from_row(value: dict[str, Any] | None) -> Healthcheck | None:
    if not value:
        return None
    counts = {key: int(value[key]) for key in _CHECK_COUNTS if value.get(key) is not None}
    return Healthcheck(test=str(value.get("test", "")), **counts)


def healthcheck_to_row(check: Healthcheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    row: dict[str, Any] = {"test": check.test}
    for key in _CHECK_COUNTS:
        if getattr(check, key) is not None:
            row[key] = getattr(check, key)
    return row


def ports_from_row(value: list[Any] | None) -> tuple[ExposedPort, ...]:
    return tuple(ExposedPort.parse(str(port)) for port in value or ())


def ports_to_row(ports: tuple[ExposedPort, ...]) -> list[str] | None:
    return [str(port) for port in ports] or None


def argv_from_row(value: list[Any] | None) -> tuple[str, ...] | None:
    return tuple(str(item) for item in value) if value is not None else None


def from_row(data: dict[str, Any]) -> None:
    """Turn the stored forms in ``data`` (a row's fields) into typed values, in place."""
    data["command"] = argv_from_row(data.get("command"))
    data["entrypoint"] = argv_from_row(data.get("entrypoint"))
    policy = data.get("image_pull_policy")
    data["image_pull_policy"] = PullPolicy.parse(policy) if policy else None
    data["cpu_policy"] = CpuPolicy(data.get("cpu_policy") or CpuPolicy.SHARED)
    data["restart_policy"] = restart_policy_from_row(data.get("restart_policy"))
    data["healthcheck"] = healthcheck_from_row(data.get("healthcheck"))
    data["exposed_ports"] = ports_from_row(data.get("exposed_ports"))


def to_row(data: dict[str, Any]) -> None:
    """Turn the typed values in ``data`` (a record's fields) into their stored forms, in place."""
    for key in ("command", "entrypoint"):
        if data.get(key) is not None:
            data[key] = list(data[key])
    if data.get("image_pull_policy") is not None:
        data["image_pull_policy"] = str(data["image_pull_policy"])
    data["cpu_policy"] = str(data["cpu_policy"])
    data["restart_policy"] = restart_policy_to_row(data["restart_policy"])
    data["healthcheck"] = healthcheck_to_row(data["healthcheck"])
    data["exposed_ports"] = ports_to_row(data["exposed_ports"])
