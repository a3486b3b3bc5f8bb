"""GET of one container: ETag, If-None-Match (304) and Prefer: wait, on a real all-in-one."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from tests.conftest import Dockyard

pytestmark = pytest.mark.docker

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]


def show(dockyard: Dockyard, uuid: str, etag: str | None = None, wait: int = 0) -> Any:
    headers = {}
    if etag is not None:
        headers["If-None-Match"] = etag
    if wait:
        headers["Prefer"] = f"wait={wait}"
    return dockyard.request("GET", f"/v1/containers/{uuid}", headers=headers)


def created(dockyard: Dockyard) -> str:
    answer = dockyard.create({"command": SLEEPER}, run=False)
    assert answer.status_code == 202, answer.text
    uuid = str(answer.json()["uuid"])
    dockyard.wait_for(uuid, "Created")
    return uuid


def test_an_unchanged_record_answers_304_and_a_changed_one_200(dockyard: Dockyard) -> None:
    uuid = created(dockyard)
    first = show(dockyard, uuid)
    etag = first.headers["ETag"]

    again = show(dockyard, uuid, etag)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    # A tag the record does not have, or none, gets the body.
    assert show(dockyard, uuid, '"elsewhere"').status_code == 200

    renamed = dockyard.request("PATCH", f"/v1/containers/{uuid}", json={"name": "renamed"})
    assert renamed.status_code == 200, renamed.text
    changed = show(dockyard, uuid, etag)
    assert changed.status_code == 200 and changed.json()["name"] == "renamed"
    assert changed.headers["ETag"] != etag


def test_a_waiting_get_answers_as_soon_as_the_record_changes(dockyard: Dockyard) -> None:
    uuid = created(dockyard)
    etag = show(dockyard, uuid).headers["ETag"]
    threading.Timer(
        0.5,
        lambda: requests.patch(
            f"{dockyard.url}/v1/containers/{uuid}",
            json={"name": "woken"},
            headers={"OpenStack-API-Version": "container 1.40"},
            timeout=10,
        ),
    ).start()

    began = time.monotonic()
    answer = show(dockyard, uuid, etag, wait=15)
    took = time.monotonic() - began

    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "woken"
    assert answer.headers["Preference-Applied"] == "wait=15"
    assert 0.4 < took < 3, took


def test_a_wait_without_a_change_ends_in_304(dockyard: Dockyard) -> None:
    uuid = created(dockyard)
    etag = show(dockyard, uuid).headers["ETag"]
    began = time.monotonic()
    answer = show(dockyard, uuid, etag, wait=1)
    assert answer.status_code == 304
    assert 0.9 < time.monotonic() - began < 5


def test_a_record_deleted_during_the_wait_answers_404(dockyard: Dockyard) -> None:
    uuid = created(dockyard)
    etag = show(dockyard, uuid).headers["ETag"]
    threading.Timer(
        0.3,
        lambda: requests.delete(
            f"{dockyard.url}/v1/containers/{uuid}",
            headers={"OpenStack-API-Version": "container 1.40"},
            timeout=10,
        ),
    ).start()
    deadline = time.monotonic() + 15
    while (answer := show(dockyard, uuid, etag, wait=10)).status_code == 200:
        etag = answer.headers["ETag"]  # Deleting first, then gone
        assert time.monotonic() < deadline
    assert answer.status_code == 404


def test_waiting_for_running_takes_a_few_requests_not_a_poll_loop(dockyard: Dockyard) -> None:
    answer = dockyard.create({"command": SLEEPER})
    assert answer.status_code == 202, answer.text
    uuid, etag, record = answer.json()["uuid"], None, answer.json()
    requests_made = 0
    deadline = time.monotonic() + 30
    while record["status"] != "Running" or record["task_state"] is not None:
        assert time.monotonic() < deadline, record
        reply = show(dockyard, uuid, etag, wait=10)
        requests_made += 1
        if reply.status_code == 200:
            etag, record = reply.headers["ETag"], reply.json()
    # Each answer is a change (Creating → image/container steps → Running), no timer polls.
    assert requests_made <= 6, requests_made
