"""Two nodes in one process, each with its own database, talking through their real
FastAPI inboxes: send, receive, acknowledge, receipts, retries, order, dedupe."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hanoinet.errors import TransitionRefused
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as d
from hanoinet.exchange.envelope import make_receipts, seal, verify_receipts
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import federation as fed
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit as audit_table
from hanoinet.store.schema import inbox, outbox
from hanoinet.store.schema import receipts as receipts_table
from hanoinet.store.schema import requests as requests_table
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"


class InProcess:
    """A transport that routes each endpoint to a node's app; can drop messages."""

    def __init__(self) -> None:
        self.clients: dict[str, TestClient] = {}
        self.down: set[str] = set()
        self.sent: list[str] = []

    def post_batch(self, endpoint: str, envelopes: list[str]) -> str:
        if endpoint in self.down:
            raise OSError(f"connection refused: {endpoint}")
        self.sent.extend(envelopes)
        response = self.clients[endpoint].post("/api/v1/inbox/batch", json={"envelopes": envelopes})
        assert response.status_code == 200, response.text
        return str(response.json()["receipt"])

    def post(self, endpoint: str, envelope: str) -> str:
        if endpoint in self.down:
            raise OSError(f"connection refused: {endpoint}")
        self.sent.append(envelope)
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
    """Two nodes, each with its own database (SQLite files, or two PostgreSQL schemas)."""
    from contextlib import ExitStack

    keys = {n: KeySet.generate(T0 - timedelta(days=1)) for n in ("xa-ca", "xb-ca")}
    roles = ("central_authority", "point_of_contact")
    directory = d.Directory(
        version=1,
        issued_at=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=365),
        nodes=(
            _entry("xa-ca", "XA", keys["xa-ca"], roles),
            _entry("xb-ca", "XB", keys["xb-ca"], roles),
        ),
    )
    with ExitStack() as stack:
        stores: dict[str, Store] = {
            n: stack.enter_context(store_factory(request.param, tmp_path, n)) for n in keys
        }
        ctx = {n: fed.NodeContext(n, keys[n], directory, stores[n]) for n in keys}
        transport = InProcess()
        clock = {"now": T0}
        for n, c in ctx.items():
            transport.clients[f"http://{n}.test"] = TestClient(
                create_app(c, clock=lambda: clock["now"])
            )
        yield {
            "ctx": ctx,
            "transport": transport,
            "clock": clock,
            "directory": directory,
            "keys": keys,
        }


def _send(world: dict[str, Any]) -> str:
    store = world["ctx"]["xa-ca"].store
    created = case_service.new_case(
        store, EXAMPLE.read_text(), direction="outgoing", actor="officer", at=T0
    )
    case_service.act(store, created.request_id, "check", actor="officer", at=T0)
    case_service.act(store, created.request_id, "send", actor="officer", at=T0)
    return created.request_id


def _deliver(world: dict[str, Any], node: str, now: datetime) -> list[fed.Delivery]:
    return fed.deliver_due(world["ctx"][node], world["transport"], now=now, rng=random.Random(1))


def _count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_sent_request_arrives_and_the_acknowledgement_comes_back(world: dict[str, Any]) -> None:
    request_id = _send(world)
    [delivery] = _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    assert delivery.status == "delivered"
    xb = world["ctx"]["xb-ca"].store
    [summary] = case_service.list_requests(xb, actor="duty", at=T0)
    assert (summary.direction, summary.state, summary.kind) == (
        "incoming",
        "received",
        "preservation",
    )
    # Borealis acknowledges; the notice travels back and moves Aurelia's request.
    case_service.act(xb, summary.id, "acknowledge", actor="duty", at=T0 + timedelta(minutes=5))
    [back] = _deliver(world, "xb-ca", T0 + timedelta(minutes=5, seconds=1))
    assert back.status == "delivered"
    xa = world["ctx"]["xa-ca"].store
    detail = case_service.show(
        xa, request_id, actor="officer", at=T0 + timedelta(minutes=6)
    ).requests[0]
    assert detail.summary.state == "acknowledged"
    actions = [e.action for e in detail.events]
    assert actions == ["create", "check", "send", "message_delivered", "acknowledge"]
    delivered = next(e for e in detail.events if e.action == "message_delivered")
    assert delivered.params["to"] == "xb-ca" and delivered.params["receipt_status"] == "delivered"
    for store in (xa, xb):
        with store.transaction() as conn:
            assert audit_log.verify(conn).ok


def test_the_same_envelope_twice_is_applied_once(world: dict[str, Any]) -> None:
    _send(world)
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    envelope = world["transport"].sent[0]
    xb = world["ctx"]["xb-ca"]
    receipt = fed.receive(xb, envelope, now=T0 + timedelta(seconds=2))
    assert (receipt.status, receipt.reason) == ("rejected", "replayed")
    assert _count(xb.store, inbox) == 1
    assert len(case_service.list_requests(xb.store, actor="duty", at=T0)) == 1


