"""A rogue member: a node of the directory, with its real keys, sending through the real inbox
every claim it may not make. Each is refused with a signed receipt naming the reason, nothing
changes on the receiving node but one security event in its audit log, valid siblings in a
batch are still applied, and the audit chain verifies.

Three nodes: Aurelia's (xa-ca) and Borealis's (xb-ca), whose cooperation is genuine, and
Caldera's (xc-ca), a member listed as a central authority only, the rogue.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hanoinet.evidence.offer import make_offer
from hanoinet.exchange import directory as d
from hanoinet.exchange.envelope import seal, verify_receipt, verify_receipts
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import federation as fed
from hanoinet.services import transfer
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import (
    audit,
    cases,
    events,
    evidence,
    formal_documents,
    inbox,
    outbox,
    requests,
)
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
BOTH = ("central_authority", "point_of_contact")
STATE = (cases, requests, events, inbox, outbox, formal_documents, evidence)
"""Every table a message could change; the audit log and the kept receipts are apart."""


class InProcess:
    """Routes each endpoint to a node's real app."""

    def __init__(self) -> None:
        self.clients: dict[str, TestClient] = {}

    def post(self, endpoint: str, envelope: str) -> str:
        response = self.clients[endpoint].post("/api/v1/inbox", content=envelope)
        return str(response.json()["receipt"])


def _entry(node_id: str, state: str, keys: KeySet, roles: tuple[str, ...]) -> d.NodeEntry:
    return d.NodeEntry(
        id=node_id,
        state=state,
        name=node_id,
        roles=roles,  # type: ignore[arg-type]
        endpoint=f"http://{node_id}.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, store_factory: Any
) -> Iterator[dict[str, Any]]:
    nodes = {"xa-ca": ("XA", BOTH), "xb-ca": ("XB", BOTH), "xc-ca": ("XC", ("central_authority",))}
    keys = {n: KeySet.generate(T0 - timedelta(days=1)) for n in nodes}
    directory = d.Directory(
        version=1,
        issued_at=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=365),
        nodes=tuple(_entry(n, s, keys[n], roles) for n, (s, roles) in nodes.items()),
    )
    with ExitStack() as stack:
        stores: dict[str, Store] = {
            n: stack.enter_context(store_factory(request.param, tmp_path, n)) for n in nodes
        }
        ctx = {n: fed.NodeContext(n, keys[n], directory, stores[n]) for n in nodes}
        transport = InProcess()
        for n, c in ctx.items():
            transport.clients[f"http://{n}.test"] = TestClient(
                create_app(c, clock=lambda: T0 + timedelta(hours=1), evidence_dir=tmp_path / n)
            )
        world = {"ctx": ctx, "transport": transport, "directory": directory, "keys": keys}
        world["incoming"], world["outgoing"] = _genuine_cooperation(world)
        yield world


def _genuine_cooperation(world: dict[str, Any]) -> tuple[Any, Any]:
    """Aurelia asks Borealis to preserve data; Borealis asks Aurelia in turn. Returns
    Borealis's two request rows: the one it received, the one it sent."""
    document = json.loads(EXAMPLE.read_text())
    back = {**document, "requesting_state": "XB", "requested_state": "XA"}
    for node, doc in (("xa-ca", document), ("xb-ca", back)):
        store = world["ctx"][node].store
        made = case_service.new_case(
            store, json.dumps(doc), direction="outgoing", actor="officer", at=T0
        )
        case_service.act(store, made.request_id, "check", actor="officer", at=T0)
        case_service.act(store, made.request_id, "send", actor="officer", at=T0)
        deliveries = fed.deliver_due(
            world["ctx"][node], world["transport"], now=T0, rng=random.Random(1)
        )
        assert [x.status for x in deliveries] == ["delivered"]
    with world["ctx"]["xb-ca"].store.engine.connect() as conn:
        rows = conn.execute(select(requests).order_by(requests.c.id)).all()
    [incoming] = [r for r in rows if r.direction == "incoming"]
    [outgoing] = [r for r in rows if r.direction == "outgoing"]
    return incoming, outgoing


def _sealed(world: dict[str, Any], sender: str, body: Any, kind: str) -> str:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    _, token = seal(
        payload,
        sender=sender,
        keys=world["keys"][sender],
        recipient=world["directory"].node("xb-ca"),
        type=kind,
        at=T0 + timedelta(minutes=30),
    )
    return token


def _snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t))] for t in STATE}


def _security_events(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(audit).where(audit.c.action.like("security.%"))).all()
    return [{"actor": r.actor, "action": r.action, **json.loads(r.detail)} for r in rows]


