"""Every request body bounded before any route, authentication or parser reads it (docs/limits.md).

An ASGI middleware in front of the whole app. For each request it finds the route's limit:

- the peer routes take the limits of their formats, which every node shares (a node that
  accepted less would refuse its peers' legitimate messages): the inbox an envelope
  (``exchange.envelope.MAX_BYTES``), the batch inbox ``MAX_BATCH_BYTES``, an evidence offer
  ``MAX_OFFER_BYTES``, a chunk ``evidence.offer.MAX_CHUNK_SIZE``; their routes read the body
  as a stream, so it is counted as it arrives and never held here;
- the rest of ``/api/`` the JSON API's limit (``HANOINET_MAX_API_BODY_BYTES``), the desk's
  form posts theirs (``HANOINET_MAX_FORM_BODY_BYTES``), the drafting wizard's the room a
  request document needs (``DRAFT_FORM_BYTES``): small enough to read whole here,
  which lets JSON be measured for depth (``HANOINET_MAX_JSON_DEPTH``) before FastAPI's parser
  recurses into it.

A body announced larger than its limit (``Content-Length``) is refused at once, unread; a
body sent without a length (chunked) is refused as soon as it passes the limit. The answer is
413 and the connection is closed: RFC 9457 problem JSON under ``/api/`` (what a program
reads), a short plain text in the reader's language elsewhere (a browser shows it as it is;
a form post cannot be answered with the page it came from, whose data was not read). JSON
nested deeper than the limit is 422 ``too_deep``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hanoinet.boundedjson import MAX_DEPTH, depth_over
from hanoinet.evidence.offer import MAX_CHUNK_SIZE
from hanoinet.exchange.envelope import MAX_BYTES
from hanoinet.law.document import MAX_DOCUMENT_BYTES
from hanoinet.services.outside import MAX_ATTACHMENT_BYTES
from hanoinet.web.api import problem
from hanoinet.web.evidence import MAX_OFFER_BYTES
from hanoinet.web.render import N_, choose_language, translations

MAX_BATCH_BYTES = 16 << 20
"""The batch inbox: 200 envelopes of the usual few kilobytes, with room."""
API_BODY_BYTES = 1 << 20
"""The JSON API: a request document (at most 512 KiB, law/document.py) written with escapes."""
FORM_BODY_BYTES = 256 << 10
"""The desk's form posts (log-in, actions with their reasons, statistics): a few fields of at
most a few thousand characters each, percent-encoded."""
DRAFT_FORM_BYTES = 6 * MAX_DOCUMENT_BYTES
"""A step of the drafting wizard posts the draft itself (for the live check) and the step's
fields, percent-encoded: up to three bytes for each byte of UTF-8, twice, for a document the
format allows (law/document.py). Fixed by the format, as the peer routes' limits are."""
TOO_LARGE = N_("Too large: this form sends more than this node accepts. Shorten the text.")
BAD_LENGTH = N_("Bad request: the length of what was sent is not a number.")
_CHUNK = re.compile(r"^/api/v1/evidence/[^/]+/chunks/[^/]+$")
_LETTER = re.compile(r"^(/requests/[^/]+/letters|/drafts/[^/]+/register)$")
LETTER_BODY_BYTES = MAX_ATTACHMENT_BYTES + (1 << 20)
"""A letter or e-mail recorded from the case page (or registered from the wizard): one scan (``services/outside.py``) and a
few fields. Read as a stream: the form's file is spooled to disk as it arrives, never held."""
_STREAMED = {
    ("POST", "/api/v1/inbox"): MAX_BYTES,
    ("POST", "/api/v1/inbox/batch"): MAX_BATCH_BYTES,
    ("POST", "/api/v1/evidence/offers"): MAX_OFFER_BYTES,
}