def test_receiver_down_then_up_everything_arrives_in_order(world: dict[str, Any]) -> None:
    request_id = _send(world)
    xa = world["ctx"]["xa-ca"].store
    case_service.act(
        xa, request_id, "status_enquiry", actor="officer", at=T0 + timedelta(seconds=1)
    )
    world["transport"].down.add("http://xb-ca.test")
    now = T0 + timedelta(seconds=2)
    [retry] = _deliver(world, "xa-ca", now)
    assert retry.status == "retry" and "connection refused" in retry.detail
    # The status enquiry waits behind the request: per-request order.
    assert _deliver(world, "xa-ca", now + timedelta(minutes=30)) != []
    world["transport"].down.clear()
    later = now + timedelta(hours=1)
    first = _deliver(world, "xa-ca", later)
    second = _deliver(world, "xa-ca", later + timedelta(seconds=1))
    assert [x.status for x in first + second] == ["delivered", "delivered"]
    xb = world["ctx"]["xb-ca"].store
    [incoming] = case_service.list_requests(xb, actor="duty", at=later)
    events = case_service.show(xb, incoming.id, actor="duty", at=later).requests[0].events
    assert [e.action for e in events] == ["receive", "status_enquiry"]


def test_a_rejected_envelope_leaves_no_trace_but_a_receipt(world: dict[str, Any]) -> None:
    xb = world["ctx"]["xb-ca"]
    stranger = KeySet.generate(T0)
    _, forged = seal(
        b"{}",
        sender="xa-ca",
        keys=stranger,
        recipient=world["directory"].node("xb-ca"),
        type="request",
        at=T0,
    )
    receipt = fed.receive(xb, forged, now=T0)
    assert (receipt.status, receipt.reason) == ("rejected", "unknown_key")
    assert _count(xb.store, inbox) == 0
    garbage = fed.receive(xb, "not an envelope", now=T0)
    assert (garbage.status, garbage.reason, garbage.to) == ("rejected", "malformed", None)


def test_no_node_for_the_state_retries_with_a_clear_error(world: dict[str, Any]) -> None:
    store = world["ctx"]["xa-ca"].store
    doc = json.loads(EXAMPLE.read_text())
    doc["requested_state"] = "XC"
    doc["language"] = "fr"
    doc["channel"] = "central_authority"
    created = case_service.new_case(store, json.dumps(doc), direction="outgoing", actor="o", at=T0)
    case_service.act(store, created.request_id, "check", actor="o", at=T0)
    case_service.act(store, created.request_id, "send", actor="o", at=T0)
    [retry] = _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    assert retry.status == "retry" and "no node of XC" in retry.detail
    alarms = fed.not_delivered(store, now=T0 + timedelta(hours=1), after=timedelta(minutes=15))
    assert [a["request"] for a in alarms] == [created.request_id]


def test_sealed_once_so_every_retry_sends_the_same_bytes(world: dict[str, Any]) -> None:
    _send(world)
    world["transport"].down.add("http://xb-ca.test")
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    with world["ctx"]["xa-ca"].store.engine.connect() as conn:
        first = conn.execute(select(outbox.c.envelope)).scalar_one()
    world["transport"].down.clear()
    _deliver(world, "xa-ca", T0 + timedelta(hours=1))
    assert world["transport"].sent == [first]
    assert crypto.unverified_header(first)["hn_to"] == "xb-ca"


def test_case_page_shows_the_not_delivered_alarm_and_the_settled_receipts(
    world: dict[str, Any],
) -> None:
    request_id = _send(world)
    xa = world["ctx"]["xa-ca"].store
    world["transport"].down.add("http://xb-ca.test")
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    late = T0 + timedelta(minutes=20)
    [message] = case_service.show(xa, request_id, actor="o", at=late).requests[0].messages
    assert (message.action, message.status, message.not_delivered) == ("send", "pending", True)
    assert "connection refused" in (message.last_error or "")
    early = (
        case_service.show(xa, request_id, actor="o", at=T0 + timedelta(minutes=5))
        .requests[0]
        .messages
    )
    assert early[0].not_delivered is False
    world["transport"].down.clear()
    _deliver(world, "xa-ca", T0 + timedelta(hours=2))
    [settled] = (
        case_service.show(xa, request_id, actor="o", at=T0 + timedelta(hours=3))
        .requests[0]
        .messages
    )
    assert (settled.status, settled.not_delivered, settled.recipient) == (
        "delivered",
        False,
        "xb-ca",
    )


def test_batch_delivery_settles_many_requests_with_one_request_per_peer(
    world: dict[str, Any],
) -> None:
    ids = [_send(world) for _ in range(5)]
    results = fed.deliver_batch(
        world["ctx"]["xa-ca"], world["transport"], now=T0 + timedelta(seconds=1)
    )
    assert sorted(r.status for r in results) == ["delivered"] * 5
    assert len(world["transport"].sent) == 5
    xb = world["ctx"]["xb-ca"].store
    assert len(case_service.list_requests(xb, actor="duty", at=T0)) == 5
    assert _count(xb, inbox) == 5
    xa = world["ctx"]["xa-ca"].store
    for request_id in ids:
        events = (
            case_service.show(xa, request_id, actor="o", at=T0 + timedelta(minutes=1))
            .requests[0]
            .events
        )
        assert events[-1].action == "message_delivered"


