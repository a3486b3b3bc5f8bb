"""From a schema-valid create body to the service's NewContainer."""

from __future__ import annotations

from typing import Any

from dockyard.api.schemas.containers import command_from_string
from dockyard.api.schemas.validation import parse_bool
from dockyard.api.versions import Version
from dockyard.domain.errors import InvalidInput
from dockyard.service.creation import NewContainer

#: Accepted by the schema but backed by services this deployment does not run yet.
UNSUPPORTED = {
    "nets": "networks other than the default bridge are not supported yet",
    "mounts": "volumes are not supported yet",
    "security_groups": "security groups are not supported yet",
}


def _reject_unsupported(body: dict[str, Any]) -> None:
    for key, why in UNSUPPORTED.items():
        if body.get(key):
            raise InvalidInput(f"{key}: {why}.", field=key)
    if body.get("image_driver") == "glance":
        raise InvalidInput("image_driver: glance is not configured; use docker.")


def _restart_policy(value: dict[str, Any] | None) -> dict[str, str] | None:
    if not value:
        return None
    name = str(value["Name"])
    count = int(value.get("MaximumRetryCount") or 0)
    if name in ("always", "unless-stopped") and count:
        raise InvalidInput(
            f"restart_policy: MaximumRetryCount must be 0 with restart policy {name!r}."
        )
    return {"Name": name, "MaximumRetryCount": str(count if name == "on-failure" else 0)}


def _command(body: dict[str, Any], version: Version) -> list[str] | None:
    command = body.get("command")
    if command is None:
        return None
    if isinstance(command, str):
        return command_from_string(command)
    return [str(item) for item in command]


def _tty(body: dict[str, Any], version: Version) -> bool:
    if (1, 20) <= version < (1, 36) and "interactive" in body:
        return parse_bool(body["interactive"])
    return parse_bool(body.get("tty", False))


def _exposed_ports(value: dict[str, Any] | None) -> tuple[str, ...]:
    """``{"80": {}, "53/udp": {}}`` -> ``("53/udp", "80/tcp")`` (the schema checked the keys)."""
    ports = set()
    for key in value or {}:
        number, _, proto = str(key).partition("/")
        ports.add(f"{int(number)}/{proto or 'tcp'}")
    return tuple(sorted(ports))


def _healthcheck(value: dict[str, Any] | None) -> dict[str, object] | None:
    if not value:
        return None
    check: dict[str, object] = {"test": value.get("cmd", "")}
    for key in ("interval", "retries", "timeout"):
        if key in value:
            check[key] = int(value[key])
    return check


def new_container(body: dict[str, Any], version: Version) -> NewContainer:
    _reject_unsupported(body)
    cpu, memory, disk = body.get("cpu"), body.get("memory"), body.get("disk")
    pull_policy = body.get("image_pull_policy")
    image_driver = body.get("image_driver")
    return NewContainer(
        image=body["image"],
        name=body.get("name") or None,
        command=_command(body, version),
        entrypoint=body.get("entrypoint"),
        cpu=float(cpu) if cpu is not None else None,
        memory=int(memory) if memory is not None else None,
        disk=int(disk) if disk is not None else None,
        environment=dict(body.get("environment") or {}),
        labels={str(k): str(v) for k, v in (body.get("labels") or {}).items()},
        workdir=body.get("workdir"),
        hostname=body.get("hostname"),
        image_pull_policy=pull_policy.lower() if pull_policy else None,
        image_driver=None if image_driver in (None, "None") else image_driver,
        restart_policy=_restart_policy(body.get("restart_policy")),
        interactive=parse_bool(body.get("interactive", False)),
        tty=_tty(body, version),
        auto_remove=bool(body.get("auto_remove") or False),
        auto_heal=parse_bool(body.get("auto_heal", False)),
        privileged=parse_bool(body.get("privileged", False)),
        runtime=body.get("runtime"),
        healthcheck=_healthcheck(body.get("healthcheck")),
        availability_zone=body.get("availability_zone"),
        host=body.get("host"),
        cpu_policy=body.get("cpu_policy"),
        exposed_ports=_exposed_ports(body.get("exposed_ports")),
        registry=body.get("registry") or None,
    )