def _refused_at_the_inbox(world: dict[str, Any], token: str, reason: str) -> dict[str, Any]:
    """Post ``token`` to Borealis's real inbox: it must answer a signed refusal naming
    ``reason``, change nothing, and audit one security event. Returns that event."""
    xb = world["ctx"]["xb-ca"]
    before, events_before = _snapshot(xb.store), _security_events(xb.store)
    response = world["transport"].clients["http://xb-ca.test"].post("/api/v1/inbox", content=token)
    assert response.status_code == 422
    assert (response.json()["status"], response.json()["reason"]) == ("rejected", reason)
    receipt = verify_receipt(
        response.json()["receipt"], directory=world["directory"], expected_from="xb-ca", now=T0
    )
    assert (receipt.status, receipt.reason) == ("rejected", reason)
    assert _snapshot(xb.store) == before
    new_events = _security_events(xb.store)[len(events_before) :]
    assert [(e["action"], e["reason"]) for e in new_events] == [(fed.SECURITY_REFUSED, reason)]
    with xb.store.transaction() as conn:
        assert audit_log.verify(conn).ok
    return new_events[0]


def _new_request(**changes: Any) -> dict[str, Any]:
    document = {**json.loads(EXAMPLE.read_text()), **changes}
    return {"request": str(uuid.uuid4()), "action": "send", "document": document}


def test_a_request_in_another_states_name_is_refused(world: dict[str, Any]) -> None:
    token = _sealed(world, "xc-ca", _new_request(channel="central_authority"), "request")
    event = _refused_at_the_inbox(world, token, "foreign_state")
    assert event["actor"] == "node:xc-ca"
    assert event["explanation"] == "node xc-ca of XC sent a request in the name of XA"


def test_a_request_for_another_state_is_refused(world: dict[str, Any]) -> None:
    body = _new_request(requesting_state="XC", requested_state="XA", channel="central_authority")
    event = _refused_at_the_inbox(
        world, _sealed(world, "xc-ca", body, "request"), "not_addressed_here"
    )
    assert "addressed to XA; this node is of XB" in event["explanation"]


def test_a_request_by_a_channel_the_sender_does_not_carry_is_refused(
    world: dict[str, Any],
) -> None:
    # Caldera's node is its central authority; a 24/7 request comes from a point of contact.
    body = _new_request(requesting_state="XC", channel="point_of_contact")
    event = _refused_at_the_inbox(
        world, _sealed(world, "xc-ca", body, "request"), "role_not_designated"
    )
    assert "comes from a point_of_contact" in event["explanation"]


def test_a_request_reusing_a_known_request_id_is_refused(world: dict[str, Any]) -> None:
    body = _new_request(requesting_state="XC", channel="central_authority")
    body["request"] = world["incoming"].uid  # Aurelia's request, which Borealis holds
    _refused_at_the_inbox(world, _sealed(world, "xc-ca", body, "request"), "duplicate_request")


@pytest.mark.parametrize(
    ("which", "action", "params"),
    [
        ("incoming", "withdraw", {}),  # withdraw Aurelia's request in its name
        ("incoming", "provide_more_info", {"reason": "see attached"}),
        ("outgoing", "answer_status_enquiry", {"reason": "executed yesterday"}),
        ("outgoing", "acknowledge", {}),  # answer for Aurelia, Borealis's peer
        ("outgoing", "refuse", {"ground": "40(21)(a)", "reason": "no"}),
    ],
)
def test_a_notice_on_another_peers_request_is_refused(
    world: dict[str, Any], which: str, action: str, params: dict[str, str]
) -> None:
    body = {"request": world[which].uid, "action": action, "params": params, "at": T0.isoformat()}
    event = _refused_at_the_inbox(world, _sealed(world, "xc-ca", body, "notice"), "not_the_peer")
    assert event["explanation"] == (
        f"no request {world[which].uid} is exchanged between this node and xc-ca"
    )


def test_a_notice_for_an_unknown_request_gets_the_same_answer(world: dict[str, Any]) -> None:
    uid = str(uuid.uuid4())
    body = {"request": uid, "action": "acknowledge", "params": {}}
    event = _refused_at_the_inbox(world, _sealed(world, "xa-ca", body, "notice"), "not_the_peer")
    assert event["explanation"] == f"no request {uid} is exchanged between this node and xa-ca"


def test_a_document_for_another_peers_request_with_a_hostile_language_is_refused(
    world: dict[str, Any],
) -> None:
    body = {
        "request": world["incoming"].uid,
        "lang": 'en"\r\nContent-Disposition: attachment; filename="x.exe',
        "pdf": base64.b64encode(b"%PDF-1.7").decode(),
    }
    _refused_at_the_inbox(world, _sealed(world, "xc-ca", body, "document"), "not_the_peer")


@pytest.mark.parametrize("sender", ["xc-ca", "xa-ca"])
@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"request": "'
        + str(uuid.UUID(int=1)).encode()
        + b'", "params": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}",
        b"not json at all",
        b'"a string"',
        b'{"request": "\\u0000 not an id", "action": "acknowledge"}',
        b'{"request": "'
        + str(uuid.UUID(int=1)).encode()
        + b'", "ref": "R-1\\u0000<b>", "action": "acknowledge"}',
    ],
    ids=["deep-array", "deep-params", "not-json", "not-an-object", "bad-id", "bad-ref"],
)
def test_malformed_content_is_refused_whoever_sends_it(
    world: dict[str, Any], sender: str, payload: bytes
) -> None:
    _refused_at_the_inbox(world, _sealed(world, sender, payload, "notice"), "malformed_content")


