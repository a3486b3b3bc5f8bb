"""Pure translations between Dockyard's models and Docker Engine API payloads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from dockyard.domain.labels import LABEL_CONTAINER_ID, LABEL_INSTALLATION, Owner
from dockyard.domain.models import (
    ContainerSpec,
    ObservedContainer,
    PathStat,
    ProcessTable,
    StatsSnapshot,
)
from dockyard.domain.networks import Endpoint
from dockyard.domain.states import Status, from_engine
from dockyard.domain.status_detail import health_of, human_duration, with_health
from dockyard.drivers.volume.base import engine_volume_name

NAME_PREFIX = "dockyard-"
_MIB = 2**20
_NS_PER_S = 1_000_000_000

# Linux signal numbers; the engine runs Linux containers whatever the client runs on.
_LINUX_SIGNALS = (
    *("SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE"),
    *("SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"),
    *("SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"),
    *("SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO"),
    *("SIGPWR", "SIGSYS"),
)
_SIGNAL_BY_NUMBER = {str(number): name for number, name in enumerate(_LINUX_SIGNALS, start=1)}

_ZERO_TIME_PREFIX = "0001-01-01"
_RFC3339 = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:\d{2})$"
)
_EXITED_SUMMARY = re.compile(r"^Exited \((?P<code>-?\d+)\)")
#: Bind address of published ports unless the agent is configured otherwise.
DEFAULT_PUBLISH_ADDRESS = "127.0.0.1"
#: Storage drivers that can cap a container's writable layer (``--storage-opt size``).
#: overlay2 can only on xfs mounted with ``pquota``; the engine does not report the
#: mount options, so an xfs without them fails at create with the engine's message.
_QUOTA_DRIVERS = frozenset({"devicemapper", "btrfs", "zfs"})


def container_name(uuid: str) -> str:
    return NAME_PREFIX + uuid


def supports_disk_quota(info: Mapping[str, Any]) -> bool:
    """Whether the storage driver ``docker info`` describes can limit a container's disk."""
    driver = str(info.get("Driver") or "")
    if driver == "overlay2":
        status = {str(k): str(v) for k, v in info.get("DriverStatus") or []}
        return status.get("Backing Filesystem") == "xfs"
    return driver in _QUOTA_DRIVERS


def host_config_kwargs(
    spec: ContainerSpec, publish_address: str = DEFAULT_PUBLISH_ADDRESS
) -> dict[str, Any]:
    """Keyword arguments for docker-py's ``APIClient.create_host_config``.

    Exposed ports are published on ``publish_address`` at a port the engine picks.
    """
    memory = spec.memory_mib * _MIB
    kwargs: dict[str, Any] = {
        "mem_limit": memory,
        # Equal to the memory limit: the container gets no swap on top of it.
        "memswap_limit": memory,
        # A hard CFS quota, so ``cpu`` is a ceiling and not a relative weight.
        "nano_cpus": int(spec.cpu * _NS_PER_S),
        "privileged": spec.privileged,
        "auto_remove": spec.auto_remove,
    }
    if spec.runtime:
        kwargs["runtime"] = spec.runtime
    if spec.exposed_ports:
        kwargs["port_bindings"] = {
            str(port): (publish_address, None) for port in spec.exposed_ports
        }
    if spec.cpuset_cpus:
        kwargs["cpuset_cpus"] = spec.cpuset_cpus
    if spec.disk_gib is not None:
        kwargs["storage_opt"] = {"size": f"{spec.disk_gib}G"}
    if spec.volumes:
        # By engine volume name: the engine then knows which containers use each volume.
        kwargs["binds"] = {
            engine_volume_name(m.volume.volume_id): {"bind": m.destination, "mode": "rw"}
            for m in spec.volumes
        }
    policy = spec.restart_policy
    if policy is not None and policy.name != "no":
        kwargs["restart_policy"] = {
            "Name": policy.name,
            "MaximumRetryCount": policy.maximum_retry_count,
        }
    return kwargs


