"""Networks and security groups: what they cost (issue 10 point 8).

Usage: ``.venv/bin/python -m bench.networks [--pairs 20] [--containers 200] [--changes 10]``.
Prints the figures and writes ``bench/out/networks-<timestamp>.json``. Not a test.

(a) create→Running through the API on the project's network (every container gets
    an address and the ``default`` group's rules) against raw docker-py
    create+start on a user bridge network, same image and limits, interleaved ABBA
    in the same run. Goal: p50 ratio ≤ 1.2.
(b) with ``--containers`` guarded containers running on the host, one security-group
    rule added (then removed) through ``/v2.0``: the time from the request until
    ``nft`` shows it in a container's chain. Goal: ≤ 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import subprocess
import tempfile
import time
import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import docker
import requests

from bench.clients import CPU, DOCKER_URL, IMAGE, MEMORY_MIB, ApiClient, RawClient
from bench.run import machine_info, timed
from bench.service import DockyardService, ServiceConfig
from bench.stats import Row, format_table, summarize
from dockyard.domain.firewall import GuardedPort, HostFirewall
from dockyard.domain.security_groups import SecurityGroupRule, default_rules, new_rule
from dockyard.drivers.network.local.firewall import NftablesFirewall
from dockyard.drivers.network.local.nftables import TABLE_PREFIX, TableNames

OUT_DIR = Path(__file__).parent / "out"
TARGET_CREATE_RATIO = 1.2
TARGET_RULE_SECONDS = 2.0
NETWORK_LABEL = "dockyard-bench.networks"


def log(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


class RawOnNetwork(RawClient):
    """The baseline on a user bridge network: docker-py create (on it) + start."""

    network: str = ""

    def create_and_start(self) -> str:
        api = self.client
        host_config = api.create_host_config(
            mem_limit=MEMORY_MIB * 2**20,
            memswap_limit=MEMORY_MIB * 2**20,
            nano_cpus=int(CPU * 1e9),
            network_mode=self.network,
        )
        created = api.create_container(
            IMAGE,
            command=["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
            host_config=host_config,
            labels={NETWORK_LABEL: self.run_id},
            networking_config=api.create_networking_config(
                {self.network: api.create_endpoint_config()}
            ),
        )
        api.start(created["Id"])
        return str(created["Id"])


def nft(*args: str) -> str:
    return subprocess.run(
        ["nft", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def table_of(host: str) -> str:
    """The nftables table the service's agent keeps (its comment names the host)."""
    for line in nft("list", "tables", "inet").splitlines():
        name = line.split()[-1]
        if name.startswith(TABLE_PREFIX) and f"on {host}" in nft("list", "table", "inet", name):
            return name
    raise RuntimeError(f"no Dockyard table of host {host}")


def create_vs_raw(service: DockyardService, pairs: int, run_id: str) -> Row:
    api = ApiClient(service.url)
    raw = RawOnNetwork(run_id)
    engine = docker.APIClient(base_url=DOCKER_URL, timeout=120)
    network = engine.create_network(
        f"bench-net-{run_id}", driver="bridge", labels={NETWORK_LABEL: run_id}
    )
    raw.network = network["Id"]
    made_api: list[str] = []
    made_raw: list[str] = []
    try:
        for _ in range(3):  # warm-up; the first also makes the project's network
            made_api.append(api.create_and_wait(run=True))
            made_raw.append(raw.create_and_start())
        api_t: list[float] = []
        raw_t: list[float] = []
        for i in range(pairs):
            for side in ("api", "raw") if i % 2 == 0 else ("raw", "api"):  # ABBA
                if side == "api":
                    seconds, uuid = timed(lambda: api.create_and_wait(run=True))
                    api_t.append(seconds)
                    made_api.append(uuid)
                else:
                    seconds, ident = timed(raw.create_and_start)
                    raw_t.append(seconds)
                    made_raw.append(ident)
        return Row(
            "create->Running on a network",
            summarize(api_t),
            summarize(raw_t),
            "create+start, user bridge",
        )
    finally:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda u: ApiClient(service.url).delete_and_wait(u), made_api))
        for ident in made_raw:
            raw.remove(ident)
        engine.remove_network(network["Id"])
        engine.close()
        raw.close()


def fill(service: DockyardService, count: int) -> list[dict[str, Any]]:
    """``count`` running containers on the project's network, in its default group."""

    def one(_: int) -> str:
        return ApiClient(service.url).create_and_wait(run=True)

    with ThreadPoolExecutor(6) as pool:
        uuids = list(pool.map(one, range(count)))
    api = ApiClient(service.url)
    return [api.get(u).json() for u in uuids]


def neutron(service: DockyardService, method: str, path: str, **kw: Any) -> Any:
    response = requests.request(method, service.url + "/v2.0" + path, timeout=60, **kw)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


