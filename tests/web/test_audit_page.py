"""The supervisor's audit log page: filters, the chain's verification, and its own read
landing in the log; no other role opens it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"


def _client(store: Store, username: str, role: str) -> TestClient:
    keys = KeySet.generate(T0 - timedelta(days=1))
    entry = d.NodeEntry(
        id="xb-ca",
        state="XB",
        name="xb-ca",
        roles=("central_authority",),
        endpoint="http://xb-ca.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
    )
    directory = d.Directory(
        version=1, issued_at=T0, valid_until=T0 + timedelta(days=30), nodes=(entry,)
    )
    password = users.create_user(store, username, role, actor="admin", at=T0)
    half = users.log_in(store, username, password, at=T0)
    assert half.pending_totp is not None
    code = pyotp.TOTP(half.pending_totp).at(T0)
    full = users.set_up(
        store, half.token, "long new password 1", "long new password 1", code, at=T0
    )
    client = TestClient(create_app(NodeContext("xb-ca", keys, directory, store), clock=lambda: T0))
    client.cookies.set("hanoinet_session", full.token)
    return client


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr><td>(\d+)</td>", html)


def test_supervisor_filters_the_log_and_sees_the_chain_verified(store: Store) -> None:
    created = case_service.new_case(
        store, EXAMPLE.read_text("utf-8"), direction="incoming", actor="node:xa-ca", at=T0
    )
    client = _client(store, "sam", "supervisor")
    page = client.get("/audit")
    assert page.status_code == 200
    assert "The hash chain verifies" in page.text
    every = _rows(page.text)
    assert len(every) >= 4  # create_user, set-up, log-in, receive
    only = client.get("/audit", params={"action": "receive", "target": created.request_id})
    assert len(_rows(only.text)) == 1 and created.request_id in only.text
    by_actor = client.get("/audit", params={"actor": "SAM"})  # case-insensitive, part of it
    assert _rows(by_actor.text) and "node:xa-ca" not in by_actor.text.split("<tbody>")[1]
    later = client.get("/audit", params={"since": "2026-11-25"})
    assert _rows(later.text) == [] and "No entry matches" in later.text
    bad = client.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and "2026-11-24" in bad.text
    # Each read of the log is itself in the log, with its filters.
    with store.engine.connect() as conn:
        reads = conn.execute(
            text("SELECT detail FROM audit WHERE action = 'read_audit' ORDER BY seq")
        ).all()
    assert len(reads) == 5 and '"action":"receive"' in reads[1][0]


def test_a_tampered_log_is_shown_as_such(store: Store) -> None:
    client = _client(store, "sam", "supervisor")
    with store.transaction() as conn:
        conn.execute(text("UPDATE audit SET actor = 'someone else' WHERE seq = 1"))
    page = client.get("/audit")
    assert "The audit log has been tampered with" in page.text
    assert "entry 1: its content was changed" in page.text


@pytest.mark.parametrize(
    "role", ["node_admin", "central_authority_officer", "duty_officer", "requester"]
)
def test_no_other_role_opens_the_audit_log(store: Store, role: str) -> None:
    client = _client(store, "x", role)
    page: Any = client.get("/audit")
    assert page.status_code == 403 and "<table" not in page.text


def test_security_events_are_counted_first_and_filtered(store: Store) -> None:
    from hanoinet.store import audit as audit_log

    client = _client(store, "chief", "supervisor")
    with store.transaction() as conn:
        for reason in ("foreign_state", "not_the_peer"):
            audit_log.append(
                conn,
                at=T0 - timedelta(hours=1),
                actor="node:xc-ca",
                action="security.message_refused",
                target="0190f000-0000-7000-8000-000000000000",
                legal_basis="40(13)",
                detail={"reason": reason},
            )
        audit_log.append(
            conn,
            at=T0 - timedelta(days=8),  # older than the banner's week
            actor="node:xc-ca",
            action="security.offer_refused",
            target="EV-xc-ca-000001",
            legal_basis="40(13)",
            detail={"reason": "not_the_peer"},
        )
    everything = client.get("/audit").text
    assert "2 security events in the last 7 days" in everything
    assert everything.count('<tr class="security">') == 3
    only = client.get("/audit", params={"security": "1"}).text
    assert only.count('<tr class="security">') == 3 and "<tr><td>" not in only
    assert 'id="security" name="security" value="1" checked' in only
    client.get("/language", params={"lang": "fr", "next": "/audit"})
    french = client.get("/audit").text
    assert "2 événements de sécurité au cours des 7 derniers jours" in french
