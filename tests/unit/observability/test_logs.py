"""Log lines name their request, as text or as JSON objects."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from dockyard.observability.context import RequestScope, bound
from dockyard.observability.logs import JsonFormatter, RequestFilter


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestFilter())
    logger = logging.getLogger("tests.observability.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_request_and_the_caller(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    with bound(RequestScope("req-42", "alice", "proj")):
        logger.info("doing %s", "work", extra={"audit": {"container": "c1"}})
    logger.warning("periodic")

    first, second = lines(stream)
    assert first["message"] == "doing work"
    assert first["level"] == "INFO"
    assert first["logger"] == "tests.observability.logs"
    assert (first["request_id"], first["user_id"], first["project_id"]) == (
        "req-42",
        "alice",
        "proj",
    )
    assert first["audit"] == {"container": "c1"}
    assert str(first["time"]).endswith("+00:00")
    assert second["request_id"] is None and second["message"] == "periodic"
    assert "request_tag" not in first and "args" not in first


def test_json_lines_hold_the_traceback_on_one_line(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    [line] = lines(stream)
    assert "ValueError: boom" in str(line["exception"])
    assert stream.getvalue().count("\n") == 1


def test_text_lines_show_the_request_id_only_when_there_is_one(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s%(request_tag)s: %(message)s"))
    with bound(RequestScope("req-7")):
        logger.info("inside")
    logger.info("outside")
    assert stream.getvalue().splitlines() == [
        "INFO tests.observability.logs [req-7]: inside",
        "INFO tests.observability.logs: outside",
    ]
