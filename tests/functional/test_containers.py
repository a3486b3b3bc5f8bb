"""Every container endpoint over HTTP, against the real Docker Engine."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any

import docker.errors
import pytest

from tests.conftest import TEST_IMAGE, Dockyard

pytestmark = pytest.mark.docker

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; echo started; echo oops >&2; sleep 300 & wait"]


def run(dockyard: Dockyard, **body: Any) -> dict[str, Any]:
    response = dockyard.create({"command": SLEEPER, **body})
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_root_document_advertises_v1_up_to_1_40(dockyard: Dockyard) -> None:
    body = dockyard.session.get(dockyard.url + "/").json()
    assert body["versions"][0] == body["default_version"]
    assert body["versions"][0]["status"] == "CURRENT"
    assert (body["versions"][0]["min_version"], body["versions"][0]["max_version"]) == (
        "1.1",
        "1.40",
    )


def test_v1_document_and_version_headers(dockyard: Dockyard) -> None:
    response = dockyard.session.get(dockyard.url + "/v1/")
    assert response.status_code == 200
    assert response.json()["containers"][0]["href"].endswith("/v1/containers/")
    assert response.headers["OpenStack-API-Version"] == "container 1.1"
    assert response.headers["OpenStack-API-Maximum-Version"] == "container 1.40"
    assert response.headers["Vary"] == "OpenStack-API-Version"
    assert re.match(r"^req-[0-9a-f-]{36}$", response.headers["X-OpenStack-Request-Id"])


def test_latest_negotiates_1_40_and_unversioned_paths_route_to_v1(dockyard: Dockyard) -> None:
    response = dockyard.request("GET", "/containers", version="container latest")
    assert response.status_code == 200
    assert response.headers["OpenStack-API-Version"] == "container 1.40"
    assert set(response.json()) == {"containers", "next"}


def test_run_reaches_running_with_limits_applied(dockyard: Dockyard) -> None:
    created = run(dockyard, memory=48, cpu=0.25, environment={"GREETING": "hi"})
    assert created["status"] == "Creating"
    assert created["memory"] == "48"
    location = created["links"][0]["href"]
    assert location.endswith(created["uuid"])
    running = dockyard.wait_for(created["uuid"], "Running")
    assert running["status_detail"].startswith("Up")
    assert running["host"] == dockyard.host

    def exec_(command: str) -> dict[str, Any]:
        path = f"/v1/containers/{created['uuid']}/execute"
        response = dockyard.request("POST", path, params={"command": command})
        assert response.status_code == 200, response.text
        return dict(response.json())

    memory = exec_("cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert int(memory["output"]) == 48 * 1024 * 1024
    quota = int(exec_("cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us")["output"])
    period = int(exec_("cat /sys/fs/cgroup/cpu/cpu.cfs_period_us")["output"])
    assert quota / period == pytest.approx(0.25)
    env = exec_("env")["output"]
    assert "GREETING=hi" in env


def test_create_without_run_is_created_then_starts(dockyard: Dockyard) -> None:
    response = dockyard.create({"command": SLEEPER, "name": "not-yet"}, run=False)
    assert response.status_code == 202
    uuid = response.json()["uuid"]
    assert dockyard.wait_for(uuid, "Created")["status_detail"] == "Created"
    assert dockyard.request("POST", f"/v1/containers/{uuid}/start").status_code == 202
    dockyard.wait_for(uuid, "Running")


def test_generated_name_and_lookup_by_name(dockyard: Dockyard) -> None:
    created = run(dockyard)
    assert re.match(r"^[a-z]+-\d+-container$", created["name"])
    assert dockyard.show(created["name"])["uuid"] == created["uuid"]


def test_legacy_string_command_is_split_like_a_shell(dockyard: Dockyard) -> None:
    body = {"command": "sh -c 'echo legacy ok'"}
    created = dockyard.create(body, version="container 1.11").json()
    assert created["command"] == ["sh", "-c", "echo legacy ok"]
    dockyard.wait_for(created["uuid"], "Running", "Stopped")


def test_failed_start_ends_in_error_with_a_reason(dockyard: Dockyard) -> None:
    created = dockyard.create({"command": ["/no/such/program"]}).json()
    failed = dockyard.wait_for(created["uuid"], "Error")
    assert "/no/such/program" in failed["status_reason"]
    actions = dockyard.request("GET", f"/v1/containers/{created['uuid']}/container_actions")
    assert actions.json()["containerActions"][0]["message"] == "Error"
    # The failed create gave its claim back; deleting the record cleans the engine too.
    assert dockyard.request("DELETE", f"/v1/containers/{created['uuid']}").status_code == 204
    dockyard.wait_gone(created["uuid"])
    assert all(
        c.labels["dockyard.container_id"] != created["uuid"] for c in dockyard.engine_containers()
    )


def test_image_from_registry_is_pulled(dockyard: Dockyard) -> None:
    registry_image = "127.0.0.1:5001/dockyard-test/busybox:latest"
    with contextlib.suppress(docker.errors.ImageNotFound):
        dockyard.docker.images.remove(registry_image)
    created = dockyard.create({"image": registry_image, "command": SLEEPER}).json()
    dockyard.wait_for(created["uuid"], "Running")
    assert dockyard.docker.images.get(registry_image)


def test_lifecycle_actions(dockyard: Dockyard) -> None:
    uuid = run(dockyard)["uuid"]
    dockyard.wait_for(uuid, "Running")
    steps = [
        ("pause", {}, "Paused"),
        ("unpause", {}, "Running"),
        ("stop", {"timeout": "1"}, "Stopped"),
        ("start", {}, "Running"),
        ("reboot", {"timeout": "1"}, "Running"),
        ("kill", {"signal": "SIGKILL"}, "Stopped"),
    ]
    for action, params, expected in steps:
        response = dockyard.request("POST", f"/v1/containers/{uuid}/{action}", params=params)
        assert response.status_code == 202, (action, response.text)
        assert response.json() is None
        assert dockyard.wait_for(uuid, expected)["status"] == expected, action
    listed = dockyard.request("GET", f"/v1/containers/{uuid}/container_actions").json()
    names = [a["action"] for a in listed["containerActions"]]
    assert names == ["kill", "reboot", "start", "stop", "unpause", "pause", "create"]


def test_action_detail_has_events_and_times(dockyard: Dockyard) -> None:
    uuid = run(dockyard)["uuid"]
    dockyard.wait_for(uuid, "Running")
    response = dockyard.request("POST", f"/v1/containers/{uuid}/stop", params={"timeout": 1})
    request_id = response.headers["X-OpenStack-Request-Id"]
    dockyard.wait_for(uuid, "Stopped")
    detail = dockyard.request("GET", f"/v1/containers/{uuid}/container_actions/{request_id}")
    body = detail.json()
    assert body["action"] == "stop" and body["message"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", body["finish_time"])
    assert body["events"][0]["event"] == "compute__do_container_stop"
    assert body["events"][0]["result"] == "Success"


def test_logs_streams_and_options(dockyard: Dockyard) -> None:
    uuid = run(dockyard)["uuid"]
    dockyard.wait_for(uuid, "Running")
    time.sleep(0.3)
    path = f"/v1/containers/{uuid}/logs"
    assert dockyard.request("GET", path).json() == "started\noops\n" or set(
        dockyard.request("GET", path).json().splitlines()
    ) == {"started", "oops"}
    assert dockyard.request("GET", path, params={"stderr": "false"}).json() == "started\n"
    assert dockyard.request("GET", path, params={"stdout": "False"}).json() == "oops\n"
    assert len(dockyard.request("GET", path, params={"tail": "1"}).json().splitlines()) == 1
    stamped = dockyard.request("GET", path, params={"timestamps": "true", "stderr": "no"}).json()
    assert re.match(r"^\d{4}-\d\d-\d\dT\S+ started$", stamped.strip())
    future = str(int(time.time()) + 3600)
    assert dockyard.request("GET", path, params={"since": future}).json() == ""


def test_execute_reports_exit_code(dockyard: Dockyard) -> None:
    uuid = run(dockyard)["uuid"]
    dockyard.wait_for(uuid, "Running")
    response = dockyard.request(
        "POST", f"/v1/containers/{uuid}/execute", json={"command": "sh -c 'echo out; exit 3'"}
    )
    assert response.json() == {
        "output": "out\n",
        "exit_code": 3,
        "exec_id": None,
        "proxy_url": None,
    }


def test_list_filters_paging_and_sorting(dockyard: Dockyard) -> None:
    names = [f"page-{i}" for i in range(3)]
    for name in names:
        run(dockyard, name=name)
    found = dockyard.request("GET", "/v1/containers", params={"name": "page-1"}).json()
    assert [c["name"] for c in found["containers"]] == ["page-1"]
    assert "links" not in found["containers"][0]
    page = dockyard.request(
        "GET", "/v1/containers", params={"sort_key": "name", "sort_dir": "desc", "limit": 2}
    ).json()
    assert len(page["containers"]) == 2 and page["next"]
    following = dockyard.session.get(
        page["next"], headers={"OpenStack-API-Version": "container 1.40"}
    ).json()
    ordered = [c["name"] for c in page["containers"] + following["containers"]]
    assert ordered == sorted(ordered, reverse=True)
    assert not set(c["uuid"] for c in page["containers"]) & {
        c["uuid"] for c in following["containers"]
    }


def test_rename_and_patch_name(dockyard: Dockyard) -> None:
    uuid = run(dockyard, name="before")["uuid"]
    dockyard.wait_for(uuid, "Running")  # PATCH is refused (409) while Creating
    renamed = dockyard.request(
        "POST", f"/v1/containers/{uuid}/rename", version="container 1.13", params={"name": "mid"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "mid"
    patched = dockyard.request("PATCH", f"/v1/containers/{uuid}", json={"name": "after"})
    assert patched.status_code == 200 and patched.json()["name"] == "after"
    assert dockyard.show("after")["uuid"] == uuid


def test_delete_variants_remove_engine_containers(dockyard: Dockyard) -> None:
    stopped, running, forced = (run(dockyard)["uuid"] for _ in range(3))
    for uuid in (stopped, running, forced):
        dockyard.wait_for(uuid, "Running")
    dockyard.request("POST", f"/v1/containers/{stopped}/stop", params={"timeout": 1})
    dockyard.wait_for(stopped, "Stopped")
    assert dockyard.request("DELETE", f"/v1/containers/{stopped}").status_code == 204
    with_stop = dockyard.request(
        "DELETE", f"/v1/containers/{running}?stop=True", version="container 1.12"
    )
    assert with_stop.status_code == 204
    with_force = dockyard.request(
        "DELETE", f"/v1/containers/{forced}?force=True", version="container 1.7"
    )
    assert with_force.status_code == 204
    for uuid in (stopped, running, forced):
        dockyard.wait_gone(uuid)
    left = {c.labels["dockyard.container_id"] for c in dockyard.engine_containers()}
    assert not left & {stopped, running, forced}


def test_conflicting_actions_at_once_one_wins(dockyard: Dockyard) -> None:
    uuid = run(dockyard)["uuid"]
    dockyard.wait_for(uuid, "Running")
    codes: list[int] = []
    barrier = threading.Barrier(2)

    def fire(action: str) -> None:
        barrier.wait()
        path = f"/v1/containers/{uuid}/{action}"
        codes.append(
            dockyard.request(
                "POST", path, params={"timeout": "2"} if action == "stop" else {}
            ).status_code
        )

    threads = [threading.Thread(target=fire, args=(a,)) for a in ("stop", "pause")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202, 409]


def test_engine_changes_behind_our_back_are_reconciled(dockyard: Dockyard) -> None:
    uuid = run(dockyard)["uuid"]
    dockyard.wait_for(uuid, "Running")
    dockyard.docker.containers.get(f"dockyard-{uuid}").kill()
    stopped = dockyard.wait_for(uuid, "Stopped", timeout=15)
    assert stopped["status_detail"].startswith("Exited (137)")


def test_image_check_uses_the_registry(dockyard: Dockyard) -> None:
    response = dockyard.create({"image": "127.0.0.1:5001/dockyard-test/nothing:1"})
    assert response.status_code == 400
    assert "127.0.0.1:5001/dockyard-test/nothing:1" in response.json()["errors"][0]["detail"]
    assert response.json()["errors"][0]["code"] == "container.image-not-found"
    assert TEST_IMAGE  # the local image stays usable under the default policy