def test_batch_with_a_duplicate_and_garbage_answers_each_in_order(world: dict[str, Any]) -> None:
    _send(world)
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    envelope = world["transport"].sent[0]
    xb = world["ctx"]["xb-ca"]
    receipts = fed.receive_batch(xb, [envelope, "garbage", envelope], now=T0 + timedelta(seconds=2))
    assert [(r.status, r.reason) for r in receipts] == [
        ("rejected", "replayed"),
        ("rejected", "malformed"),
        ("rejected", "replayed"),
    ]
    assert _count(xb.store, inbox) == 1


def test_batch_endpoint_refuses_what_is_not_a_batch(world: dict[str, Any]) -> None:
    client = world["transport"].clients["http://xb-ca.test"]
    bad = client.post("/api/v1/inbox/batch", content=b"[1, 2]")
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert "envelopes" in bad.json()["detail"]
    many = client.post("/api/v1/inbox/batch", json={"envelopes": ["x"] * 201})
    assert many.status_code == 413


def test_two_workers_never_send_the_same_message_twice(world: dict[str, Any]) -> None:
    """Workers share the outbox (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
    SQLite): each message is claimed by one of them only."""
    import threading

    for _ in range(30):
        _send(world)
    ctx = world["ctx"]["xa-ca"]
    lock = threading.Lock()
    results: list[fed.Delivery] = []

    def work() -> None:
        for _ in range(10):
            batch = fed.deliver_batch(
                ctx, world["transport"], now=T0 + timedelta(seconds=1), limit=4
            )
            with lock:
                results.extend(batch)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = world["transport"].sent
    assert len(sent) == len(set(sent)) == 30
    assert sorted(r.status for r in results) == ["delivered"] * 30, [
        r.detail for r in results if r.status != "delivered"
    ]
    assert _count(world["ctx"]["xb-ca"].store, inbox) == 30


# --- batches: one signed receipt naming each message; one statement per table ----------------


def _sealed(world: dict[str, Any], body: dict[str, Any], kind: str = "request") -> str:
    _, token = seal(
        json.dumps(body).encode(),
        sender="xa-ca",
        keys=world["keys"]["xa-ca"],
        recipient=world["directory"].node("xb-ca"),
        type=kind,
        at=T0,
    )
    return token


def test_a_batch_is_answered_by_one_receipt_naming_each_message_in_order(
    world: dict[str, Any],
) -> None:
    document = json.loads(EXAMPLE.read_text())
    new = [_sealed(world, {"request": str(uuid.uuid4()), "document": document}) for _ in range(3)]
    no_document = _sealed(world, {"request": str(uuid.uuid4())})
    unknown_request = _sealed(
        world, {"request": str(uuid.uuid4()), "action": "acknowledge"}, "notice"
    )
    batch = [new[0], "garbage", new[1], new[1], no_document, unknown_request, new[2]]
    xb = world["ctx"]["xb-ca"]
    receipts = fed.receive_batch(xb, batch, now=T0)
    assert [(r.status, r.reason) for r in receipts] == [
        ("delivered", None),
        ("rejected", "malformed"),
        ("delivered", None),
        ("rejected", "replayed"),  # the second copy in the same batch
        ("rejected", "malformed_content"),  # a request message without its document
        ("rejected", "not_the_peer"),  # a notice for no request between the two nodes
        ("delivered", None),
    ]
    assert len({r.token for r in receipts}) == 1
    named = verify_receipts(
        receipts[0].token, directory=world["directory"], expected_from="xb-ca", now=T0
    )
    assert named == receipts
    with xb.store.engine.connect() as conn:
        rows = conn.execute(select(inbox).order_by(inbox.c.message_id)).all()
        kept = conn.execute(select(receipts_table)).all()
        refused = conn.execute(
            select(audit_table).where(audit_table.c.action == fed.SECURITY_REFUSED)
        ).all()
    # Only what was applied is kept in the inbox; each refusal is a security event.
    assert len(rows) == 3 and len(kept) == 1
    assert {r.receipt_digest for r in rows} == {kept[0].digest}
    assert kept[0].token == receipts[0].token
    assert sorted(r.status for r in rows) == ["applied"] * 3
    assert sorted(json.loads(r.detail)["reason"] for r in refused) == [
        "malformed_content",
        "not_the_peer",
    ]
    # Three cases with consecutive numbers, each with its first event; the chain verifies.
    incoming = case_service.list_requests(xb.store, actor="duty", at=T0)
    assert sorted(r.id for r in incoming) == ["R-000001", "R-000002", "R-000003"]
    for summary in incoming:
        events = case_service.show(xb.store, summary.id, actor="duty", at=T0).requests[0].events
        assert [(e.action, e.to_state) for e in events] == [("receive", "received")]
    with xb.store.transaction() as conn:
        assert audit_log.verify(conn).ok