def healthcheck(spec: ContainerSpec) -> dict[str, Any] | None:
    """The ``healthcheck`` argument of ``create_container`` (durations in ns)."""
    check = spec.healthcheck
    if check is None or not check.test:
        return None
    result: dict[str, Any] = {"test": ["CMD-SHELL", check.test]}
    if check.interval:
        result["interval"] = check.interval * _NS_PER_S
    if check.timeout:
        result["timeout"] = check.timeout * _NS_PER_S
    if check.retries:
        result["retries"] = check.retries
    return result


def create_kwargs(
    spec: ContainerSpec, installation: str, publish_address: str = DEFAULT_PUBLISH_ADDRESS
) -> dict[str, Any]:
    """Keyword arguments for ``APIClient.create_container``.

    ``host_config`` holds the *keyword arguments* of ``create_host_config``
    (see :func:`host_config_kwargs`); the driver turns them into the engine's
    HostConfig with its client, which keeps this module free of a client.
    """
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": container_name(spec.uuid),
        "environment": dict(spec.environment),
        "working_dir": spec.workdir,
        "hostname": spec.hostname,
        # Dockyard's own labels last, so a user's label cannot pose as one of them.
        "labels": {
            **spec.labels,
            LABEL_CONTAINER_ID: spec.uuid,
            **Owner(installation, spec.host).labels(),
        },
        "stdin_open": spec.interactive,
        "tty": spec.tty,
        # As ``docker run -d -i``: stdin stays open when an attached client leaves.
        # Without it docker-py sets StdinOnce, and a detach would end a no-TTY shell.
        "detach": True,
        "host_config": host_config_kwargs(spec, publish_address),
    }
    if spec.exposed_ports:
        kwargs["ports"] = [(port.number, str(port.protocol)) for port in spec.exposed_ports]
    if spec.command is not None:
        kwargs["command"] = list(spec.command)
    if spec.entrypoint is not None:
        kwargs["entrypoint"] = list(spec.entrypoint)
    check = healthcheck(spec)
    if check is not None:
        kwargs["healthcheck"] = check
    if spec.network is not None:
        kwargs.update(_network_kwargs(spec.network))
        kwargs["host_config"]["network_mode"] = spec.network.network_name
    return kwargs


def _network_kwargs(endpoint: Endpoint) -> dict[str, Any]:
    """Create the container on ``endpoint``'s network, with its addresses and names.

    The MAC is the container's (the engine applies it to its first network).
    """
    ipam = {
        key: value
        for key, value in (
            ("IPv4Address", endpoint.ipv4_address),
            ("IPv6Address", endpoint.ipv6_address),
        )
        if value
    }
    config: dict[str, Any] = {"IPAMConfig": ipam, "Aliases": list(endpoint.aliases)}
    kwargs: dict[str, Any] = {
        "networking_config": {"EndpointsConfig": {endpoint.network_name: config}}
    }
    if endpoint.mac_address:
        kwargs["mac_address"] = endpoint.mac_address
    return kwargs


def parse_time(value: str | None) -> dt.datetime | None:
    """An engine RFC 3339 timestamp (nanosecond precision) as naive UTC; None when unset."""
    if not value or value.startswith(_ZERO_TIME_PREFIX):
        return None
    match = _RFC3339.match(value)
    if match is None:
        return None
    frac = (match.group("frac") or "0")[:6].ljust(6, "0")
    tz = match.group("tz").replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(f"{match.group('base')}.{frac}{tz}")
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def _status_detail(
    state: Mapping[str, Any],
    started: dt.datetime | None,
    finished: dt.datetime | None,
    now: dt.datetime,
) -> str:
    engine_status = str(state.get("Status", "")).lower()
    if engine_status == "restarting":
        if finished is None:
            return "Restarting"
        return f"Restarting ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"
    if engine_status == "removing":
        return "Removal In Progress"
    if engine_status == "dead":
        return "Dead"
    if state.get("Running") or engine_status in ("running", "paused"):
        text = f"Up {human_duration(now - started)}" if started else "Up"
        if state.get("Paused") or engine_status == "paused":
            return f"{text} (Paused)"
        return with_health(text, _health(state))
    if started is None:
        return "Created"
    if finished is None:
        return ""
    return f"Exited ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"


