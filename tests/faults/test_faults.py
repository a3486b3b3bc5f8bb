"""Faults injected while operations are held at every step of a create, a stop, a delete
and a security-group rule change.

Each test is one fault. It first holds eight operations at once, one at each step
(tests/faults/support.py STEPS, dockyard/domain/failpoints.py), then injects the fault
once, lets every held operation go on into it, lifts the fault, and waits until:

- every held operation has a definite record (or none, for a refused create or a
  finished delete), within the repair window's bound;
- ``violations`` is empty: records match their engine containers, no task state is
  left, no engine container lacks a record, claims and quota usage equal the records',
  no port (so no address) outlives its container, and each host's kernel table guards
  exactly the addresses of its ports; the held rule change is in force on its host.

Per case it records the outcome and the seconds from the fault's end until that
operation's record was definite (``settle_s``), and the seconds until the whole cloud
was clean (``clean_s``); conftest.py writes them out for docs/reliability.md.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import docker
import pytest
import requests

from tests.faults.conftest import RESULTS
from tests.faults.support import (
    API_STEPS,
    KEEP,
    NEW_VOLUME,
    PULLED_IMAGE,
    RULE_PORT,
    STEPS,
    Case,
    Holds,
    by_name,
    definite,
    describe,
    firewall_table,
    installation_of,
    kept_volume_problems,
    record,
    wait_clean,
)
from tests.support.cluster import REPAIR_AFTER, Cluster
from tests.support.faultproxy import FaultProxy
from tests.support.private_engine import PrivateEngine

pytestmark = pytest.mark.docker

#: Seconds after a fault ends within which every held operation must be definite and
#: the cloud clean: a repair comes REPAIR_AFTER after the task's last change, is looked
#: for every sync_interval (2 s), and is one more round trip; a broker connection the
#: client library backs off from may take up to its longest back-off to come back.
SETTLE_BOUND = REPAIR_AFTER + 2 * 2 + 30
DATABASE_OUTAGE = 30
BROKER_OUTAGE = 60


@pytest.fixture(autouse=True)
def logs_on_failure(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[None]:
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\n===== logs of the fault cloud after {request.node.name} =====")
            print(cluster.logs(tail=12000))


def wait_up(cluster: Cluster, bound: float = 60) -> None:
    """Until the API answers and every compute service is up (a fault may have made
    the host look down, and creates would be refused)."""
    deadline = time.monotonic() + bound
    while True:
        try:
            answer = cluster.request("GET", "/v1/services", timeout=5)
            if answer.status_code == 200:
                states = {item["host"]: item["state"] for item in answer.json()["services"]}
                if all(states.get(host) == "up" for host in cluster.hosts):
                    return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the cloud did not come back up"
        time.sleep(0.5)


def until_accepted(send: Callable[[], requests.Response], bound: float = 30) -> requests.Response:
    """A request made before the fault, sent again while the API answers 503 (a host
    still catching up on its heartbeats after the last fault, a database connection
    being replaced), as the 503 asks clients to do."""
    deadline = time.monotonic() + bound
    while (answer := send()).status_code == 503 and time.monotonic() < deadline:
        time.sleep(1)
    return answer


def running(cluster: Cluster, name: str, mounts: list[dict[str, Any]] | None = None) -> str:
    body: dict[str, Any] = {"name": name, "mounts": mounts or []}
    answer = until_accepted(lambda: cluster.create(body, run=True))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["uuid"])


def volumes_for(kept: dict[str, str], step: str) -> list[dict[str, Any]]:
    """A case's container's mounts: a volume made with it, and the step's kept volume."""
    return [NEW_VOLUME, {"source": kept[step], "destination": KEEP}]