class Forgetful(InProcess):
    """Answers batches with a receipt that leaves out the last message, or one signed by a
    node that is not the peer."""

    def __init__(self, world: dict[str, Any], mode: str) -> None:
        super().__init__()
        self.clients = world["transport"].clients
        self.world, self.mode = world, mode

    def post_batch(self, endpoint: str, envelopes: list[str]) -> str:
        token = super().post_batch(endpoint, envelopes)
        named = verify_receipts(
            token, directory=self.world["directory"], expected_from="xb-ca", now=T0
        )
        signer = "xa-ca" if self.mode == "wrong_signer" else "xb-ca"
        kept = named[:-1] if self.mode == "leaves_one_out" else named
        [forged, *_] = make_receipts(
            [(r.message, r.status, r.reason, r.to) for r in kept],
            by="xb-ca",
            keys=self.world["keys"][signer],
            at=T0,
        )
        return forged.token


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("leaves_one_out", "the peer's receipt does not name this message"),
        ("wrong_signer", "the receipt did not verify (unknown_key)"),
    ],
)
def test_a_message_the_batch_receipt_does_not_vouch_for_stays_pending(
    world: dict[str, Any], mode: str, expected: str
) -> None:
    sent = [_send(world) for _ in range(2)]
    xa = world["ctx"]["xa-ca"]
    results = fed.deliver_batch(
        xa, Forgetful(world, mode), now=T0 + timedelta(seconds=1), rng=random.Random(1)
    )
    statuses = sorted((r.status, r.detail) for r in results)
    if mode == "leaves_one_out":
        assert statuses == [("delivered", ""), ("retry", expected)]
    else:
        assert statuses == [("retry", expected), ("retry", expected)]
    with xa.store.engine.connect() as conn:
        pending = conn.execute(select(outbox).where(outbox.c.status == "pending")).all()
    assert len(pending) == len([s for s in statuses if s[0] == "retry"])
    assert all(p.receipt_digest is None and p.last_error == expected for p in pending)
    assert {p.request_id for p in pending} <= set(sent)
    # Delivered later with an honest receipt; the peer answers "replayed" for what it already
    # has, which settles the message as delivered.
    later = fed.deliver_batch(
        xa, world["transport"], now=T0 + timedelta(hours=1), rng=random.Random(1)
    )
    assert [r.status for r in later] == ["delivered"] * len(pending)


def test_a_request_never_changes_peer(world: dict[str, Any]) -> None:
    """Once sealed to Borealis's node, Aurelia's request waits for that node: a follow-up is
    not readdressed to another node of the State when its peer leaves the directory."""
    request_id = _send(world)
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    xa = world["ctx"]["xa-ca"]
    with xa.store.engine.connect() as conn:
        pinned = conn.execute(select(requests_table.c.peer_node)).scalar_one()
    assert pinned == "xb-ca"
    case_service.act(
        xa.store, request_id, "status_enquiry", actor="officer", at=T0 + timedelta(seconds=2)
    )
    other = (
        world["directory"]
        .node("xb-ca")
        .model_copy(update={"id": "xb-247", "endpoint": "http://xb-247.test"})
    )
    xa.directory = world["directory"].model_copy(
        update={"nodes": (world["directory"].node("xa-ca"), other)}
    )
    [waiting] = _deliver(world, "xa-ca", T0 + timedelta(seconds=3))
    assert waiting.status == "retry"
    assert "node xb-ca, is not in the directory" in waiting.detail
    assert len(world["transport"].sent) == 1  # only the request, before


# --- references: each node's own number, and the other State's ----------------------------------


def _peer_ref(store: Store, request_id: str) -> str | None:
    with store.engine.connect() as conn:
        query = select(requests_table.c.peer_ref).where(requests_table.c.id == request_id)
        return conn.execute(query).scalar_one()  # type: ignore[no-any-return]


def test_both_nodes_learn_each_others_reference(world: dict[str, Any]) -> None:
    """The request carries Aurelia's number to Borealis; Borealis's first reply carries its
    own back. A later message naming another number does not replace the first."""
    xa, xb = world["ctx"]["xa-ca"], world["ctx"]["xb-ca"]
    # A draft of Borealis's own first: the two nodes' numbers for the request differ.
    case_service.new_case(xb.store, EXAMPLE.read_text(), direction="outgoing", actor="duty", at=T0)
    request_id = _send(world)
    assert json.loads(_outbox_payload(xa.store))["ref"] == request_id
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    incoming = next(
        r
        for r in case_service.list_requests(xb.store, actor="duty", at=T0)
        if r.direction == "incoming"
    )
    assert (incoming.id, incoming.peer_ref) == ("R-000002", request_id)
    assert _peer_ref(xa.store, request_id) is None  # Borealis has not answered yet
    case_service.act(xb.store, incoming.id, "acknowledge", actor="duty", at=T0)
    _deliver(world, "xb-ca", T0 + timedelta(seconds=2))
    [mine] = case_service.list_requests(xa.store, actor="officer", at=T0)
    assert (mine.id, mine.peer_ref) == (request_id, "R-000002")
    # Aurelia's node says another number for the same request: the first one stays.
    with xa.store.engine.connect() as conn:
        uid = conn.execute(select(requests_table.c.uid)).scalar_one()
    later = _sealed(
        world,
        {"request": uid, "ref": "R-000099", "action": "status_enquiry", "params": {}},
        "notice",
    )
    assert fed.receive(xb, later, now=T0 + timedelta(seconds=3)).status == "delivered"
    assert _peer_ref(xb.store, incoming.id) == request_id


