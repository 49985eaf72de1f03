"""``hanoinet serve`` and ``hanoinet worker``: a running node."""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated, Any
from urllib.parse import urlparse

import typer

from hanoinet import logs
from hanoinet.cli.output import console, fail, user_errors
from hanoinet.documents import typesetter
from hanoinet.errors import HanoinetError
from hanoinet.exchange.transport import HttpTransport
from hanoinet.logs import event
from hanoinet.services import cases as case_service
from hanoinet.services import documents, federation, runtime, transfer
from hanoinet.settings import Settings, load_settings

WORKER_LOG = logging.getLogger("hanoinet.worker")
VERIFY_IDLE_SECONDS = 1.0
"""How often the worker's verifier looks for evidence waiting, when it found none."""


def serve_command(
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default: from the node's endpoint)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default: from the node's endpoint).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port and the node's database (one per core).",
        ),
    ] = 1,
) -> None:
    """Run this node's inbox and API (an ASGI server) until stopped."""
    from hanoinet.web import server

    settings = load_settings()
    with user_errors():
        ctx, signed = runtime.load_context(settings, datetime.now(UTC))
    endpoint = urlparse(ctx.me.endpoint)
    console.print(
        f"hanoinet node {ctx.node_id} listening on {ctx.me.endpoint} "
        f"(directory version {signed.directory.version}"
        f"{f', {workers} processes' if workers > 1 else ''})",
        markup=False,
    )
    address = host or endpoint.hostname or "127.0.0.1"
    number = port or endpoint.port or 8000
    _metrics(ctx, settings)
    if workers == 1:
        server.run(_app(ctx, signed.token, settings), host=address, port=number)
        return
    # Each process builds its own app (its own keys in memory, its own database pool) from
    # the same settings and they share the listening socket. Verification runs in parallel;
    # writes are serialized by the database (SQLite's lock file, PostgreSQL's rows).
    ctx.store.dispose()
    server.run(f"{__name__}:app_from_settings", host=address, port=number, workers=workers)


def _app(ctx: federation.NodeContext, directory_token: str, settings: Settings) -> Any:
    from hanoinet.services.outside import Mailer
    from hanoinet.web.app import create_app, settle_heap
    from hanoinet.web.limits import Limits

    app = create_app(
        ctx,
        directory_token=directory_token,
        ack_targets=settings.ack_targets(),
        approval=settings.approval,
        evidence_dir=settings.data_dir / "evidence",
        stats_threshold=settings.stats_threshold,
        limits=Limits(
            settings.max_api_body_bytes, settings.max_form_body_bytes, settings.max_json_depth
        ),
        mailer=Mailer.from_settings(settings),
        delivery_alarm=timedelta(minutes=settings.delivery_alarm_minutes),
        transfer_alarm=timedelta(minutes=settings.transfer_alarm_minutes),
    )
    typesetter.configure(typesetter.Bounds(*settings.render_bounds()))
    logs.configure()  # one JSON line per request on stderr, with its id (web/requestlog.py)
    settle_heap()
    return app


def _metrics(ctx: federation.NodeContext, settings: Settings) -> None:
    """The Prometheus listener (HANOINET_METRICS_PORT), in this process only: the figures
    come from the database, the same for every server process (web/metrics.py)."""
    if settings.metrics_port is None:
        return
    from hanoinet.web import metrics

    collected = metrics.registry(
        ctx,
        lambda: datetime.now(UTC),
        timedelta(minutes=settings.delivery_alarm_minutes),
        settings.ack_targets(),
    )
    try:
        metrics.serve(settings.metrics_host, settings.metrics_port, collected)
    except OSError as exc:
        fail(
            f"HANOINET_METRICS_PORT {settings.metrics_port}: cannot listen on "
            f"{settings.metrics_host}: {exc.strerror}"
        )
    console.print(
        f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics",
        markup=False,
    )


def app_from_settings() -> Any:
    """The app of one server process of ``serve --workers N`` (uvicorn calls it in each)."""
    settings = load_settings()
    ctx, signed = runtime.load_context(settings, datetime.now(UTC))
    return _app(ctx, signed.token, settings)


def _verify_evidence(
    ctx: federation.NodeContext,
    evidence_dir: Any,
    stopping: Any,
    interval: float,
    once: bool,
    lease: timedelta,
) -> None:
    """The worker's verifier: one package at a time, each decision logged; a failure of this
    node (database, disk) is logged and the package tried again once its lease ends."""
    while not stopping():
        try:
            decided = transfer.verify_waiting(ctx, evidence_dir, lease=lease)
        except Exception as exc:  # logged, never the end of the worker
            event(
                WORKER_LOG, "evidence verification failed", logging.ERROR, error=type(exc).__name__
            )
            decided = []
        for d in decided:
            event(
                WORKER_LOG, "evidence verified",
                package=d.package, state=d.state, problems=[p.get("code") for p in d.problems],
            )  # fmt: skip
        if once and not decided:
            return
        if not decided:  # at most once a second: each look takes SQLite's write lock
            time.sleep(max(interval, VERIFY_IDLE_SECONDS))


