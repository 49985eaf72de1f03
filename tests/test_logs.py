"""logs.py: one JSON object per line, the event's fields beside the standard ones."""

from __future__ import annotations

import io
import json
import logging

from hanoinet import logs


def test_an_event_is_one_json_line_with_its_fields() -> None:
    stream = io.StringIO()
    root = logging.getLogger("hanoinet")
    saved = (root.handlers[:], root.level, root.propagate)
    logs.configure(stream)
    try:
        logs.event(
            logging.getLogger("hanoinet.worker"), "delivery", outbox=7, detail='a "quote"\nb'
        )
        logs.event(
            logging.getLogger("hanoinet.worker"), "NOT DELIVERED", logging.WARNING, attempts=3
        )
        logs.event(logging.getLogger("hanoinet.worker"), "x", ts="forged", where="y")
    finally:
        root.handlers[:], root.level, root.propagate = saved
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert third["ts"] != "forged" and third["where"] == "y"  # a field never replaces ts
    assert first["message"] == "delivery" and first["outbox"] == 7
    assert first["detail"] == 'a "quote"\nb'  # a newline in a field never starts a new line
    assert first["logger"] == "hanoinet.worker" and first["level"] == "info"
    assert first["ts"].endswith("+00:00")
    assert (second["level"], second["attempts"]) == ("warning", 3)