def hold_every_step(cluster: Cluster, holds: Holds, group: str, kept: dict[str, str]) -> list[Case]:
    """One operation held at each step, all at the same time."""
    cases = {step: Case(step, f"{group}-{step.replace('.', '-')}") for step in STEPS}
    for step in ("stop", "delete"):
        cases[step].uuid = running(cluster, cases[step].name, volumes_for(kept, step))
    for step in ("stop", "delete"):
        ident = cases[step].uuid
        assert ident is not None
        deadline = time.monotonic() + 60
        while (shown := cluster.show(ident))["status"] != "Running":
            assert shown["status"] != "Error" and time.monotonic() < deadline, shown
            time.sleep(0.2)
        holds.arm(step, ident)
    stop = until_accepted(
        lambda: cluster.request("POST", f"/v1/containers/{cases['stop'].uuid}/stop")
    )
    assert stop.status_code == 202, stop.text
    delete = until_accepted(
        lambda: cluster.request("DELETE", f"/v1/containers/{cases['delete'].uuid}?force=true")
    )
    assert delete.status_code in (202, 204), delete.text

    for step in STEPS[:5]:
        case = cases[step]
        holds.arm(step, case.name)
        body: dict[str, Any] = {"name": case.name, "mounts": volumes_for(kept, step)}
        if step == "create.pulling":
            body.update(image=PULLED_IMAGE, image_pull_policy="always")
        if step in API_STEPS:
            case.thread = threading.Thread(target=_post, args=(cluster, case, body), daemon=True)
            case.thread.start()
        else:
            answer = until_accepted(partial(cluster.create, body, run=True))
            assert answer.status_code == 202, answer.text
            case.uuid = answer.json()["uuid"]
    # Last: a create's own push could otherwise be the one held here.
    rules = cases["rules"]
    stopping = cases["stop"].uuid
    assert stopping is not None
    rules.extra["host"] = cluster.show(stopping)["host"]
    holds.arm("rules", rules.extra["host"])
    rules.thread = threading.Thread(target=_add_rule, args=(cluster, rules), daemon=True)
    rules.thread.start()
    for case in cases.values():
        holds.wait_reached(case.step, _subject(case))
    return list(cases.values())


def _subject(case: Case) -> str:
    if case.step == "rules":
        return str(case.extra["host"])
    return str(case.uuid if case.step in ("stop", "delete") else case.name)


def default_group(cluster: Cluster) -> str:
    listed = cluster.request("GET", "/v2.0/security-groups?name=default")
    assert listed.status_code == 200, listed.text
    [group] = listed.json()["security_groups"]
    return str(group["id"])


def _add_rule(cluster: Cluster, case: Case) -> None:
    """Opens RULE_PORT in the project's default group: the push to the host is held."""
    rule = {
        "security_group_id": default_group(cluster),
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": RULE_PORT,
        "port_range_max": RULE_PORT,
        "remote_ip_prefix": "192.0.2.0/24",
    }
    with requests.Session() as session:
        try:
            case.answer = session.post(
                f"{cluster.url}/v2.0/security-group-rules",
                json={"security_group_rule": rule},
                timeout=SETTLE_BOUND + 120,
            )
        except requests.RequestException as exc:
            case.error = f"{type(exc).__name__}"


def rule_in_force(cluster: Cluster, case: Case) -> bool:
    table = firewall_table(installation_of(cluster), str(case.extra["host"]))
    return f"dport {RULE_PORT} " in table


def remove_rule(cluster: Cluster) -> None:
    group = default_group(cluster)
    listed = cluster.request("GET", f"/v2.0/security-group-rules?security_group_id={group}")
    for rule in listed.json()["security_group_rules"]:
        if rule["port_range_min"] == RULE_PORT:
            gone = cluster.request("DELETE", f"/v2.0/security-group-rules/{rule['id']}")
            assert gone.status_code == 204, gone.text


def _post(cluster: Cluster, case: Case, body: dict[str, Any]) -> None:
    # Its own session: requests.Session is not for several threads at once.
    with requests.Session() as session:
        try:
            case.answer = cluster.create(body, run=True, session=session)
        except requests.RequestException as exc:
            case.error = f"{type(exc).__name__}"