def _outbox_payload(store: Store) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(select(outbox.c.payload).order_by(outbox.c.id)).scalars().first())


@pytest.mark.parametrize("bad", [7, "", "R" * 33, "R 1", "R-1\n", "R-1%", None, ["R-1"]])
def test_a_malformed_reference_is_refused_with_a_receipt(world: dict[str, Any], bad: Any) -> None:
    xb = world["ctx"]["xb-ca"]
    document = json.loads(EXAMPLE.read_text())
    token = _sealed(world, {"request": str(uuid.uuid4()), "ref": bad, "document": document})
    receipt = fed.receive(xb, token, now=T0)
    assert (receipt.status, receipt.reason) == ("rejected", "malformed_content")
    assert case_service.list_requests(xb.store, actor="duty", at=T0) == []
    with xb.store.engine.connect() as conn:
        [refused] = conn.execute(
            select(audit_table).where(audit_table.c.action == fed.SECURITY_REFUSED)
        ).all()
    assert "reference (ref)" in json.loads(refused.detail)["explanation"]


def test_a_message_without_a_reference_is_still_taken(world: dict[str, Any]) -> None:
    """A node older than the field sends none: the request is received, its reference unknown."""
    xb = world["ctx"]["xb-ca"]
    document = json.loads(EXAMPLE.read_text())
    token = _sealed(world, {"request": str(uuid.uuid4()), "document": document})
    assert fed.receive(xb, token, now=T0).status == "delivered"
    [received] = case_service.list_requests(xb.store, actor="duty", at=T0)
    assert received.peer_ref is None


CONSULTATION = {
    "format": "hanoinet.request/1",
    "kind": "parallel_proceedings",
    "requesting_state": "XA",
    "requested_state": "XB",
    "requesting_authority": {"name": "Aurelia Public Prosecutor (demo)", "contact": "+000 1 555"},
    "matter": {
        "nature": "investigation",
        "description": "Ransomware attacks on hospitals (demo)",
        "authority": "Aurelia Public Prosecutor (demo)",
    },
    "offences": [{"article": "7", "conduct": ["access"]}],
    "facts_summary": "The same group attacked hospitals in Aurelia and Borealis (demo).",
    "assistance_sought": "Agree which State prosecutes; share what each has found.",
    "channel": "central_authority",
    "language": "en",
}


def test_22_5_a_consultation_on_the_same_conduct_is_recorded_on_both_nodes(
    world: dict[str, Any],
) -> None:
    """22(5): Aurelia tells Borealis it investigates the same conduct; Borealis asks for more,
    Aurelia gives it, Borealis answers how to coordinate. Each step is on both nodes, and the
    steps of a request for assistance (execute, refuse) are not offered."""
    xa, xb = world["ctx"]["xa-ca"].store, world["ctx"]["xb-ca"].store
    x = _Exchange(world)
    created = case_service.new_case(
        xa, json.dumps(CONSULTATION), direction="outgoing", actor="officer", at=x.at
    )
    ours = created.request_id
    case_service.act(xa, ours, "check", actor="officer", at=x.at)
    case_service.act(xa, ours, "send", actor="officer", at=x.at)

    x.travel("xa-ca")
    [theirs] = case_service.list_requests(xb, actor="duty", at=x.at)
    assert (theirs.kind, theirs.state) == ("parallel_proceedings", "received")
    steps = [
        (xb, theirs.id, "request_more_info", {"reason": "Which hospitals, and since when?"}),
        (xa, ours, "provide_more_info", {"reason": "Three hospitals, since 2026-10-01."}),
        (xb, theirs.id, "answer_consultation", {"reason": "Borealis defers to Aurelia."}),
    ]
    for store, ident, action, params in steps:
        case_service.act(store, ident, action, actor="duty", at=x.at, params=params)
        x.travel("xb-ca" if store is xb else "xa-ca")
    for store, ident in ((xa, ours), (xb, theirs.id)):
        detail = case_service.show(store, ident, actor="duty", at=x.at).requests[0]
        assert detail.summary.state == "executed"
        answer = next(e for e in detail.events if e.action == "answer_consultation")
        assert answer.params["reason"] == "Borealis defers to Aurelia."
        assert answer.article == "22(5)"
    case_service.act(xa, ours, "close", actor="officer", at=x.at)
    for store in (xa, xb):
        with store.transaction() as conn:
            assert audit_log.verify(conn).ok


