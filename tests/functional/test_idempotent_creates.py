"""Creates with an Idempotency-Key over HTTP against a real all-in-one service (SQLite,
and PostgreSQL and MariaDB for the race):
retries racing each other make one container, and every one of them answers with it."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from sqlalchemy import func, select

from dockyard.db.models import ContainerRow, IdempotencyKeyRow
from tests.conftest import LATEST, TEST_IMAGE, Dockyard, start_dockyard, stop_dockyard
from tests.support.databases import fresh_database

pytestmark = pytest.mark.docker

BODY = {"image": TEST_IMAGE, "memory": 32, "cpu": 0.1, "command": ["sleep", "60"]}


def post(dockyard: Dockyard, key: str | None, body: dict[str, Any] = BODY) -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return dockyard.request("POST", "/v1/containers", LATEST, json=body, headers=headers)


def rows(dockyard: Dockyard) -> tuple[int, int]:
    with dockyard.node.db.read() as conn:
        containers = conn.execute(select(func.count()).select_from(ContainerRow)).scalar_one()
        keys = conn.execute(select(func.count()).select_from(IdempotencyKeyRow)).scalar_one()
    return int(containers), int(keys)


def delete(dockyard: Dockyard, ident: str) -> None:
    response = dockyard.request("DELETE", f"/v1/containers/{ident}?force=true")
    assert response.status_code == 204, response.text
    dockyard.wait_gone(ident)


def race(dockyard: Dockyard) -> None:
    """Twelve retries of one create with one key at once: one container, twelve answers
    naming it, one of them the original."""
    key = str(uuid.uuid4())
    before = rows(dockyard)
    count = 12
    barrier = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def retry(i: int) -> None:
        barrier.wait()
        answers[i] = post(dockyard, key)

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [202] * count, [a.text for a in answers]
    uuids = {a.json()["uuid"] for a in answers}
    assert len(uuids) == 1
    replayed = sorted(a.headers["Idempotent-Replayed"] for a in answers)
    assert replayed == ["false"] + ["true"] * (count - 1)
    assert {a.headers["Location"] for a in answers} == {answers[0].headers["Location"]}
    assert rows(dockyard) == (before[0] + 1, before[1] + 1)
    (made,) = uuids
    # Later retries, after the container exists, answer with it too.
    later = post(dockyard, key)
    assert later.status_code == 202 and later.json()["uuid"] == made
    delete(dockyard, made)


def test_retries_racing_with_one_key_make_one_container(dockyard: Dockyard) -> None:
    race(dockyard)


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_retries_racing_over_a_shared_database(
    kind: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    with fresh_database(kind) as url:
        service = start_dockyard(
            tmp_path, docker_client, extra_config=["[database]", f"connection = {url}"]
        )
        try:
            race(service)
        finally:
            stop_dockyard(service)


def test_a_key_reused_with_another_body_is_409_and_changes_nothing(dockyard: Dockyard) -> None:
    key = str(uuid.uuid4())
    first = post(dockyard, key)
    assert first.status_code == 202, first.text
    before = rows(dockyard)
    other = post(dockyard, key, {**BODY, "memory": 64})
    assert other.status_code == 409, other.text
    error = other.json()["errors"][0]
    assert error["code"] == "container.idempotency-key-conflict"
    assert key in error["detail"] and "different request" in error["detail"]
    assert rows(dockyard) == before
    # Without the header, the same body is a plain create.
    plain = post(dockyard, None)
    assert plain.status_code == 202 and plain.json()["uuid"] != first.json()["uuid"]
    assert "Idempotent-Replayed" not in plain.headers
    delete(dockyard, plain.json()["uuid"])
    delete(dockyard, first.json()["uuid"])
    gone = post(dockyard, key)
    assert gone.status_code == 409 and "deleted" in gone.json()["errors"][0]["detail"]


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "two words"])
def test_a_malformed_key_is_400_and_changes_nothing(dockyard: Dockyard, key: str) -> None:
    before = rows(dockyard)
    headers = {"Idempotency-Key": key.encode("utf-8")}
    response = dockyard.request("POST", "/v1/containers", LATEST, json=BODY, headers=headers)
    assert response.status_code == 400, response.text
    assert "Idempotency-Key" in response.json()["errors"][0]["detail"]
    assert rows(dockyard) == before