def test_a_type_no_node_sends_is_refused(world: dict[str, Any]) -> None:
    body = {"request": world["incoming"].uid, "action": "acknowledge"}
    event = _refused_at_the_inbox(
        world, _sealed(world, "xa-ca", body, "<script>"), "malformed_content"
    )
    assert event["type"] == "other"  # the sender's text is not audited as it is


def test_the_genuine_peer_is_still_heard(world: dict[str, Any]) -> None:
    body = {"request": world["incoming"].uid, "action": "status_enquiry", "params": {}}
    token = _sealed(world, "xa-ca", body, "notice")
    response = world["transport"].clients["http://xb-ca.test"].post("/api/v1/inbox", content=token)
    assert response.json()["status"] == "delivered"
    with world["ctx"]["xb-ca"].store.engine.connect() as conn:
        [row] = conn.execute(select(inbox).where(inbox.c.type == "notice")).all()
    assert (row.status, row.sender) == ("applied", "xa-ca")


def test_a_batch_mixing_good_and_bad_applies_the_good(world: dict[str, Any]) -> None:
    xb = world["ctx"]["xb-ca"]
    good_notice = _sealed(
        world,
        "xa-ca",
        {"request": world["incoming"].uid, "action": "status_enquiry", "params": {}},
        "notice",
    )
    good_request = _sealed(world, "xa-ca", _new_request(), "request")
    foreign = _sealed(world, "xc-ca", _new_request(channel="central_authority"), "request")
    deep = _sealed(world, "xc-ca", b"[" * 100_000 + b"]" * 100_000, "notice")
    stolen = _sealed(
        world, "xc-ca", {"request": world["outgoing"].uid, "action": "acknowledge"}, "notice"
    )
    batch = [good_notice, foreign, deep, good_request, stolen]
    response = (
        world["transport"]
        .clients["http://xb-ca.test"]
        .post("/api/v1/inbox/batch", json={"envelopes": batch})
    )
    assert response.status_code == 200
    named = verify_receipts(
        response.json()["receipt"], directory=world["directory"], expected_from="xb-ca", now=T0
    )
    assert [(r.status, r.reason) for r in named] == [
        ("delivered", None),
        ("rejected", "foreign_state"),
        ("rejected", "malformed_content"),
        ("delivered", None),
        ("rejected", "not_the_peer"),
    ]
    with xb.store.engine.connect() as conn:
        kept = conn.execute(select(inbox).order_by(inbox.c.received_at)).all()
        statuses = {r.sender: r.status for r in kept if r.type != "request" or r.sender == "xa-ca"}
        incoming = conn.execute(
            select(requests.c.id).where(requests.c.direction == "incoming")
        ).all()
    assert statuses == {"xa-ca": "applied"} and len(incoming) == 2
    assert [e["reason"] for e in _security_events(xb.store)] == [
        "foreign_state",
        "malformed_content",
        "not_the_peer",
    ]
    with xb.store.transaction() as conn:
        assert audit_log.verify(conn).ok


def test_an_evidence_offer_for_another_peers_request_is_refused(
    world: dict[str, Any], tmp_path: Path
) -> None:
    package = tmp_path / "package.age"
    package.write_bytes(b"not evidence, but it has a hash")
    sig = world["keys"]["xc-ca"].active("sig", T0)
    made = make_offer(
        package,
        package="EV-xc-ca-000001",
        request=world["outgoing"].uid,  # Borealis's request to Aurelia, answered by Caldera
        sender="xc-ca",
        recipient="xb-ca",
        kid=sig.kid,
        key=sig.key,
        at=T0 + timedelta(minutes=30),
    )
    xb = world["ctx"]["xb-ca"]
    before = _snapshot(xb.store)
    client = world["transport"].clients["http://xb-ca.test"]
    response = client.post("/api/v1/evidence/offers", content=made.token)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_request"
    assert _snapshot(xb.store) == before
    [event] = _security_events(xb.store)
    assert (event["action"], event["actor"], event["reason"]) == (
        transfer.SECURITY_OFFER_REFUSED,
        "node:xc-ca",
        "not_the_peer",
    )


def test_a_request_is_bound_to_the_node_it_was_sent_to(world: dict[str, Any]) -> None:
    # Sealing Borealis's request pinned its peer at once, before any answer came back: the
    # first node to answer cannot adopt it.
    assert world["outgoing"].peer_node == "xa-ca"
    assert world["incoming"].peer_node == "xa-ca"


def test_a_rejection_never_signs_back_a_strangers_text(world: dict[str, Any]) -> None:
    header = base64.urlsafe_b64encode(
        json.dumps(
            {"alg": "EdDSA", "hn_id": "<script>alert(1)</script>", "hn_from": "xa-ca"}
        ).encode()
    ).rstrip(b"=")
    token = f"{header.decode()}.e30.c2ln"
    response = world["transport"].clients["http://xb-ca.test"].post("/api/v1/inbox", content=token)
    receipt = verify_receipt(
        response.json()["receipt"], directory=world["directory"], expected_from="xb-ca", now=T0
    )
    assert receipt.status == "rejected" and receipt.message == ""
    assert "script" not in response.text