def test_22_5_a_consultation_cannot_be_executed_or_refused(world: dict[str, Any]) -> None:
    from hanoinet.errors import TransitionRefused

    xb = world["ctx"]["xb-ca"].store
    created = case_service.new_case(
        xb, json.dumps(CONSULTATION), direction="incoming", actor="duty", at=T0
    )
    case_service.act(xb, created.request_id, "acknowledge", actor="duty", at=T0)
    for action in ("start_execution", "refuse"):
        with pytest.raises(TransitionRefused, match="not an action on a parallel_proceedings"):
            case_service.act(
                xb, created.request_id, action, actor="duty", at=T0, params={"reason": "x"}
            )


def test_22_5_an_answer_straight_from_receipt_moves_both_nodes(world: dict[str, Any]) -> None:
    """The requested State may answer before it acknowledges: the consulting node, still at
    sent, takes the answer (both nodes end executed)."""
    xa, xb = world["ctx"]["xa-ca"].store, world["ctx"]["xb-ca"].store
    ours = case_service.new_case(
        xa, json.dumps(CONSULTATION), direction="outgoing", actor="officer", at=T0
    ).request_id
    for action in ("check", "send"):
        case_service.act(xa, ours, action, actor="officer", at=T0)
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    [theirs] = case_service.list_requests(xb, actor="duty", at=T0)
    case_service.act(
        xb, theirs.id, "answer_consultation", actor="duty", at=T0, params={"reason": "Agreed."}
    )
    [back] = _deliver(world, "xb-ca", T0 + timedelta(seconds=2))
    assert back.status == "delivered"
    for store, ident in ((xa, ours), (xb, theirs.id)):
        assert case_service.show(store, ident, actor="d", at=T0).requests[0].summary.state == (
            "executed"
        )


class _Exchange:
    """Two nodes talking in a test: each trip moves the clock a minute on and delivers one
    node's outbox."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world, self.at = world, T0

    def deliver(self, node: str) -> list[fed.Delivery]:
        self.at += timedelta(minutes=1)
        return _deliver(self.world, node, self.at)

    def travel(self, node: str) -> None:
        assert [d.status for d in self.deliver(node)] == ["delivered"]

    def preserved(self) -> tuple[str, Any]:
        """Aurelia's preservation request, delivered and preserved by Borealis, the news back
        in Aurelia: Aurelia's id and Borealis's summary of it."""
        preservation = _send(self.world)
        self.travel("xa-ca")
        xb = self.world["ctx"]["xb-ca"].store
        [theirs] = case_service.list_requests(xb, actor="duty", at=self.at)
        case_service.act(xb, theirs.id, "record_preserved", actor="duty", at=self.at)
        self.travel("xb-ca")
        return preservation, theirs

    def send_mla(self) -> str:
        """Aurelia's request for stored data (44), checked, sent and delivered: its id."""
        xa = self.world["ctx"]["xa-ca"].store
        text = MLA_EXAMPLE.read_text()
        mla = case_service.new_case(xa, text, direction="outgoing", actor="officer", at=self.at)
        for action in ("check", "send"):
            case_service.act(xa, mla.request_id, action, actor="officer", at=self.at)
        self.travel("xa-ca")
        return mla.request_id


def _uid(store: Store, request_id: str) -> str:
    with store.engine.connect() as conn:
        return str(
            conn.execute(
                select(requests_table.c.uid).where(requests_table.c.id == request_id)
            ).scalar_one()
        )


def _outbox_token(world: dict[str, Any], outbox_id: int) -> str:
    with world["ctx"]["xa-ca"].store.engine.connect() as conn:
        return str(
            conn.execute(select(outbox.c.envelope).where(outbox.c.id == outbox_id)).scalar_one()
        )


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_every_peer_action_in_every_state_is_applied_or_refused_in_its_receipt(
    world: dict[str, Any],
) -> None:
    """Issue 27 item 1: whatever the other State's node sends about a request, in whatever
    state the request stands here, the signed receipt says delivered only if this node applied
    it; otherwise it says not_applied, with why, and the sender records the message rejected
    with that reason (its case page and CLI show it). Nothing is dropped while "delivered"."""
    from hanoinet.cases.lifecycle import STATES, lifecycle

    request_id = _send(world)
    _deliver(world, "xa-ca", T0)
    uid = _uid(world["ctx"]["xa-ca"].store, request_id)
    holders = {  # who sends, who receives and holds the request in which direction
        "requested": ("xb-ca", "xa-ca"),  # Borealis's node answers Aurelia's request
        "requesting": ("xa-ca", "xb-ca"),
    }
    actions = sorted({(t.by, t.action) for t in lifecycle().transitions if t.by in holders})
    seen: dict[str, int] = {"applied": 0, "refused": 0}
    for by, action in actions:
        sender, receiver = holders[by]
        store = world["ctx"][receiver].store
        for state in STATES:
            with store.transaction() as conn:
                conn.execute(
                    update(requests_table).where(requests_table.c.uid == uid).values(state=state)
                )
            body = {"request": uid, "ref": request_id, "action": action, "params": {}}
            _, token = seal(
                json.dumps(body).encode(), sender=sender, keys=world["keys"][sender],
                recipient=world["directory"].node(receiver), type="notice", at=T0,
            )  # fmt: skip
            receipt = fed.receive(world["ctx"][receiver], token, now=T0)
            with store.engine.connect() as conn:
                kept = conn.execute(
                    select(inbox.c.status, inbox.c.error).where(
                        inbox.c.message_id == receipt.message
                    )
                ).one()
            where = f"{action} by the {by} State, in state {state}"
            if kept.status == "applied":
                assert (receipt.status, receipt.reason) == ("delivered", None), where
                seen["applied"] += 1
            else:
                assert receipt.status == "rejected", where
                assert receipt.reason == f"not_applied: {kept.error}"[:600], where
                seen["refused"] += 1
    assert seen["applied"] >= 10 and seen["refused"] >= len(actions), seen