@dataclass(frozen=True)
class Limits:
    """The node's limits on what a client sends (docs/limits.md; settings HANOINET_MAX_*)."""

    api_body_bytes: int = API_BODY_BYTES
    form_body_bytes: int = FORM_BODY_BYTES
    json_depth: int = MAX_DEPTH

    def of(self, method: str, path: str) -> tuple[int, bool, str]:
        """The route's limit in bytes, whether its route reads the body as a stream, and the
        setting that changes it (empty: fixed by the format every node shares)."""
        fixed = _STREAMED.get((method, path))
        if fixed is not None:
            return fixed, True, ""
        if method == "PUT" and _CHUNK.match(path):
            return MAX_CHUNK_SIZE, True, ""
        if method == "POST" and _LETTER.match(path):
            return LETTER_BODY_BYTES, True, ""
        if path.startswith("/api/"):
            return self.api_body_bytes, False, "HANOINET_MAX_API_BODY_BYTES"
        if path.startswith("/drafts/"):
            return DRAFT_FORM_BYTES, False, ""
        return self.form_body_bytes, False, "HANOINET_MAX_FORM_BODY_BYTES"


class _Overflow(Exception):
    """A streamed body passed its limit (raised from ``receive`` into the route)."""


class BodyLimits:
    """The middleware: ``app.add_middleware(BodyLimits, limits=...)``."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit, streamed, setting = self.limits.of(method, path)
        where = f"the body of {method} {path}"
        announced = _content_length(scope)
        if announced is None:
            await _refuse(scope, send, 400, "Bad Content-Length", "Content-Length is not a number")
            return
        if announced > limit:
            await _too_large(scope, send, f"{where} is {announced:,} bytes", limit, setting)
            return
        if streamed:
            await self._stream(scope, receive, send, where, limit)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await _too_large(scope, send, f"{where} is over {limit:,} bytes", limit, setting)
                return
            if not message.get("more_body", False):
                break
        if path.startswith("/api/") and _is_json(scope):
            found = depth_over(bytes(body), self.limits.json_depth)
            if found is not None:
                detail = (
                    f"{where} nests {found} levels deep; at most {self.limits.json_depth} are "
                    "accepted (HANOINET_MAX_JSON_DEPTH)"
                )
                await _refuse(scope, send, 422, "Nested too deeply", detail, "too_deep")
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _stream(
        self, scope: Scope, receive: Receive, send: Send, where: str, limit: int
    ) -> None:
        """Count the body as the route reads it; past the limit the route stops (``_Overflow``)
        and the client gets 413, whatever the route would have answered."""
        seen = 0
        overflowed = False
        started = False

        async def counted() -> Message:
            nonlocal seen, overflowed
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    overflowed = True
                    raise _Overflow
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if overflowed:
                return  # the route's own answer to a body cut short: replaced by the 413
            started = True
            await send(message)

        with contextlib.suppress(_Overflow):
            await self.app(scope, counted, watched)
        if overflowed and not started:
            await _too_large(scope, send, f"{where} is over {limit:,} bytes", limit, "")


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"


def _content_length(scope: Scope) -> int | None:
    """The announced length (0 when none is announced), or None when it is not a number."""
    value = dict(scope["headers"]).get(b"content-length", b"0")
    return int(value) if value.isdigit() else None


def _is_json(scope: Scope) -> bool:
    kind = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind == b"application/json" or kind.endswith(b"+json") or not kind


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the app: the body read here, then the client's own (its disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _too_large(scope: Scope, send: Send, what: str, limit: int, setting: str) -> None:
    detail = f"{what}; at most {limit:,} are accepted" + (f" ({setting})" if setting else "")
    await _refuse(scope, send, 413, "Too large", detail, "too_large")


async def _refuse(
    scope: Scope, send: Send, status: int, title: str, detail: str, code: str = "bad_request"
) -> None:
    """Answer without reading on, and close: what the client still sends is not read."""
    closing = {"connection": "close", "cache-control": "no-store"}
    response: Response
    if scope["path"].startswith("/api/"):
        response = problem(status, title, detail, code, headers=closing)
    else:
        text = translations(choose_language(Request(scope))).ugettext(
            TOO_LARGE if status == 413 else BAD_LENGTH
        )
        response = PlainTextResponse(text, status_code=status, headers=closing)
    await response(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