def settle(cluster: Cluster, cases: list[Case], lifted: float) -> float:
    """Wait for every case's definite end, then for a clean cloud; the seconds that took."""
    deadline = lifted + SETTLE_BOUND
    for case in cases:
        if case.thread is not None:
            case.thread.join(timeout=max(deadline - time.monotonic(), 1))
            assert not case.thread.is_alive(), f"{case.step}: the POST never answered"
            if case.step == "rules":
                code = case.answer.status_code if case.answer is not None else case.error
                case.extra["answer"] = code
            elif case.answer is not None and case.answer.status_code == 202:
                case.uuid = case.answer.json()["uuid"]
            else:
                code = case.answer.status_code if case.answer is not None else case.error
                case.extra["answer"] = code
    pending = list(cases)
    while pending:
        for case in list(pending):
            if case.step == "rules":
                if rule_in_force(cluster, case):
                    case.outcome = f"rule in force ({case.extra.get('answer')})"
                    case.settled_after = max(time.monotonic() - lifted, 0.0)
                    pending.remove(case)
                continue
            if case.uuid is None:
                found = by_name(cluster, case.name)
                if not found:
                    case.outcome = f"refused ({case.extra.get('answer')}), no record"
                    case.settled_after = time.monotonic() - lifted
                    pending.remove(case)
                    continue
                case.uuid = found[0]["uuid"]
            shown = record(cluster, case.uuid)
            if definite(shown):
                case.outcome = describe(shown)
                case.settled_after = max(time.monotonic() - lifted, 0.0)
                pending.remove(case)
        if pending:
            left = {c.step: describe(record(cluster, c.uuid)) for c in pending if c.uuid}
            assert time.monotonic() < deadline, f"not definite {SETTLE_BOUND} s after: {left}"
            time.sleep(0.25)
    return wait_clean(cluster, max(deadline - time.monotonic(), 5))


def run_fault(
    cluster: Cluster,
    holds: Holds,
    kept: dict[str, str],
    fault: str,
    group: str,
    inject: Callable[[], None],
    lift: Callable[[], None],
) -> list[Case]:
    wait_up(cluster)
    wait_clean(cluster, 10)  # the last fault's deletes' rules go within seconds
    cases = hold_every_step(cluster, holds, group, kept)
    injected = time.monotonic()
    inject()
    holds.release_all()
    lift()
    lifted = time.monotonic()
    clean = settle(cluster, cases, lifted)
    total = time.monotonic() - lifted
    for case in cases:
        RESULTS.append(
            {
                "fault": fault,
                "step": case.step,
                "outcome": case.outcome,
                "settle_s": round(case.settled_after or 0.0, 1),
                "clean_s": round(total, 1),
                "fault_s": round(lifted - injected, 1),
            }
        )
    print(f"{fault}: clean {clean:.1f} s after the last case settled, {total:.1f} s in all")
    for case in cases:
        print(f"  {case.step:22} {case.outcome} after {case.settled_after:.1f} s")
    cluster.delete_all()
    remove_rule(cluster)
    # Deleting what the fault left removes the volumes made with it and gives back the
    # kept ones, whole.
    cleared = wait_clean(cluster, SETTLE_BOUND)
    print(f"  deleted, clean after {cleared:.1f} s")
    for step, volume in kept.items():
        assert not kept_volume_problems(cluster, volume), step
    return cases


def outcome(cases: list[Case], step: str) -> str:
    return next(case.outcome or "" for case in cases if case.step == step)


def check_common(cases: list[Case]) -> None:
    """What every fault must give: a stop ends Stopped (or says why not), a delete
    removes the record (or leaves it definite, to be deleted again)."""
    assert all(case.outcome for case in cases), [(c.step, c.outcome) for c in cases]


def test_agent_sigkilled(cluster: Cluster, holds: Holds, kept_volumes: dict[str, str]) -> None:
    host = next(iter(cluster.hosts))

    def lift() -> None:
        time.sleep(1)
        cluster.launch(host)
        cluster.wait_ready(host)

    cases = run_fault(
        cluster, holds, kept_volumes, "agent SIGKILL", "ak", lambda: cluster.kill(host), lift
    )
    check_common(cases)
    # Nothing the killed agent held may look done: a create it was doing cannot be Running
    # on an engine that never started it, and its claim must be back (checked by violations).
    assert outcome(cases, "create.before_start") != "Running"


def test_conductor_sigkilled(cluster: Cluster, holds: Holds, kept_volumes: dict[str, str]) -> None:
    def lift() -> None:
        time.sleep(5)
        cluster.launch("conductor")
        cluster.wait_ready("conductor")

    cases = run_fault(
        cluster,
        holds,
        kept_volumes,
        "conductor SIGKILL",
        "ck",
        lambda: cluster.kill("conductor"),
        lift,
    )
    check_common(cases)
    # Agents wait out a conductor restart: nothing is lost.
    assert outcome(cases, "create.before_report") == "Running"
    assert outcome(cases, "stop") == "Stopped"
    assert outcome(cases, "delete") == "record gone"


