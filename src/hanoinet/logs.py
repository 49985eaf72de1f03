"""hanoinet's logs: JSON lines on stderr, one object per event (docs/operations.md).

``hanoinet serve`` logs each HTTP request (web/requestlog.py) and ``hanoinet worker`` each
thing it does (a delivery, a formal document, a clock that fired, a NOT DELIVERED alarm).
Every line has ``ts`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, then the
event's own fields. No case content, no user name, no secret.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time (UTC, ISO 8601), level, logger, message, and
    the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", {})
        line.update((k, v) for k, v in fields.items() if k not in line)  # never over ts, level
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def configure(stream: Any = None) -> None:
    """hanoinet's loggers write JSON lines to ``stream`` (stderr by default)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("hanoinet")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``message`` with ``fields`` as one JSON line (when ``configure`` was called)."""
    logger.log(level, message, extra={"fields": fields})
