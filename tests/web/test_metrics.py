"""The readiness endpoint and the Prometheus listener (issue 25 item 3): what a load
balancer and a monitoring system read, with no case content and no user name."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from hanoinet.services import users
from hanoinet.web import metrics
from hanoinet.web.app import create_app

from ..services import test_federation
from ..services.test_federation import T0, _send

world = test_federation.world


def test_ready_answers_200_with_its_checks_and_503_when_a_check_fails(
    world: dict[str, Any],
) -> None:
    ctx = world["ctx"]["xa-ca"]
    ready = TestClient(create_app(ctx, clock=lambda: T0)).get("/api/v1/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True and body["node"] == "xa-ca"
    assert [c["name"] for c in body["checks"]] == ["database", "directory", "keys", "outbox"]
    later = TestClient(create_app(ctx, clock=lambda: T0 + timedelta(days=400)))
    expired = later.get("/api/v1/ready")
    assert expired.status_code == 503 and expired.json()["ready"] is False
    failed = [c for c in expired.json()["checks"] if c["status"] == "failed"]
    assert [c["name"] for c in failed] == ["directory"]
    stranger = TestClient(create_app(replace(ctx, node_id="zz-ca"), clock=lambda: T0))
    assert stranger.get("/api/v1/ready").status_code == 503


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_metrics_listener_serves_counts_and_codes_only(world: dict[str, Any]) -> None:
    ctx = world["ctx"]["xa-ca"]
    rid = _send(world)
    users.create_user(ctx.store, "carl.secret.name", "supervisor", actor="a", at=T0)
    collected = metrics.registry(
        ctx, lambda: T0 + timedelta(hours=1), timedelta(minutes=15), {"urgent": timedelta(hours=1)}
    )
    text = generate_latest(collected).decode()
    assert "hanoinet_ready 1.0" in text
    assert 'hanoinet_outbox_messages{status="pending"} 1.0' in text
    assert "hanoinet_outbox_oldest_pending_seconds 3600.0" in text
    assert "hanoinet_not_delivered_messages 1.0" in text
    assert 'hanoinet_check_ok{check="outbox"} 1.0' in text
    assert 'hanoinet_audit_events_total{action="login_failed"} 0.0' in text
    assert "carl.secret.name" not in text and rid not in text  # no user name, no request id
    port = _free_port()
    server = metrics.serve("127.0.0.1", port, collected)
    try:
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert scraped.status_code == 200 and "hanoinet_outbox_messages" in scraped.text
