"""One JSON line per request with its id (issue 25 item 3): the route as declared, never
the path with its ids, nor the query, nor a user name; the caller's plain id is kept, any
other replaced."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hanoinet import logs
from hanoinet.web.app import create_app

from ..services import test_federation
from ..services.test_federation import T0, _send

world = test_federation.world


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger("hanoinet")
    saved = (root.handlers[:], root.level, root.propagate)
    logs.configure(stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level, root.propagate = saved


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_request_is_one_json_line_with_its_id_and_route(
    world: dict[str, Any], logged: io.StringIO
) -> None:
    ctx = world["ctx"]["xa-ca"]
    rid = _send(world)
    client = TestClient(create_app(ctx, clock=lambda: T0))
    given = client.get("/api/v1/health", headers={"X-Request-Id": "proxy-7f3a.1"})
    assert given.headers["x-request-id"] == "proxy-7f3a.1"
    hostile = client.get("/api/v1/health", headers={"X-Request-Id": 'x"\n{"level":"forged"}'})
    made = hostile.headers["x-request-id"]
    assert len(made) == 32 and made.isalnum()
    client.get(f"/requests/{rid}?secret=carl", follow_redirects=False)  # to log in
    lines = _lines(logged)
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("GET", "/api/v1/health", 200),
        ("GET", "/api/v1/health", 200),
        ("GET", "/requests/{ident}", 303),
    ]
    assert [x["request_id"] for x in lines[:2]] == ["proxy-7f3a.1", made]
    assert all(x["logger"] == "hanoinet.access" and x["ms"] >= 0 for x in lines)
    text = logged.getvalue()
    assert rid not in text and "secret" not in text and "carl" not in text
