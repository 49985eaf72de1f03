"""Formal documents between two nodes: queued on send, issued and signed by the worker,
carried as their own message, verified and kept by the requested node; every read audited."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hanoinet.documents.signature import verify
from hanoinet.errors import DocumentFailed, InvalidInput, UnknownCase
from hanoinet.exchange.directory import Trust
from hanoinet.services import cases as case_service
from hanoinet.services import documents
from hanoinet.services import federation as fed
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit, formal_documents, outbox, requests

from . import test_federation
from .test_federation import EXAMPLE, T0, _deliver, _send

world = test_federation.world  # the fixture: two nodes, each with its own database


def _actions(store: Any) -> list[str]:
    with store.engine.connect() as conn:
        return [r.action for r in conn.execute(select(audit.c.action).order_by(audit.c.seq))]


def _incoming(world: dict[str, Any]) -> str:
    [summary] = case_service.list_requests(world["ctx"]["xb-ca"].store, actor="duty", at=T0)
    return summary.id


def test_sending_queues_the_document_and_the_worker_issues_and_sends_it(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"]
    request_id = _send(world)
    _, kept = documents.documents_of(xa.store, request_id)
    assert [(k.direction, k.status, k.pdf_sha256) for k in kept] == [("outgoing", "pending", None)]
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))  # the request goes first, never waits

    [issued] = documents.issue_pending(xa, None, now=T0 + timedelta(seconds=2))
    assert issued.status == "issued" and issued.request_id == request_id
    _, [kept_doc] = documents.documents_of(xa.store, request_id)
    assert kept_doc.status == "issued" and kept_doc.signer == "xa-ca" and kept_doc.size
    with xa.store.engine.connect() as conn:
        message = conn.execute(select(outbox).where(outbox.c.type == "document")).one()
    assert json.loads(message.payload)["request_sha256"] == kept_doc.request_sha256
    assert documents.issue_pending(xa, None, now=T0 + timedelta(seconds=3)) == []

    [delivery] = _deliver(world, "xa-ca", T0 + timedelta(seconds=4))
    assert delivery.status == "delivered", delivery
    xb = world["ctx"]["xb-ca"]
    incoming = _incoming(world)
    _, [received] = documents.documents_of(xb.store, incoming)
    assert (received.direction, received.status, received.signer) == (
        "incoming",
        "received",
        "xa-ca",
    )
    assert received.problem is None and received.pdf_sha256 == kept_doc.pdf_sha256
    stored, pdf = documents.read_pdf(
        xb.store, incoming, received.id, actor="duty", at=T0 + timedelta(seconds=5)
    )
    assert stored.id == received.id
    result = verify(pdf, Trust({}, directory=world["directory"]))
    assert result.ok and result.signer and result.signer["node"] == "xa-ca"
    assert "document.received" in _actions(xb.store) and "document.read" in _actions(xb.store)
    assert "document.issued" in _actions(xa.store)
    for store in (xa.store, xb.store):
        with store.transaction() as conn:
            assert audit_log.verify(conn).ok


def _document_message(world: dict[str, Any]) -> dict[str, Any]:
    xa = world["ctx"]["xa-ca"]
    _send(world)
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    documents.issue_pending(xa, None, now=T0 + timedelta(seconds=2))
    with xa.store.engine.connect() as conn:
        message = conn.execute(select(outbox).where(outbox.c.type == "document")).one()
    return dict(json.loads(message.payload))


def _receive(world: dict[str, Any], body: dict[str, Any], sender: str = "xa-ca") -> Any:
    xb = world["ctx"]["xb-ca"]
    with xb.store.transaction() as conn:
        row = conn.execute(select(requests).where(requests.c.uid == body["request"])).one()
        return documents.receive(conn, xb, sender, body, row, T0 + timedelta(seconds=9))


def test_an_altered_document_is_kept_as_invalid_and_the_request_stands(
    world: dict[str, Any],
) -> None:
    body = _document_message(world)
    pdf = bytearray(base64.b64decode(body["pdf"]))
    at = pdf.index(b"/Type /Page")  # a byte in the signed content
    pdf[at + 1] ^= 0x20
    body["pdf"] = base64.b64encode(bytes(pdf)).decode()
    status, error, _ = _receive(world, body)
    assert (status, error) == ("applied", None)
    incoming = _incoming(world)
    _, [kept] = documents.documents_of(world["ctx"]["xb-ca"].store, incoming)
    assert kept.status == "invalid" and kept.problem
    assert "signature" in kept.problem or "structure" in kept.problem
    [summary] = case_service.list_requests(world["ctx"]["xb-ca"].store, actor="duty", at=T0)
    assert summary.state == "received"


def test_a_document_sent_by_another_node_than_its_signer_is_invalid(
    world: dict[str, Any],
) -> None:
    body = _document_message(world)
    _receive(world, body, sender="xb-ca")
    _, [kept] = documents.documents_of(world["ctx"]["xb-ca"].store, _incoming(world))
    assert kept.status == "invalid"
    assert kept.problem == "signer: signed by node xa-ca, but sent by node xb-ca"


def test_a_document_for_another_request_is_invalid(world: dict[str, Any]) -> None:
    body = _document_message(world)
    xb = world["ctx"]["xb-ca"]
    incoming = _incoming(world)
    with xb.store.transaction() as conn:  # the receiver holds a different text
        conn.execute(
            case_service.requests.update()
            .where(case_service.requests.c.id == incoming)
            .values(document_sha256="0" * 64)
        )
    _receive(world, body)
    _, [kept] = documents.documents_of(xb.store, incoming)
    assert kept.status == "invalid" and kept.problem and "request:" in kept.problem


def test_malformed_document_messages_are_unapplied(world: dict[str, Any]) -> None:
    # A document for no request of this peer is refused at the inbox (tests/security).
    body = _document_message(world)
    assert _receive(world, {"request": body["request"], "pdf": "not base64!"})[0] == "unapplied"
    with world["ctx"]["xb-ca"].store.engine.connect() as conn:
        assert conn.execute(select(formal_documents)).all() == []


def test_a_language_or_hash_a_peer_made_up_is_not_kept(world: dict[str, Any]) -> None:
    body = _document_message(world)
    body["pdf"] = base64.b64encode(b"%PDF-1.7 not a signed document").decode()
    hostile = {**body, "lang": 'en"\r\nSet-Cookie: x=1', "request_sha256": "../../etc"}
    assert _receive(world, hostile)[0] == "applied"
    _, [kept] = documents.documents_of(world["ctx"]["xb-ca"].store, _incoming(world))
    assert kept.status == "invalid"
    assert (kept.lang, kept.request_sha256) == (None, "")


def test_a_document_that_cannot_be_made_is_failed_with_the_reason(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    xa = world["ctx"]["xa-ca"]
    request_id = _send(world)

    def no_font(*_args: Any, **_kwargs: Any) -> Any:
        raise DocumentFailed("the font 'Noto Serif' is not installed")

    monkeypatch.setattr(documents, "make", no_font)
    [failed] = documents.issue_pending(xa, None, now=T0 + timedelta(seconds=2))
    assert failed.status == "failed"
    _, [kept] = documents.documents_of(xa.store, request_id)
    assert (kept.status, kept.problem) == ("failed", "the font 'Noto Serif' is not installed")
    with xa.store.engine.connect() as conn:
        assert conn.execute(select(outbox).where(outbox.c.type == "document")).all() == []
    assert "document.failed" in _actions(xa.store)


def test_a_failed_document_is_issued_once_queued_again(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    xa = world["ctx"]["xa-ca"]
    request_id = _send(world)
    with pytest.raises(InvalidInput, match="has no formal document that failed"):
        documents.reissue(xa.store, request_id, actor="officer", at=T0)
    [failed] = documents.issue_pending(xa, None, now=T0, enabled=False)
    assert failed.status == "failed"
    _, [kept] = documents.documents_of(xa.store, request_id)
    assert kept.problem == documents.NOT_ISSUED
    again = documents.reissue(xa.store, request_id, actor="officer", at=T0 + timedelta(minutes=1))
    assert (again.id, again.status, again.problem) == (kept.id, "pending", None)
    [issued] = documents.issue_pending(xa, None, now=T0 + timedelta(minutes=2))
    assert issued.status == "issued" and issued.document_id == kept.id
    assert "document.reissue" in _actions(xa.store)


def test_two_workers_issue_a_document_once(world: dict[str, Any]) -> None:
    xa = world["ctx"]["xa-ca"]
    _send(world)
    real = documents._keep_issued
    raced: list[Any] = []

    def first_the_other_worker(store: Any, r: Any, made: Any, issuer: Any, now: Any) -> Any:
        if not raced:
            raced.append(real(store, r, made, issuer, now))
        return real(store, r, made, issuer, now)

    documents._keep_issued = first_the_other_worker  # type: ignore[assignment]
    try:
        [outcome] = documents.issue_pending(xa, None, now=T0 + timedelta(seconds=2))
    finally:
        documents._keep_issued = real  # type: ignore[assignment]
    assert raced[0].status == "issued" and outcome.status == "skipped"
    with xa.store.engine.connect() as conn:
        assert len(conn.execute(select(outbox).where(outbox.c.type == "document")).all()) == 1


def test_rendering_is_audited_and_signed_only_once_sent_by_this_node(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"]
    issuer = documents.signer(xa, None, T0)
    created = case_service.new_case(
        xa.store, EXAMPLE.read_text(), direction="outgoing", actor="officer", at=T0
    )
    unsent = documents.render_request(
        xa.store, created.request_id, lang="fr", actor="officer", at=T0, issuer=issuer
    )
    assert unsent.made.lang == "fr" and not unsent.made.signed
    case_service.act(xa.store, created.request_id, "check", actor="officer", at=T0)
    case_service.act(xa.store, created.request_id, "send", actor="officer", at=T0)
    sent = documents.render_request(
        xa.store, created.request_id, lang="es", actor="officer", at=T0, issuer=issuer
    )
    assert sent.made.signed and sent.made.lang == "es"
    assert _actions(xa.store).count("document.render") == 2
    _deliver(world, "xa-ca", T0 + timedelta(seconds=1))
    xb = world["ctx"]["xb-ca"]
    theirs = documents.render_request(
        xb.store,
        _incoming(world),
        lang=None,
        actor="duty",
        at=T0,
        issuer=documents.signer(xb, None, T0),
    )
    assert not theirs.made.signed  # this node is not the issuer of an incoming request
    with pytest.raises(UnknownCase, match="no formal document 99"):
        documents.read_pdf(xb.store, _incoming(world), 99, actor="duty", at=T0)


def test_federation_routes_document_messages(world: dict[str, Any]) -> None:
    assert fed.documents is documents


def _pdf_text(pdf: bytes) -> str:
    import subprocess

    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(out.replace("\u2068", "").replace("\u2069", "").split())


def test_a_document_made_on_either_node_names_the_other_states_reference(
    world: dict[str, Any],
) -> None:
    """The formal document carries the sender's reference (``ref``) like every message; a
    document made once the other State's number is known prints it under this node's."""
    xa, xb = world["ctx"]["xa-ca"], world["ctx"]["xb-ca"]
    case_service.new_case(xb.store, EXAMPLE.read_text(), direction="outgoing", actor="d", at=T0)
    payload = _document_message(world)
    assert payload["ref"] == "R-000001"
    incoming = next(
        r.id
        for r in case_service.list_requests(xb.store, actor="duty", at=T0)
        if r.direction == "incoming"
    )
    theirs = documents.render_request(xb.store, incoming, lang="en", actor="duty", at=T0)
    text = _pdf_text(theirs.made.pdf)
    assert "R-000002" in text and "Reference of Aurelia (demo State): R-000001" in text
    mine = documents.render_request(xa.store, "R-000001", lang="fr", actor="o", at=T0)
    assert "Référence attribuée par" not in _pdf_text(mine.made.pdf)  # not known yet
    case_service.act(xb.store, incoming, "acknowledge", actor="duty", at=T0)
    _deliver(world, "xb-ca", T0 + timedelta(seconds=3))
    mine = documents.render_request(xa.store, "R-000001", lang="fr", actor="o", at=T0)
    assert "Référence attribuée par Borealis (État de démonstration) : R-000002" in _pdf_text(
        mine.made.pdf
    )
