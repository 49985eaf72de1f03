"""FastAPI application of a node: ``POST /api/v1/inbox`` takes an envelope and answers with a
signed receipt; ``GET /api/v1/health``; ``GET /api/v1/directory`` serves the directory the node
verified. Routes only translate HTTP; the work is in ``services.federation``."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from hanoinet import __version__, boundedjson
from hanoinet.cases.approval import DEFAULT_POLICY, Policy
from hanoinet.exchange.envelope import MAX_BYTES
from hanoinet.services.cases import ACK_TARGETS
from hanoinet.services.federation import NodeContext, receive, receive_batch
from hanoinet.services.stats import DEFAULT_THRESHOLD
from hanoinet.web import (
    api,
    articles,
    auth,
    documents,
    drafting,
    evidence,
    evidence_pages,
    pages,
    public,
    statistics,
    users,
)
from hanoinet.web import openapi as doc
from hanoinet.web.common import Web, message_page
from hanoinet.web.limits import MAX_BATCH_BYTES, BodyLimits, Limits
from hanoinet.web.render import N_
from hanoinet.web.requestlog import RequestLog

JOSE = doc.JOSE
MAX_BATCH = 200
HSTS = "max-age=31536000"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


INBOX_BODY = {
    "required": True,
    "content": {
        doc.JOSE: {
            "schema": {
                "type": "string",
                "maxLength": MAX_BYTES,
                "description": "An envelope: a compact JWS over a compact JWE (docs/exchange.md)",
            }
        }
    },
}
BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["envelopes"],
                "properties": {
                    "envelopes": {
                        "type": "array",
                        "maxItems": MAX_BATCH,
                        "items": {"type": "string", "description": "An envelope"},
                    }
                },
            }
        }
    },
}


def _private(request: Request) -> bool:
    """Whether the answer may hold case content, or anything a logged-in user sees: every
    answer of the API and every page of a session. Never kept by a browser or a proxy."""
    path = request.url.path
    if path.startswith("/static/"):
        return False
    return path.startswith("/api/") or auth.SESSION_COOKIE in request.cookies


def settle_heap() -> None:
    """Once the app is built and before it serves: move every object alive now (the
    convention's data, templates, catalogs) out of the garbage collector's sight. Without
    this, a full collection walks them every few dozen pages, 90-220 ms each time on a 2-core
    machine: the desk's p99 (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


def create_app(
    ctx: NodeContext,
    *,
    directory_token: str | None = None,
    clock: Callable[[], datetime] | None = None,
    ack_targets: dict[str, timedelta] | None = None,
    approval: Policy = DEFAULT_POLICY,
    evidence_dir: Path | None = None,
    stats_threshold: int = DEFAULT_THRESHOLD,
    limits: Limits | None = None,
    mailer: Any = None,
    delivery_alarm: timedelta = timedelta(minutes=15),
    transfer_alarm: timedelta = timedelta(minutes=30),
) -> FastAPI:
    now = clock or (lambda: datetime.now(UTC))
    app = FastAPI(
        title=f"hanoinet node {ctx.node_id}",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )

    @app.post(
        "/api/v1/inbox",
        summary="Deliver an envelope; returns a signed receipt",
        response_model=doc.InboxReceipt,
        responses={
            422: {"model": doc.InboxReceipt, "description": "Refused: the receipt's reason"}
        },
        openapi_extra={"requestBody": INBOX_BODY},
    )
    async def inbox(request: Request) -> JSONResponse:
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BYTES:
                break
        token = body.decode("ascii", errors="replace")
        # Verification and the database commit block: run them off the event loop so that
        # several envelopes can be handled at once.
        receipt = await run_in_threadpool(receive, ctx, token, now=now())
        status = 200 if receipt.status == "delivered" else 422
        return JSONResponse(
            {"receipt": receipt.token, "status": receipt.status, "reason": receipt.reason},
            status_code=status,
        )

    @app.post(
        "/api/v1/inbox/batch",
        summary="Deliver several envelopes; one signed receipt naming each",
        response_model=doc.BatchReceipt,
        responses=doc.problems(400, 413),
        openapi_extra={"requestBody": BATCH_BODY},
    )
    async def inbox_batch(request: Request) -> JSONResponse:
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BATCH_BYTES:
                return api.problem(
                    413, "Batch too large", f"at most {MAX_BATCH_BYTES} bytes", "batch_too_large"
                )
        try:
            envelopes = boundedjson.loads(bytes(body), max_bytes=MAX_BATCH_BYTES, what="the batch")[
                "envelopes"
            ]
            if not isinstance(envelopes, list) or not all(isinstance(e, str) for e in envelopes):
                raise ValueError("envelopes must be a list of strings")
        except boundedjson.TooDeep as exc:
            return api.problem(400, "Not a batch", exc.message, "not_a_batch")
        except (ValueError, KeyError, TypeError) as exc:
            return api.problem(
                400,
                "Not a batch",
                f'expected {{"envelopes": [compact JWS, ...]}}: {exc}',
                "not_a_batch",
            )
        if len(envelopes) > MAX_BATCH:
            return api.problem(
                413, "Batch too large", f"at most {MAX_BATCH} envelopes", "batch_too_large"
            )
        receipts = await run_in_threadpool(receive_batch, ctx, envelopes, now=now())
        return JSONResponse({"receipt": receipts[0].token if receipts else None})

    @app.get(
        "/api/v1/health",
        summary="Liveness and the directory version in use",
        response_model=doc.Health,
    )
    def health() -> dict[str, object]:
        return {
            "node": ctx.node_id,
            "directory_version": ctx.directory.version,
            "version": __version__,
        }

    @app.get(
        "/api/v1/ready",
        summary="Readiness: database, directory, keys, outbox backlog",
        response_model=doc.Ready,
        responses={503: {"model": doc.Ready, "description": "Not ready: the failed checks"}},
    )
    def ready() -> JSONResponse:
        from hanoinet.services.operations import readiness

        found = readiness(ctx, now=now(), alarm=delivery_alarm)
        return JSONResponse(found.as_dict(), status_code=200 if found.ready else 503)

    @app.get(
        "/api/v1/directory",
        summary="The signed directory this node verified",
        response_class=Response,
        responses={
            200: {
                "description": "The directory: a compact JWS (docs/exchange.md)",
                "content": {JOSE: {"schema": {"type": "string"}}},
            },
            **doc.problems(404),
        },
    )
    def directory() -> Response:
        if directory_token is None:
            return api.problem(
                404, "No directory", "this node serves no signed directory", "no_directory"
            )
        return Response(directory_token, media_type=JOSE)

    generated = app.openapi
    bounds = limits or Limits()

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = doc.complete(generated(), bounds.of)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.web = Web(
        ctx,
        now,
        directory_token,
        dict(ack_targets or ACK_TARGETS),
        approval,
        evidence_dir,
        stats_threshold,
        mailer,
        transfer_alarm,
    )
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("hanoinet.web") / "static")),
        name="static",
    )
    app.include_router(api.router)
    app.include_router(evidence.router)
    app.include_router(pages.router)
    app.include_router(evidence_pages.router)
    app.include_router(documents.router)
    app.include_router(drafting.router)
    app.include_router(articles.router)
    app.include_router(statistics.router)
    app.include_router(users.router)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": "/".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        where = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        return api.problem(422, "Invalid request", where, "invalid_input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # The exception's headers matter: a 405 names the allowed methods (Allow, RFC 9110).
        if request.url.path.startswith("/api/"):
            return api.problem(
                exc.status_code,
                str(exc.detail),
                str(exc.detail),
                "http_error",
                headers=exc.headers,
            )
        if exc.status_code == 404 and request.method in ("GET", "HEAD"):
            # A page that does not exist is a page, in the reader's language, with a way on.
            return message_page(
                request,
                N_("Not found"),
                N_("Not found"),
                N_("It does not exist on this node, or your role does not show it."),
                404,
            )
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)

    app.include_router(public.router)
    # Inside the security headers, so that a refusal carries them too (the last added is the
    # outermost).
    app.add_middleware(BodyLimits, limits=bounds)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("content-security-policy", CSP)
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("x-frame-options", "DENY")
        response.headers.setdefault("referrer-policy", "no-referrer")
        if _private(request):
            response.headers.setdefault("cache-control", "no-store")
        if request.url.scheme == "https":
            # the scheme as the client used it: uvicorn reads X-Forwarded-Proto from the
            # proxies it trusts (FORWARDED_ALLOW_IPS, loopback by default)
            response.headers.setdefault("strict-transport-security", HSTS)
        return response

    # Outermost: every request is logged once, with its id, whatever answered it.
    app.add_middleware(RequestLog)
    return app