def _health(state: Mapping[str, Any]) -> str | None:
    return str((state.get("Health") or {}).get("Status") or "") or None


def observe(inspect: Mapping[str, Any], now: dt.datetime) -> ObservedContainer:
    """An ``ObservedContainer`` from a ``docker inspect`` document.

    ``now`` (naive UTC) anchors the "Up 3 minutes" summary.
    """
    state: Mapping[str, Any] = inspect.get("State") or {}
    config: Mapping[str, Any] = inspect.get("Config") or {}
    labels: Mapping[str, str] = config.get("Labels") or {}
    started = parse_time(state.get("StartedAt"))
    finished = parse_time(state.get("FinishedAt"))
    status = from_engine(str(state.get("Status", "")))
    exit_code = state.get("ExitCode")
    cmd = config.get("Cmd")
    return ObservedContainer(
        uuid=labels.get(LABEL_CONTAINER_ID, ""),
        installation=labels.get(LABEL_INSTALLATION),
        runtime_id=str(inspect.get("Id", "")),
        status=status,
        status_detail=_status_detail(state, started, finished, now),
        exit_code=(
            int(exit_code)
            if status in (Status.STOPPED, Status.DEAD) and exit_code is not None
            else None
        ),
        error=str(state.get("Error") or ""),
        oom_killed=bool(state.get("OOMKilled", False)),
        restart_count=int(inspect.get("RestartCount") or 0),
        hostname=config.get("Hostname") or None,
        ports=tuple(sorted({int(p.split("/")[0]) for p in config.get("ExposedPorts") or {}})),
        command=tuple(cmd) if cmd is not None else None,
        started_at=started,
        finished_at=finished,
        health=_health(state),
    )


def observe_summary(item: Mapping[str, Any]) -> ObservedContainer:
    """An ``ObservedContainer`` from one entry of ``APIClient.containers(all=True)``.

    The list endpoint carries no timestamps, hostname or restart count; those
    stay at their defaults. Its ``Status`` text is already Docker's summary.
    """
    labels: Mapping[str, str] = item.get("Labels") or {}
    summary = str(item.get("Status") or "")
    status = from_engine(str(item.get("State", "")))
    exited = _EXITED_SUMMARY.match(summary)
    return ObservedContainer(
        uuid=labels.get(LABEL_CONTAINER_ID, ""),
        installation=labels.get(LABEL_INSTALLATION),
        runtime_id=str(item.get("Id", "")),
        status=status,
        status_detail=summary,
        exit_code=(
            int(exited.group("code"))
            if exited and status in (Status.STOPPED, Status.DEAD)
            else None
        ),
        ports=tuple(
            sorted({int(p["PrivatePort"]) for p in item.get("Ports") or [] if "PrivatePort" in p})
        ),
        health=health_of(summary),
    )


def signal_name(signal: str | None) -> str | None:
    """``"KILL"``, ``"sigkill"``, ``"9"``, ``"SIGKILL"`` -> ``"SIGKILL"``; None -> None.

    Unknown numbers (real-time signals) are passed on as numbers for the engine to judge.
    """
    if signal is None:
        return None
    text = signal.strip().upper()
    if text in ("", "NONE"):
        return None
    if text.isdigit():
        return _SIGNAL_BY_NUMBER.get(str(int(text)), str(int(text)))
    return text if text.startswith("SIG") else "SIG" + text


