"""One JSON line per HTTP request, with a request id (docs/operations.md).

The id is the caller's ``X-Request-Id`` when it is a plain token (a proxy's, to follow one
request across both logs), else a new one; it goes back in the response's ``X-Request-Id``.
The line names the route as declared (``/requests/{ident}``), never the path as asked: a
path holds request and case ids, and a log is read by more people than the cases are. No
query string, no user name, no body. A pure ASGI middleware: nothing is buffered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanoinet.logs import configure

__all__ = ["LOG", "RequestLog", "configure"]

LOG = logging.getLogger("hanoinet.access")
GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if GIVEN_ID.match(given) else uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            LOG.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope.get("method", ""),
                        "route": getattr(route, "path", None) or "(no route)",
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                },
            )