def test_a_follow_up_the_peer_cannot_apply_comes_back_rejected_with_why(
    world: dict[str, Any],
) -> None:
    """The sender's side: an action the receiving node refuses to apply is settled as
    rejected with the receipt's reason, on the outbox row and in the case's events."""
    request_id = _send(world)
    _deliver(world, "xa-ca", T0)
    xa = world["ctx"]["xa-ca"].store
    uid = _uid(xa, request_id)
    with world["ctx"]["xb-ca"].store.transaction() as conn:  # Borealis executed it already
        conn.execute(
            update(requests_table).where(requests_table.c.uid == uid).values(state="executed")
        )
    case_service.act(xa, request_id, "withdraw", actor="officer", at=T0, params={"reasons": "x"})
    [delivery] = _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    assert delivery.status == "rejected" and delivery.detail.startswith("not_applied: ")
    with xa.engine.connect() as conn:
        row = conn.execute(
            select(outbox.c.status, outbox.c.last_error).where(outbox.c.id == delivery.outbox_id)
        ).one()
    assert row.status == "rejected" and "not_applied" in row.last_error
    again = fed.receive(  # the same message once more: the same refusal, not "replayed"
        world["ctx"]["xb-ca"], _outbox_token(world, delivery.outbox_id), now=T0
    )
    assert again.status == "rejected" and again.reason == delivery.detail


MLA_EXAMPLE = EXAMPLE.parent / "mla-xa-xb.json"


def test_42_the_held_preservation_waits_for_the_same_request_on_both_nodes(
    world: dict[str, Any],
) -> None:
    """Issue 27 items 2 and 3: the link crosses nodes by the follow-up's global id, so each
    node holds the data for its own copy of the same request; the requested State releases
    it only once that request is decided (42)."""
    xa, xb = world["ctx"]["xa-ca"].store, world["ctx"]["xb-ca"].store
    x = _Exchange(world)

    preservation, theirs = x.preserved()
    # Borealis's numbering runs ahead: Aurelia's reference of the MLA request names another
    # request there, so only the global id can say which one it is.
    for _ in range(3):
        case_service.new_case(xb, EXAMPLE.read_text(), direction="outgoing", actor="o", at=x.at)
    mla = x.send_mla()
    their_mla = next(
        r.id
        for r in case_service.list_requests(xb, actor="d", at=x.at)
        if r.kind != "preservation" and r.direction == "incoming"
    )
    assert their_mla != mla
    case_service.act(
        xa, preservation, "link_mla", actor="officer", at=x.at, params={"related": mla}
    )
    x.travel("xa-ca")
    # Aurelia learns Borealis's reference of the MLA request from its first message about it.
    case_service.act(xb, their_mla, "acknowledge", actor="duty", at=x.at)
    x.travel("xb-ca")
    for store, own, mla_here, their_ref in (
        (xa, preservation, mla, their_mla),
        (xb, theirs.id, their_mla, mla),
    ):
        detail = case_service.show(store, own, actor="d", at=x.at).requests[0]
        assert detail.summary.state == "held"
        assert detail.held_for is not None
        assert (detail.held_for.id, detail.held_for.their_ref) == (mla_here, their_ref)
    with pytest.raises(TransitionRefused, match=f"held for request {their_mla}"):
        case_service.act(xb, theirs.id, "release", actor="d", at=x.at, params={"reason": "x"})
    case_service.act(xa, mla, "withdraw", actor="officer", at=x.at)
    x.travel("xa-ca")
    case_service.act(xb, theirs.id, "release", actor="d", at=x.at, params={"reason": "Withdrawn."})
    x.travel("xb-ca")
    assert case_service.show(xa, preservation, actor="d", at=x.at).requests[0].summary.state == (
        "executed"
    )