def update_body(cpu: float, memory_mib: int) -> dict[str, Any]:
    """The body of ``POST /containers/{id}/update`` for new limits.

    ``NanoCpus`` (not a CFS quota) because the container was created with it:
    the engine refuses to mix the two on one container.
    """
    memory = memory_mib * _MIB
    return {"NanoCpus": int(cpu * _NS_PER_S), "Memory": memory, "MemorySwap": memory}


def process_table(top: Mapping[str, Any]) -> ProcessTable:
    """A ``ProcessTable`` from the engine's ``top`` answer."""
    return ProcessTable(
        titles=tuple(str(t) for t in top.get("Titles") or ()),
        processes=tuple(tuple(str(cell) for cell in row) for row in top.get("Processes") or ()),
    )


def cpu_percent(stats: Mapping[str, Any]) -> float:
    """CPU use between the two readings of a stats sample; 100 = one CPU fully busy."""
    now: Mapping[str, Any] = stats.get("cpu_stats") or {}
    before: Mapping[str, Any] = stats.get("precpu_stats") or {}
    if not before.get("system_cpu_usage"):
        return 0.0  # a single reading (one-shot sample or first of a stream)
    usage_now: Mapping[str, Any] = now.get("cpu_usage") or {}
    usage_before: Mapping[str, Any] = before.get("cpu_usage") or {}
    cpu_delta = int(usage_now.get("total_usage") or 0) - int(usage_before.get("total_usage") or 0)
    system_delta = int(now.get("system_cpu_usage") or 0) - int(before["system_cpu_usage"])
    online = int(now.get("online_cpus") or 0) or len(usage_now.get("percpu_usage") or ()) or 1
    if cpu_delta <= 0 or system_delta <= 0:
        return 0.0
    return cpu_delta / system_delta * online * 100.0


def memory_usage(memory_stats: Mapping[str, Any]) -> int:
    """Bytes in use without the page cache (cgroup v1: ``cache``; v2: ``inactive_file``)."""
    usage = int(memory_stats.get("usage") or 0)
    detail: Mapping[str, Any] = memory_stats.get("stats") or {}
    if "cache" in detail:
        usage -= int(detail["cache"])
    elif "inactive_file" in detail:
        usage -= int(detail["inactive_file"])
    return max(usage, 0)


def _block_io(stats: Mapping[str, Any]) -> tuple[int, int]:
    read = write = 0
    for entry in (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op", "")).lower()
        if op == "read":
            read += int(entry.get("value") or 0)
        elif op == "write":
            write += int(entry.get("value") or 0)
    return read, write


def stats_snapshot(stats: Mapping[str, Any]) -> StatsSnapshot:
    """A ``StatsSnapshot`` from one non-streamed ``stats`` sample of the engine."""
    memory: Mapping[str, Any] = stats.get("memory_stats") or {}
    used, limit = memory_usage(memory), int(memory.get("limit") or 0)
    networks: Mapping[str, Mapping[str, Any]] = stats.get("networks") or {}
    read, write = _block_io(stats)
    return StatsSnapshot(
        cpu_percent=round(cpu_percent(stats), 2),
        memory_usage_mib=round(used / _MIB, 2),
        memory_limit_mib=round(limit / _MIB, 2),
        memory_percent=round(used / limit * 100.0, 2) if limit else 0.0,
        block_read=read,
        block_write=write,
        net_rx=sum(int(n.get("rx_bytes") or 0) for n in networks.values()),
        net_tx=sum(int(n.get("tx_bytes") or 0) for n in networks.values()),
    )


def path_stat(stat: Mapping[str, Any]) -> PathStat:
    """A ``PathStat`` from the decoded ``X-Docker-Container-Path-Stat`` header."""
    return PathStat(
        name=str(stat.get("name", "")),
        size=int(stat.get("size") or 0),
        mode=int(stat.get("mode") or 0),
        mtime=str(stat.get("mtime", "")),
        link_target=str(stat.get("linkTarget") or ""),
    )
