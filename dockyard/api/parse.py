"""From a schema-valid create body to the domain's ContainerRequest."""

from __future__ import annotations

from typing import Any

from dockyard.api.schemas.containers import command_from_string
from dockyard.api.schemas.validation import parse_bool
from dockyard.api.versions import Version
from dockyard.domain.container_request import (
    ContainerRequest,
    CpuPolicy,
    ExposedPort,
    Healthcheck,
    PullPolicy,
    RestartPolicy,
)
from dockyard.domain.images import parse_image
from dockyard.domain.networks import NetRequest
from dockyard.domain.volumes import MountLimits, parse_mounts


def _restart_policy(value: dict[str, Any] | None) -> RestartPolicy | None:
    if not value:
        return None
    return RestartPolicy.of(str(value["Name"]), int(value.get("MaximumRetryCount") or 0))


def _command(body: dict[str, Any]) -> tuple[str, ...] | None:
    """A shell-like string before 1.20 (the schema says which), an argv list after."""
    command = body.get("command")
    if command is None:
        return None
    if isinstance(command, str):
        return tuple(command_from_string(command))
    return tuple(str(item) for item in command)


def _argv(value: list[Any] | None) -> tuple[str, ...] | None:
    return tuple(str(item) for item in value) if value is not None else None


def _tty(body: dict[str, Any], version: Version) -> bool:
    if (1, 20) <= version < (1, 36) and "interactive" in body:
        return parse_bool(body["interactive"])
    return parse_bool(body.get("tty", False))


def _exposed_ports(value: dict[str, Any] | None) -> tuple[ExposedPort, ...]:
    """``{"80": {}, "53/udp": {}}`` -> 53/udp, 80/tcp (the schema checked the keys)."""
    return tuple(sorted({ExposedPort.parse(str(key)) for key in value or {}}))


def _nets(value: list[dict[str, Any]] | None) -> tuple[NetRequest, ...]:
    """``[{"network": "n", "v4-fixed-ip": "10.0.0.5"}, {"port": "p"}]`` as typed requests.

    ``NetRequest`` refuses an entry naming both a network and a port (400).
    """
    return tuple(
        NetRequest(
            network=entry.get("network"),
            port=entry.get("port"),
            v4_fixed_ip=entry.get("v4-fixed-ip"),
            v6_fixed_ip=entry.get("v6-fixed-ip"),
        )
        for entry in value or ()
    )


def _security_groups(value: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(name) for name in value or ()))


def _healthcheck(value: dict[str, Any] | None) -> Healthcheck | None:
    if not value:
        return None

    def seconds(key: str) -> int | None:
        return int(value[key]) if key in value else None

    return Healthcheck(
        test=str(value.get("cmd", "")),
        interval=seconds("interval"),
        retries=seconds("retries"),
        timeout=seconds("timeout"),
    )


def container_request(
    body: dict[str, Any], version: Version, mount_limits: MountLimits | None = None
) -> ContainerRequest:
    image = body["image"]
    # A Glance image is named by Glance's id or name, which need not be a reference.
    image_ref = None if body.get("image_driver") == "glance" else parse_image(image)
    cpu, memory, disk = body.get("cpu"), body.get("memory"), body.get("disk")
    pull_policy = body.get("image_pull_policy")
    image_driver = body.get("image_driver")
    return ContainerRequest(
        image=image,
        image_ref=image_ref,
        name=body.get("name") or None,
        command=_command(body),
        entrypoint=_argv(body.get("entrypoint")),
        cpu=float(cpu) if cpu is not None else None,
        cpu_policy=CpuPolicy(body.get("cpu_policy") or CpuPolicy.SHARED),
        memory=int(memory) if memory is not None else None,
        disk=int(disk) if disk is not None else None,
        environment=dict(body.get("environment") or {}),
        labels={str(k): str(v) for k, v in (body.get("labels") or {}).items()},
        workdir=body.get("workdir"),
        hostname=body.get("hostname"),
        image_pull_policy=PullPolicy.parse(pull_policy) if pull_policy else None,
        # Empty: the configured default_image_driver, chosen by the create flow.
        image_driver="" if image_driver in (None, "None") else image_driver,
        restart_policy=_restart_policy(body.get("restart_policy")),
        interactive=parse_bool(body.get("interactive", False)),
        tty=_tty(body, version),
        auto_remove=bool(body.get("auto_remove") or False),
        auto_heal=parse_bool(body.get("auto_heal", False)),
        privileged=parse_bool(body.get("privileged", False)),
        runtime=body.get("runtime"),
        healthcheck=_healthcheck(body.get("healthcheck")),
        exposed_ports=_exposed_ports(body.get("exposed_ports")),
        availability_zone=body.get("availability_zone"),
        host=body.get("host"),
        registry=body.get("registry") or None,
        nets=_nets(body.get("nets")),
        security_groups=_security_groups(body.get("security_groups")),
        mounts=parse_mounts(body.get("mounts"), mount_limits or MountLimits()),
    )