def test_40_27_and_40_19_consultation_and_consent_both_ways(world: dict[str, Any]) -> None:
    """Issue 27 item 5: the requested State consults proposing conditions; the requesting
    State proposes others, then accepts those the requested State comes back with; both
    nodes record the same agreed conditions. Consent for other use is asked for and given
    during execution (40(19): prior consent), and the notice of exculpatory disclosure
    reaches the requested State."""
    xa, xb = world["ctx"]["xa-ca"].store, world["ctx"]["xb-ca"].store
    x = _Exchange(world)

    ours = x.send_mla()
    [theirs] = case_service.list_requests(xb, actor="duty", at=x.at)
    first = "Used only in the proceedings named in the request."
    second = "Used only in the proceedings named in the request and their appeal."
    steps = [
        (xb, theirs.id, "acknowledge", {}),
        (xb, theirs.id, "consult", {"reason": "Can the use be limited?", "conditions": first}),
        (xa, ours, "propose_conditions", {"reason": "An appeal is likely.", "conditions": second}),
        (xb, theirs.id, "consult", {"reason": "Agreed, with the appeal.", "conditions": second}),
        (xa, ours, "accept_conditions", {}),
        (xb, theirs.id, "start_execution", {}),
        (xa, ours, "request_consent", {"matter": "Case 9/2027", "reason": "Same suspects."}),
        (xb, theirs.id, "give_consent", {"matter": "Case 9/2027", "reason": "Granted."}),
        (xb, theirs.id, "execute", {}),
        (xa, ours, "notify_exculpatory_disclosure", {"reason": "Log excerpt, trial of 2027-03-01."}),
    ]  # fmt: skip
    for store, ident, action, params in steps:
        case_service.act(store, ident, action, actor="duty", at=x.at, params=params)
        x.travel("xb-ca" if store is xb else "xa-ca")
    for store, ident in ((xa, ours), (xb, theirs.id)):
        detail = case_service.show(store, ident, actor="d", at=x.at).requests[0]
        assert detail.summary.state == "executed"
        assert detail.agreed_conditions == [second] and detail.proposed_conditions is None
        done = [e.action for e in detail.events]
        for action in ("request_consent", "give_consent", "notify_exculpatory_disclosure"):
            assert action in done
        notice = next(e for e in detail.events if e.action == "notify_exculpatory_disclosure")
        assert notice.article == "40(19)" and notice.by == "requesting"
    # Once executed there is nothing left to agree: refused before anything leaves.
    with pytest.raises(TransitionRefused, match="not allowed on a request that is executed"):
        case_service.act(xa, ours, "accept_conditions", actor="duty", at=x.at)


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_a_peer_cannot_say_how_a_step_travelled_nor_record_what_the_step_does_not_read(
    world: dict[str, Any],
) -> None:
    """Only this node records that a step came by letter (means, reference, received_on); a
    step keeps only the parameters its guards read and a reason."""
    request_id = _send(world)
    _deliver(world, "xa-ca", T0)
    uid = _uid(world["ctx"]["xa-ca"].store, request_id)
    body = {
        "request": uid, "ref": request_id, "action": "acknowledge",
        "params": {"reason": "Seen.", "means": "post", "received_on": "2026-01-01", "x": "y"},
    }  # fmt: skip
    _, token = seal(
        json.dumps(body).encode(), sender="xb-ca", keys=world["keys"]["xb-ca"],
        recipient=world["directory"].node("xa-ca"), type="notice", at=T0,
    )  # fmt: skip
    assert fed.receive(world["ctx"]["xa-ca"], token, now=T0).status == "delivered"
    detail = case_service.show(world["ctx"]["xa-ca"].store, request_id, actor="d", at=T0)
    ack = next(e for e in detail.requests[0].events if e.action == "acknowledge")
    assert ack.params == {"reason": "Seen."}


def test_42_a_link_the_requested_node_refuses_gives_the_preservation_its_clock_back(
    world: dict[str, Any],
) -> None:
    """Borealis's node cannot apply the link (its copy of the preservation was released
    meanwhile): its receipt says not_applied, and Aurelia's node records that the link was
    refused, so the preservation is preserved again with its 60-day clock, not held forever
    while the data is not held on the other side (42)."""
    xa, xb = world["ctx"]["xa-ca"].store, world["ctx"]["xb-ca"].store
    x = _Exchange(world)

    preservation, theirs = x.preserved()
    expiry = case_service.show(xa, preservation, actor="d", at=x.at).requests[0].preserved_until
    assert expiry is not None
    mla = x.send_mla()
    with xb.transaction() as conn:  # Borealis's copy moved on before the link arrived
        conn.execute(
            update(requests_table).where(requests_table.c.id == theirs.id).values(state="executed")
        )
    case_service.act(
        xa, preservation, "link_mla", actor="officer", at=x.at, params={"related": mla}
    )
    [back] = x.deliver("xa-ca")
    assert back.status == "rejected" and back.detail.startswith("not_applied: ")
    detail = case_service.show(xa, preservation, actor="d", at=x.at).requests[0]
    assert detail.summary.state == "preserved" and detail.preserved_until == expiry
    refused = [e for e in detail.events if e.action == "link_refused"]
    assert len(refused) == 1 and refused[0].by == "system" and refused[0].article == "42"
    rejected = next(e for e in detail.events if e.action == "message_rejected")
    assert rejected.params["action"] == "link_mla"
