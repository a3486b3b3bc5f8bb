"""Log records that name their request, as text or as one JSON object per line."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from dockyard.observability.context import current

#: Attributes every LogRecord has; anything else on a record was passed as ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "user_id",
    "project_id",
    "request_tag",
}


class RequestFilter(logging.Filter):
    """Stamps each record with the request it was logged for (empty strings: none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scope = current()
        if not hasattr(record, "request_id"):
            record.request_id = scope.request_id if scope else ""
        if not hasattr(record, "user_id"):
            record.user_id = scope.user_id if scope else ""
        if not hasattr(record, "project_id"):
            record.project_id = scope.project_id if scope else ""
        rid = getattr(record, "request_id", "")
        record.request_tag = f" [{rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, process,
    thread, the request's id and caller, any ``extra`` fields, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
            "request_id": getattr(record, "request_id", "") or None,
            "user_id": getattr(record, "user_id", "") or None,
            "project_id": getattr(record, "project_id", "") or None,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


def configure(*, debug: bool, json_lines: bool, with_pid: bool) -> None:
    """Log to standard error at INFO (DEBUG with ``debug``), as text or JSON lines."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        process = " %(process)d" if with_pid else ""
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s{process} %(levelname)s %(name)s%(request_tag)s: %(message)s"
            )
        )
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler])