def _send_evidence(
    ctx: federation.NodeContext,
    stopping: Any,
    interval: float,
    once: bool,
    lease: timedelta,
    actor: str,
) -> None:
    """The worker's sender: the oldest transfer due, chunk by chunk, under a lease renewed with
    every chunk (a worker killed mid-transfer leaves it to another once the lease ends, and the
    next one resumes at the receiver's count); a failure is counted and retried after a backoff,
    its reason on the case page and in ``evidence list``."""
    transport = HttpTransport()
    try:
        while not stopping():
            owner, package = uuid.uuid4().hex, None
            try:
                package = transfer.claim_due(ctx, owner=owner, lease=lease, now=datetime.now(UTC))
                if package is not None:
                    sent = transfer.send(
                        ctx, transport, package, actor=actor, owner=owner, lease=lease, attempts=3,
                        clock=lambda: datetime.now(UTC), stop=stopping,
                    )  # fmt: skip
                    event(
                        WORKER_LOG, "evidence sent", package=package, state=sent.state,
                        chunks_sent=sent.sent, resumed_at_chunk=sent.resumed_at,
                    )  # fmt: skip
            except HanoinetError as exc:  # counted on the transfer, tried again after backoff
                event(
                    WORKER_LOG,
                    "evidence not sent",
                    logging.WARNING,
                    package=package,
                    error=str(exc),
                )
            except Exception as exc:  # logged, never the end of the worker
                event(
                    WORKER_LOG, "evidence sending failed", logging.ERROR, error=type(exc).__name__
                )
            if once and package is None:
                return
            if package is None:
                time.sleep(max(interval, VERIFY_IDLE_SECONDS))
    finally:
        transport.close()


def worker_command(
    interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds.")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Do one round and exit.")] = False,
    lease: Annotated[
        float,
        typer.Option(
            "--lease",
            help="Seconds a claimed message, an evidence transfer or a verification is reserved before another worker may take it over (after a crash); transfers and verifications renew it as they go.",
        ),
    ] = 60.0,
) -> None:
    """Deliver the outbox and send queued evidence (retries with backoff), verify evidence that arrived, issue formal documents and fire clocks, until stopped."""
    settings = load_settings()
    with user_errors():
        ctx, signed = runtime.load_context(settings, datetime.now(UTC))
    typesetter.configure(typesetter.Bounds(*settings.render_bounds()))
    transport = HttpTransport()
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    alarm = timedelta(minutes=settings.delivery_alarm_minutes)
    stall = timedelta(minutes=settings.transfer_alarm_minutes)
    evidence_dir = settings.data_dir / runtime.EVIDENCE
    last_tick = 0.0
    root = logging.getLogger("hanoinet")
    saved = (root.handlers[:], root.level, root.propagate)
    logs.configure()  # one JSON line per thing done, on stderr (docs/operations.md)
    event(WORKER_LOG, "worker started", node=ctx.node_id, interval_s=interval)
    # Evidence that arrived whole is verified in a thread of its own: a package of hundreds
    # of GB takes hours, while messages, documents and clocks go on every round.
    verifier = threading.Thread(
        target=_verify_evidence,
        args=(ctx, evidence_dir, lambda: stopping, interval, once, timedelta(seconds=lease)),
        name="hanoinet-verify",
        daemon=True,  # stopped with the worker: a package it was reading waits for its lease
    )
    verifier.start()
    sender = threading.Thread(
        target=_send_evidence,
        args=(ctx, lambda: stopping, interval, once, timedelta(seconds=lease), settings.user),
        name="hanoinet-send",
        daemon=True,  # stopped with the worker: its transfer waits for its lease to end
    )
    sender.start()
    try:
        while not stopping:
            now = datetime.now(UTC)
            lease_for = timedelta(seconds=lease)
            for d in federation.deliver_batch(ctx, transport, now=now, lease=lease_for):
                event(WORKER_LOG, "delivery", outbox=d.outbox_id, status=d.status, detail=d.detail)
            # after delivery: a document takes a fraction of a second to lay out and sign
            for made in documents.issue_pending(
                ctx, signed.token, now=now, limit=4, enabled=settings.formal_documents
            ):
                event(
                    WORKER_LOG, "formal document",
                    request=made.request_id, status=made.status, detail=made.detail,
                )  # fmt: skip
            if time.monotonic() - last_tick > 30 or once:
                last_tick = time.monotonic()
                for rid, due in case_service.tick(
                    ctx.store, at=now, ack_targets=settings.ack_targets()
                ).fired:
                    event(WORKER_LOG, "clock", request=rid, what=due.message)
                for late in federation.not_delivered(ctx.store, now=now, after=alarm):
                    event(
                        WORKER_LOG, "NOT DELIVERED", logging.WARNING,
                        request=late["request"], type=late["type"], since=late["since"],
                        attempts=late["attempts"], last_error=late["last_error"],
                    )  # fmt: skip
                for late in transfer.stalled(ctx.store, now=now, after=stall):
                    event(
                        WORKER_LOG, "NOT DELIVERED", logging.WARNING,
                        request=late["request"], package=late["package"], since=late["since"],
                        attempts=late["attempts"], last_error=late["last_error"],
                    )  # fmt: skip
            if once:
                verifier.join()
                sender.join()
                break
            time.sleep(interval)
        event(WORKER_LOG, "worker stopped", node=ctx.node_id)
    finally:
        root.handlers[:], root.level, root.propagate = saved
    transport.close()
    ctx.store.dispose()