def test_database_unreachable(
    cluster: Cluster, holds: Holds, kept_volumes: dict[str, str], database_proxy: FaultProxy
) -> None:
    cases = run_fault(
        cluster,
        holds,
        kept_volumes,
        f"database unreachable {DATABASE_OUTAGE} s",
        "db",
        database_proxy.cut,
        lambda: (time.sleep(DATABASE_OUTAGE), database_proxy.restore()),
    )
    check_common(cases)
    # The claim could not be taken: refused, nothing stored. Every later step was
    # already claimed and recorded, and its agent waits out the outage: each create
    # ends Running (not "host went down": the conductor judges no host on heartbeats
    # it could not record, dockyard/service/sweeper.py).
    assert outcome(cases, "create.before_claim") == "refused (503), no record"
    for step in ("create.after_claim", "create.pulling", "create.before_start"):
        assert outcome(cases, step) == "Running", step
    assert outcome(cases, "create.before_report") == "Running"
    assert outcome(cases, "stop") == "Stopped"
    assert outcome(cases, "delete") == "record gone"


def test_broker_unreachable(
    cluster: Cluster, holds: Holds, kept_volumes: dict[str, str], broker_proxy: FaultProxy
) -> None:
    cases = run_fault(
        cluster,
        holds,
        kept_volumes,
        f"broker unreachable {BROKER_OUTAGE} s",
        "mq",
        broker_proxy.cut,
        lambda: (time.sleep(BROKER_OUTAGE), broker_proxy.restore()),
    )
    check_common(cases)
    assert outcome(cases, "create.before_report") == "Running"
    assert outcome(cases, "stop") == "Stopped"


def test_dockerd_sigkilled_and_restarted(
    cluster: Cluster, holds: Holds, kept_volumes: dict[str, str], engine: PrivateEngine
) -> None:
    def lift() -> None:
        time.sleep(3)
        engine.start()

    cases = run_fault(
        cluster, holds, kept_volumes, "dockerd SIGKILL + restart", "dk", engine.kill, lift
    )
    check_common(cases)
    # dockerd without live-restore kills what ran when it comes back: nothing may stay
    # "Running" in Dockyard (violations compares every record with the engine).


def test_disk_full_during_pull(
    cluster: Cluster, engine: PrivateEngine, big_image: str, holds: Holds
) -> None:
    wait_up(cluster)
    free_before = engine.free_mib()
    answer = cluster.create({"name": "df-pull", "image": big_image}, run=True)
    assert answer.status_code == 202, answer.text
    ident = answer.json()["uuid"]
    started = time.monotonic()
    deadline = started + 120
    while not definite(shown := record(cluster, ident)):
        assert time.monotonic() < deadline, shown
        time.sleep(0.25)
    settled = time.monotonic() - started
    assert shown is not None and shown["status"] == "Error", shown
    assert "no space left on device" in (shown["status_reason"] or "").lower(), shown
    clean = wait_clean(cluster, SETTLE_BOUND)
    # The engine gave the space back, and the host still creates from a local image.
    assert engine.free_mib() > free_before - 16, (free_before, engine.free_mib())
    after = running(cluster, "df-after")
    deadline = time.monotonic() + 60
    while (status := cluster.show(after)["status"]) != "Running":
        assert status != "Error" and time.monotonic() < deadline, status
        time.sleep(0.2)
    RESULTS.append(
        {
            "fault": "image store disk full",
            "step": "create.pulling",
            "outcome": describe(shown),
            "settle_s": round(settled, 1),
            "clean_s": round(settled + clean, 1),
            "fault_s": None,
        }
    )
    cluster.delete_all()


@pytest.fixture(scope="module")
def big_image(engine: PrivateEngine) -> str:
    """An image in the local registry larger than what the private engine has free."""
    # Rounded up, so that later runs find the image already pushed.
    size_mib = (int(engine.free_mib()) + 48 + 63) // 64 * 64
    name = f"127.0.0.1:5001/dockyard-faults/big:{size_mib}m"
    client = docker.from_env(timeout=300)
    try:
        try:
            client.images.get_registry_data(name)
            return name
        except docker.errors.APIError:
            pass
        dockerfile = (
            "FROM dockyard-test/busybox:latest\n"
            f"RUN dd if=/dev/urandom of=/filler bs=1M count={size_mib} 2>/dev/null\n"
        )
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=name, rm=True)
        client.images.push(name)
        client.images.remove(name, force=True)
        return name
    finally:
        client.close()
