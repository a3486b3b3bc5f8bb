"""Container representations on the wire (the same field set at every version)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Collection
from typing import Any, Final

from dockyard.domain.container_request import Healthcheck, RestartPolicy
from dockyard.domain.models import (
    ActionEvent,
    Archive,
    Container,
    ContainerAction,
    ProcessTable,
    StatsSnapshot,
)
from dockyard.domain.status_detail import describe


def _stamp(value: dt.datetime | None) -> str | None:
    return str(value.replace(tzinfo=None)) if value is not None else None


def _action_stamp(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def restart_policy(policy: RestartPolicy | None) -> dict[str, str] | None:
    """Zun's shape: the retry count as a string."""
    if policy is None:
        return None
    return {"Name": str(policy.name), "MaximumRetryCount": str(policy.maximum_retry_count)}


def healthcheck(check: Healthcheck | None) -> dict[str, object] | None:
    """Zun's shape: the command as ``test``, and only the durations that were given."""
    if check is None:
        return None
    view: dict[str, object] = {"test": check.test}
    for key in ("interval", "retries", "timeout"):
        if getattr(check, key) is not None:
            view[key] = getattr(check, key)
    return view


def _argv(argv: tuple[str, ...] | None) -> list[str] | None:
    return list(argv) if argv is not None else None


def links(base_url: str, resource: str, uuid: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base_url}/v1/{resource}/{uuid}", "rel": "self"},
        {"href": f"{base_url}/{resource}/{uuid}", "rel": "bookmark"},
    ]


def container(
    c: Container, hidden: Collection[str], base_url: str | None, now: dt.datetime
) -> dict[str, Any]:
    """One container; ``base_url`` None renders a list item (no links).

    ``hidden``: the fields policy keeps from this caller (``container:get_one:<field>``);
    ``now`` (naive UTC) anchors the "Up 3 minutes" of ``status_detail``.
    """
    view: dict[str, Any] = {
        "uuid": c.uuid,
        "name": c.name,
        "project_id": c.project_id,
        "user_id": c.user_id,
        "image": c.image,
        "image_driver": c.image_driver,
        "image_pull_policy": str(c.image_pull_policy) if c.image_pull_policy else None,
        "command": _argv(c.command),
        "entrypoint": _argv(c.entrypoint),
        "cpu": c.cpu,
        "cpu_policy": str(c.cpu_policy),
        "memory": str(c.memory) if c.memory is not None else None,
        "disk": c.disk or 0,
        "environment": c.environment,
        "labels": c.labels,
        "workdir": c.workdir,
        "hostname": c.hostname,
        "ports": c.ports,
        "addresses": c.addresses,
        "security_groups": c.security_groups,
        "restart_policy": restart_policy(c.restart_policy),
        "interactive": c.interactive,
        "tty": c.tty,
        "auto_remove": c.auto_remove,
        "auto_heal": c.auto_heal,
        "privileged": c.privileged,
        "runtime": c.runtime,
        "healthcheck": healthcheck(c.healthcheck),
        "registry_id": c.registry_id,
        "host": c.host,
        "status": str(c.status),
        "status_reason": c.status_reason,
        "status_detail": describe(c.status, c.started_at, c.finished_at, c.exit_code, now, c.health)
        or c.status_detail,
        "task_state": str(c.task_state) if c.task_state else None,
        "created_at": _stamp(c.created_at),
        "updated_at": _stamp(c.updated_at),
    }
    if base_url is not None:
        view["links"] = links(base_url, "containers", c.uuid)
    for key in hidden:
        view.pop(key, None)
    return view


def action(a: ContainerAction) -> dict[str, Any]:
    return {
        "action": a.action,
        "container_uuid": a.container_uuid,
        "request_id": a.request_id,
        "user_id": a.user_id,
        "project_id": a.project_id,
        "start_time": _action_stamp(a.start_time),
        "finish_time": _action_stamp(a.finish_time),
        "message": a.message,
    }


def event(e: ActionEvent, show_traceback: bool) -> dict[str, Any]:
    return {
        "event": e.event,
        "start_time": _action_stamp(e.start_time),
        "finish_time": _action_stamp(e.finish_time),
        "result": e.result,
        "traceback": e.traceback if show_traceback else None,
    }


def processes(table: ProcessTable) -> dict[str, Any]:
    return {"Titles": list(table.titles), "Processes": [list(row) for row in table.processes]}


def stats(s: StatsSnapshot) -> dict[str, Any]:
    """The ``stats`` body; clients look the keys up by these exact names."""
    return {
        "CONTAINER": s.name,
        "CPU %": s.cpu_percent,
        "MEM USAGE(MiB)": s.memory_usage_mib,
        "MEM LIMIT(MiB)": s.memory_limit_mib,
        "MEM %": s.memory_percent,
        "BLOCK I/O(B)": f"{s.block_read}/{s.block_write}",
        "NET I/O(B)": f"{s.net_rx}/{s.net_tx}",
    }


def archive(a: Archive, base64_data: bool) -> dict[str, Any]:
    """``data`` as base64 (1.25+) or as the raw bytes in a JSON string (earlier versions).

    Before 1.25 Zun sent the tar bytes as a string; each byte becomes the character
    with that code (latin-1), which survives JSON and is undone the same way.
    """
    data = base64.b64encode(a.data).decode("ascii") if base64_data else a.data.decode("latin-1")
    stat = {
        "name": a.stat.name,
        "size": a.stat.size,
        "mode": a.stat.mode,
        "mtime": a.stat.mtime,
        "linkTarget": a.stat.link_target,
    }
    return {"data": data, "stat": stat}


#: From this microversion network_list has one entry per port, not per address.
_PORTS_LISTED: Final = (1, 18)


def network_list(c: Container, version: tuple[int, int]) -> list[dict[str, Any]]:
    """The ``networks`` of ``network_list``, built from the container's addresses."""
    if version < _PORTS_LISTED:
        return [
            {
                "net_id": net_id,
                "subnet_id": entry.get("subnet_id"),
                "port_id": entry.get("port"),
                "version": entry.get("version"),
                "ip_address": entry.get("addr"),
            }
            for net_id, entries in (c.addresses or {}).items()
            for entry in entries
        ]
    ports: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for net_id, entries in (c.addresses or {}).items():
        for entry in entries:
            fixed = ports.setdefault((net_id, str(entry.get("port"))), [])
            if entry.get("addr"):
                fixed.append(
                    {
                        "ip_address": entry["addr"],
                        "version": entry.get("version"),
                        "subnet_id": entry.get("subnet_id"),
                    }
                )
    return [
        {"net_id": net_id, "port_id": port_id, "fixed_ips": fixed}
        for (net_id, port_id), fixed in ports.items()
    ]
