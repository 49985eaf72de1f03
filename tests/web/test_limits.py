"""Request bodies bounded before the app reads them: the middleware at the ASGI level, with an
app that records what it was given."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from hanoinet.evidence.offer import MAX_CHUNK_SIZE
from hanoinet.exchange.envelope import MAX_BYTES
from hanoinet.law.document import MAX_DOCUMENT_BYTES
from hanoinet.web.limits import DRAFT_FORM_BYTES, MAX_BATCH_BYTES, BodyLimits, Limits

LIMITS = Limits(api_body_bytes=1000, form_body_bytes=500, json_depth=5)


class Recorder:
    """An app that reads the whole body as a stream and answers its length."""

    def __init__(self) -> None:
        self.called = False
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        async for chunk in Request(scope, receive).stream():
            self.read += len(chunk)
        await JSONResponse({"read": self.read})(scope, receive, send)


def _call(
    method: str,
    path: str,
    chunks: list[bytes],
    *,
    length: int | None = None,
    content_type: bytes = b"application/json",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> tuple[int, dict[bytes, bytes], bytes, Recorder, int]:
    """Run one request through the middleware; returns status, headers, body, the app and how
    many body messages the client was asked for."""
    app = Recorder()
    sent: list[Message] = []
    asked = 0
    given = list(chunks)
    head = [(b"content-type", content_type), *headers]
    head.append(
        (b"content-length", str(length).encode())
        if length is not None
        else (b"transfer-encoding", b"chunked")
    )
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": head,
        "scheme": "http",
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> Message:
        nonlocal asked
        asked += 1
        if not given:
            return {"type": "http.disconnect"}
        body = given.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(given)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(BodyLimits(app, LIMITS)(scope, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body, app, asked


def test_a_body_announced_too_large_is_refused_unread() -> None:
    status, headers, body, app, asked = _call(
        "POST", "/api/v1/cases", [b"x" * 10], length=104_857_600
    )
    assert (status, asked, app.called) == (413, 0, False)
    problem = json.loads(body)
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"connection"] == b"close"
    assert problem["code"] == "too_large"
    assert problem["status"] == 413
    assert "104,857,600 bytes" in problem["detail"]
    assert "at most 1,000" in problem["detail"]
    assert "HANOINET_MAX_API_BODY_BYTES" in problem["detail"]


def test_a_streamed_body_is_refused_once_past_the_limit() -> None:
    status, _headers, body, app, asked = _call("POST", "/api/v1/check", [b"x" * 400] * 1000)
    assert status == 413
    assert json.loads(body)["code"] == "too_large"
    assert app.called is False
    assert asked == 3  # 1,200 bytes: no more was asked for


def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    status, _headers, body, app, _asked = _call("POST", "/api/v1/check", [b"[1,", b"2]"])
    assert status == 200
    assert json.loads(body) == {"read": 5}
    assert app.called


def test_json_nested_past_the_limit_is_refused_with_the_limit_named() -> None:
    status, _headers, body, app, _asked = _call("POST", "/api/v1/cases", [b"[" * 6 + b"]" * 6])
    problem = json.loads(body)
    assert (status, problem["code"], app.called) == (422, "too_deep", False)
    assert "nests 6 levels deep; at most 5" in problem["detail"]
    assert "HANOINET_MAX_JSON_DEPTH" in problem["detail"]
    status, *_rest = _call("POST", "/api/v1/cases", [b"[" * 5 + b"]" * 5])
    assert status == 200


def test_a_hundred_thousand_brackets_are_refused_not_parsed() -> None:
    status, _headers, _body, app, _asked = _call("POST", "/api/v1/check", [b"[" * 100_000])
    # over the byte limit first; with room for them, over the depth limit
    assert (status, app.called) == (413, False)
    roomy = Limits(api_body_bytes=200_000, json_depth=32)
    app2 = Recorder()
    sent: list[Message] = []

    async def run() -> None:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/check",
            "headers": [(b"content-length", b"100000")],
        }
        given = [b"[" * 100_000]

        async def receive() -> Message:
            return {"type": "http.request", "body": given.pop(), "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await BodyLimits(app2, roomy)(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 422
    assert "100000 levels deep" in json.loads(sent[1]["body"])["detail"]


def test_depth_is_not_judged_for_a_form() -> None:
    form = b"a=" + b"[" * 50
    status, *_rest = _call(
        "POST", "/drafts/new", [form], content_type=b"application/x-www-form-urlencoded"
    )
    assert status == 200


def test_a_form_post_too_large_gets_a_short_text_in_the_readers_language() -> None:
    status, headers, body, app, _asked = _call(
        "POST",
        "/requests/R-000001/act",
        [b"a=1"],
        length=501,
        content_type=b"application/x-www-form-urlencoded",
        headers=((b"accept-language", b"fr-FR,fr;q=0.9"),),
    )
    assert (status, app.called) == (413, False)
    assert headers[b"content-type"].startswith(b"text/plain")
    assert "Trop" in body.decode()  # the French catalog's text
    status, _headers, body, _app, _asked = _call(
        "POST", "/login", [b"a=1"], length=501, content_type=b"application/x-www-form-urlencoded"
    )
    assert status == 413
    assert body.decode().startswith("Too large")


def test_the_drafting_wizard_takes_what_a_document_at_its_limit_needs() -> None:
    limit, streamed, setting = LIMITS.of("POST", "/drafts/R-000001")
    assert (limit, streamed, setting) == (DRAFT_FORM_BYTES, False, "")
    assert limit >= 6 * MAX_DOCUMENT_BYTES  # the draft and the step, each percent-encoded
    status, *_rest = _call(
        "POST", "/drafts/R-000001", [b"a=1"], length=limit + 1, content_type=b"multipart/x"
    )
    assert status == 413


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/api/v1/inbox", MAX_BYTES),
        ("POST", "/api/v1/inbox/batch", MAX_BATCH_BYTES),
        ("PUT", "/api/v1/evidence/EV-xa-ca-1/chunks/0", MAX_CHUNK_SIZE),
    ],
)
def test_peer_routes_keep_their_formats_limits(method: str, path: str, limit: int) -> None:
    assert LIMITS.of(method, path) == (limit, True, "")
    status, _headers, body, app, _asked = _call(method, path, [b"x"], length=limit + 1)
    assert (status, app.called) == (413, False)
    assert "at most" in json.loads(body)["detail"]
    status, _headers, body, _app, _asked = _call(method, path, [b"x" * 1000], length=1000)
    assert (status, json.loads(body)) == (200, {"read": 1000})


def test_a_streamed_peer_body_stops_the_route_and_gets_413() -> None:
    chunk = b"x" * (1 << 20)
    status, _headers, body, app, asked = _call("POST", "/api/v1/inbox", [chunk] * 100)
    assert status == 413
    assert json.loads(body)["code"] == "too_large"
    assert app.called  # it read as a stream, and was stopped
    assert app.read <= MAX_BYTES
    assert asked == 3


def test_a_length_that_is_not_a_number_is_refused() -> None:
    app = Recorder()
    sent: list[Message] = []

    async def run() -> None:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/check",
            "headers": [(b"content-length", b"12x")],
        }

        async def receive() -> Message:
            raise AssertionError("read")

        async def send(message: Message) -> None:
            sent.append(message)

        await BodyLimits(app, LIMITS)(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 400
    assert not app.called


def test_a_request_without_a_body_passes_untouched() -> None:
    app = Recorder()
    sent: list[Message] = []

    async def run() -> None:
        scope = {"type": "http", "method": "GET", "path": "/api/v1/health", "headers": []}

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await BodyLimits(app, LIMITS)(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 200
    assert app.called
