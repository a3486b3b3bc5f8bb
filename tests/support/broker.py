"""A private corner of the test machine's RabbitMQ: an exchange and topics no other run uses."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from tests.conftest import require

TRANSPORT_URL = os.environ.get(
    "DOCKYARD_TEST_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5672/"
)


def require_rabbitmq() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            pass
    except OSError as exc:
        require(
            False,
            f"!!! RabbitMQ on 127.0.0.1:5672 is not answering ({exc}): "
            "run scripts/ensure-rabbitmq.sh",
        )


def private_rpc_section(tmp: Path, call_timeout: int = 2) -> tuple[str, dict[str, str]]:
    """Config lines isolating one test run on the broker, and the names they chose.

    Queues are auto-deleted with their last consumer, so a run leaves nothing behind.
    """
    run = uuid.uuid4().hex[:10]
    names = {
        "exchange": f"dockyard-test-{run}",
        "compute_topic": f"dockyard-compute-{run}",
        "conductor_topic": f"dockyard-conductor-{run}",
    }
    lines = [
        "[rpc]",
        f"call_timeout = {call_timeout}",
        "send_retries = 1",
        *(f"{key} = {value}" for key, value in names.items()),
        "[oslo_messaging_rabbit]",
        "amqp_auto_delete = true",
        "",
    ]
    return "\n".join(lines), names