def rule_changes(
    service: DockyardService, containers: list[dict[str, Any]], changes: int
) -> dict[str, list[float]]:
    """Seconds from each rule request until the last container's chain shows it (or not)."""
    table = table_of(service.host)
    [entries] = containers[-1]["addresses"].values()
    chain = TableNames("", "").ingress(entries[0]["port"])
    [group] = neutron(service, "GET", "/security-groups?name=default")["security_groups"]
    added: list[float] = []
    removed: list[float] = []
    for i in range(changes):
        port = 20000 + i
        needle = f"tcp dport {port} "
        began = time.monotonic()
        rule = neutron(
            service,
            "POST",
            "/security-group-rules",
            json={
                "security_group_rule": {
                    "security_group_id": group["id"],
                    "direction": "ingress",
                    "protocol": "tcp",
                    "port_range_min": port,
                    "port_range_max": port,
                    "remote_ip_prefix": "0.0.0.0/0",
                }
            },
        )["security_group_rule"]
        while needle not in nft("list", "chain", "inet", table, chain):
            if time.monotonic() - began > 30:
                raise RuntimeError(f"rule for {port} not in nft after 30 s")
        added.append(time.monotonic() - began)
        began = time.monotonic()
        neutron(service, "DELETE", f"/security-group-rules/{rule['id']}")
        while needle in nft("list", "chain", "inet", table, chain):
            if time.monotonic() - began > 30:
                raise RuntimeError(f"rule for {port} still in nft after 30 s")
        removed.append(time.monotonic() - began)
    return {"added": added, "removed": removed}


def kernel_apply(ports: int, repeats: int = 10) -> list[float]:
    """Seconds to render and apply (``nft -f``, whole table) ``ports`` guarded ports of one
    ``default`` group, one rule more or less each time: the agent's part of a change.
    On a scratch table, addresses in 198.18.0.0/15 (a benchmarking range nothing uses)."""
    numbers = itertools.count()
    rules = default_rules("g", "p", lambda: f"r{next(numbers)}")
    extra = new_rule(
        id="x", security_group_id="g", project_id="p", direction="ingress", protocol="tcp",
        port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0",
    )  # fmt: skip
    addresses = [f"198.18.{i // 250}.{i % 250 + 2}" for i in range(ports)]
    members = {"g": tuple(addresses)}

    def firewall(more: tuple[SecurityGroupRule, ...]) -> HostFirewall:
        guarded = (
            GuardedPort(f"p{i}", f"c{i}", (a,), rules + more) for i, a in enumerate(addresses)
        )
        return HostFirewall(tuple(guarded), members)

    def extra_or_not(i: int) -> tuple[SecurityGroupRule, ...]:
        return (extra,) if i % 2 == 0 else ()

    scratch = NftablesFirewall("bench", f"scratch-{uuidlib.uuid4().hex[:8]}")
    try:
        scratch.apply(firewall(()))
        return [timed(partial(scratch.apply, firewall(extra_or_not(i))))[0] for i in range(repeats)]
    finally:
        scratch.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args(argv)

    run_id = uuidlib.uuid4().hex[:12]
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-net-") as tmp:
        # A /22: the filled host's containers all fit on the project's network.
        config = ServiceConfig(extra={"network": {"project_network_prefix": "22"}})
        service = DockyardService.new(Path(tmp), config)
        service.start()
        try:
            log(f"(a) create->Running, {args.pairs} ABBA pairs")
            row = create_vs_raw(service, args.pairs, run_id)
            print(format_table([row]), flush=True)
            log(f"(b) filling the host with {args.containers} guarded containers")
            fill_seconds, containers = timed(lambda: fill(service, args.containers))
            log(f"filled in {fill_seconds:.0f} s; {args.changes} rule changes")
            changes = rule_changes(service, containers, args.changes)
            rules_script = nft("list", "table", "inet", table_of(service.host))
            with ThreadPoolExecutor(6) as pool:
                # Waited for: a service stopped amid deletes leaves containers behind.
                done = pool.map(
                    lambda c: ApiClient(service.url).delete_and_wait(c["uuid"]), containers
                )
                list(done)
        finally:
            service.stop()
    log(f"(c) the kernel part alone: {args.containers} ports, whole table")
    kernel = summarize(kernel_apply(args.containers))
    added, removed = summarize(changes["added"]), summarize(changes["removed"])
    result = {
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "machine": machine_info(),
        "create": row.as_dict(),
        "guarded_containers": args.containers,
        "table_lines": len(rules_script.splitlines()),
        "rule_added_ms": added.as_dict(),
        "rule_removed_ms": removed.as_dict(),
        "kernel_apply_ms": kernel.as_dict(),
        "targets": {
            "create_ratio_p50": {"target": TARGET_CREATE_RATIO, "value": row.ratio_p50},
            "rule_change_p95_s": {
                "target": TARGET_RULE_SECONDS,
                "value": max(added.p95, removed.p95) / 1000,
            },
        },
    }
    print(f"rule added → in nft: p50 {added.p50:.0f} ms, p95 {added.p95:.0f} ms")
    print(f"rule removed → gone: p50 {removed.p50:.0f} ms, p95 {removed.p95:.0f} ms")
    print(f"render + nft -f alone: p50 {kernel.p50:.0f} ms, p95 {kernel.p95:.0f} ms")
    print(f"load average before {load_before}, after {result['load_after']}")
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"networks-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
