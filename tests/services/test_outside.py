"""Requests to a State that runs no node (issue 24): e-mailed over STARTTLS to a real SMTP
server on loopback (aiosmtpd), or recorded as dispatched by post, courier or the diplomatic
channel; a refusal leaves the request as it was, with the reason kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from sqlalchemy import select

from hanoinet.documents.signature import verify
from hanoinet.errors import InvalidInput, NotDispatched, TransitionRefused
from hanoinet.exchange.directory import Trust
from hanoinet.services import cases as case_service
from hanoinet.services import documents
from hanoinet.services.outside import Mailer, send_outside
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import attachments, audit, dispatches, outbox, requests

from . import test_federation
from .test_federation import EXAMPLE, T0

world = test_federation.world  # two nodes, XA and XB; Dorado (XD) runs none
DORADO_247 = "247@policia.dorado.example"
PASSWORD = "correct horse battery staple"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-issued certificate for 127.0.0.1: the mail server's, and the CA file to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What the server received: (envelope sender, recipients, the message's bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, Mailer]]:
    """A real SMTP server on loopback that requires STARTTLS and a log-in, and the node's
    mailer set to use it."""
    cert_file, key_file = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield (
            inbox,
            Mailer(
                "127.0.0.1",
                port,
                "mla@justice.aurelia.example",
                "aurelia",
                SecretStr(PASSWORD),
                cert_file,
                timeout=10,
            ),
        )
    finally:
        controller.stop()


def _checked_to_dorado(world: dict[str, Any]) -> str:
    store = world["ctx"]["xa-ca"].store
    document = json.loads(EXAMPLE.read_text())
    document["requested_state"] = "XD"
    document["references"] = {"own_reference": "AUR-CCU-2026-0042 (demo)"}
    created = case_service.new_case(
        store, json.dumps(document), direction="outgoing", actor="officer", at=T0
    )
    case_service.act(store, created.request_id, "check", actor="officer", at=T0)
    return created.request_id


def _rows(store: Any, table: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def test_a_request_to_a_state_without_a_node_is_emailed_with_both_attachments(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer], tmp_path: Path
) -> None:
    inbox, mailer = smtp
    xa = world["ctx"]["xa-ca"]
    ident = _checked_to_dorado(world)
    sent = send_outside(xa, ident, means="email", mailer=mailer, actor="officer", at=T0)
    assert (sent.status, sent.address) == ("sent", DORADO_247)
    [(sender, recipients, raw)] = inbox.messages
    assert (sender, recipients) == ("mla@justice.aurelia.example", [DORADO_247])
    message = message_from_bytes(raw, policy=policy.default)
    subject = str(message["Subject"])
    assert ident in subject and "AUR-CCU-2026-0042 (demo)" in subject  # both references
    [pdf, data] = [part.get_content() for part in message.iter_attachments()]
    [row] = _rows(xa.store, requests)
    assert data == row.document.encode()  # the request as stored, byte for byte
    assert hashlib.sha256(data).hexdigest() == row.document_sha256 == sent.request_sha256
    assert str(message["X-Hanoinet-Request-SHA256"]).strip() == row.document_sha256
    assert row.document_sha256 in message.get_body(("plain",)).get_content()
    result = verify(pdf, Trust({}, directory=world["directory"]))
    assert result.ok and result.signer and result.signer["node"] == "xa-ca"
    assert result.signer["kid"] == xa.keys.active("doc", T0).kid  # the P-256 document key
    # ... and what Dorado opens it with says so too: Poppler's pdfsig (item 5).
    pdf_file = tmp_path / "request.pdf"
    pdf_file.write_bytes(pdf)
    said = subprocess.run(["pdfsig", str(pdf_file)], capture_output=True, text=True, check=False)
    assert "Signature Validation: Signature is Valid." in said.stdout, said.stdout
    assert "Total document signed" in said.stdout
    # The same lifecycle as a networked request, and nothing in the outbox for a node.
    assert (row.state, row.means) == ("sent", "email")
    assert _rows(xa.store, outbox) == []
    [dispatch] = _rows(xa.store, dispatches)
    assert (dispatch.status, dispatch.means, dispatch.reference) == (
        "sent",
        "email",
        str(message["Message-ID"]),
    )
    kept = {a.filename: a for a in _rows(xa.store, attachments)}
    assert kept[f"request-{ident}.pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
    assert kept[f"request-{ident}.json"].sha256 == row.document_sha256
    _, [document] = documents.documents_of(xa.store, ident)
    assert (document.status, document.signer) == ("issued", "xa-ca")
    detail = case_service.show(xa.store, ident, actor="officer", at=T0).requests[0]
    send = next(e for e in detail.events if e.action == "send")
    assert send.params["means"] == "email"
    with xa.store.transaction() as conn:
        assert audit_log.verify(conn).ok


def test_a_refused_connection_leaves_the_request_not_dispatched_with_its_reason(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer]
) -> None:
    _, mailer = smtp
    closed = Mailer("127.0.0.1", _free_port(), mailer.sender, ca_file=mailer.ca_file, timeout=5)
    xa = world["ctx"]["xa-ca"]
    ident = _checked_to_dorado(world)
    with pytest.raises(NotDispatched, match="refused the connection") as info:
        send_outside(xa, ident, means="email", mailer=closed, actor="officer", at=T0)
    assert f"{ident} was not dispatched" in info.value.message
    [row] = _rows(xa.store, requests)
    assert (row.state, row.means) == ("checked", "network")  # nothing half-recorded
    [failed] = _rows(xa.store, dispatches)
    assert failed.status == "failed" and "refused the connection" in failed.problem
    assert _rows(xa.store, attachments) == [] and _rows(xa.store, outbox) == []
    _, kept = documents.documents_of(xa.store, ident)
    assert kept == []
    with xa.store.engine.connect() as conn:
        assert "dispatch.failed" in [r.action for r in conn.execute(select(audit.c.action))]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"password": SecretStr("wrong")}, "refused the log-in of aurelia"),
        ({"ca_file": None}, "could not be verified"),
    ],
)
def test_a_mail_server_that_refuses_is_named_with_what_to_fix(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer], change: dict[str, Any], words: str
) -> None:
    inbox, mailer = smtp
    from dataclasses import replace

    xa = world["ctx"]["xa-ca"]
    ident = _checked_to_dorado(world)
    with pytest.raises(NotDispatched, match=words):
        send_outside(xa, ident, means="email", mailer=replace(mailer, **change), actor="o", at=T0)
    assert inbox.messages == []
    assert [r.state for r in _rows(xa.store, requests)] == ["checked"]


def test_a_dispatch_by_post_is_recorded_with_its_reference_and_the_document(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"]
    ident = _checked_to_dorado(world)
    with pytest.raises(InvalidInput, match="needs its reference"):
        send_outside(xa, ident, means="post", actor="officer", at=T0)
    sent = send_outside(
        xa, ident, means="diplomatic", reference="Note verbale 123/2026", actor="officer", at=T0
    )
    assert (sent.status, sent.reference) == ("recorded", "Note verbale 123/2026")
    assert "Avenida Central 100" not in sent.address  # the 24/7 point published no post
    [row] = _rows(xa.store, requests)
    assert (row.state, row.means) == ("sent", "diplomatic")
    [dispatch] = _rows(xa.store, dispatches)
    assert (dispatch.means, dispatch.status) == ("diplomatic", "recorded")
    assert len(_rows(xa.store, attachments)) == 2


def test_bad_dispatches_are_refused_and_change_nothing(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer]
) -> None:
    _, mailer = smtp
    xa = world["ctx"]["xa-ca"]
    ident = _checked_to_dorado(world)
    with pytest.raises(InvalidInput, match="use one of email, post, courier, diplomatic"):
        send_outside(xa, ident, means="pigeon", actor="o", at=T0)
    with pytest.raises(InvalidInput, match="needs this node's mail server"):
        send_outside(xa, ident, means="email", actor="o", at=T0)
    # A State that runs a node is reached over the network.
    networked = json.loads(EXAMPLE.read_text())
    created = case_service.new_case(
        xa.store, json.dumps(networked), direction="outgoing", actor="o", at=T0
    )
    with pytest.raises(InvalidInput, match="XB runs a node"):
        send_outside(xa, created.request_id, means="email", mailer=mailer, actor="o", at=T0)
    # The lifecycle's guards hold before anything is made or mailed: a draft is not sent.
    draft = json.loads(EXAMPLE.read_text()) | {"requested_state": "XD"}
    unchecked = case_service.new_case(
        xa.store, json.dumps(draft), direction="outgoing", actor="o", at=T0
    )
    with pytest.raises(TransitionRefused):
        send_outside(xa, unchecked.request_id, means="email", mailer=mailer, actor="o", at=T0)
    assert _rows(xa.store, dispatches) == [] and _rows(xa.store, attachments) == []
    assert {r.state for r in _rows(xa.store, requests)} == {"checked", "draft"}


def test_a_state_that_published_no_email_is_refused_by_email(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer]
) -> None:
    """Caldera (XC) published an e-mail only inside free text: not an address to send to."""
    _, mailer = smtp
    xa = world["ctx"]["xa-ca"]
    document = json.loads(EXAMPLE.read_text()) | {
        "requested_state": "XC",
        "channel": "central_authority",
        "language": "fr",
    }
    created = case_service.new_case(
        xa.store, json.dumps(document), direction="outgoing", actor="o", at=T0
    )
    with pytest.raises(InvalidInput, match="XC has published no e-mail address"):
        send_outside(xa, created.request_id, means="email", mailer=mailer, actor="o", at=T0)
    assert _rows(xa.store, dispatches) == []


# --- what comes back, and what arrives, by hand ------------------------------------------------

from hanoinet.services.outside import (  # noqa: E402
    MAX_ATTACHMENT_BYTES,
    Scan,
    dispatches_of,
    read_attachment,
    record_by_hand,
    register_letter,
)

PDF = Scan("reply.pdf", b"%PDF-1.7\n% a scanned letter (test)\n%%EOF\n")
JPEG = Scan("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 64)
EML = Scan(
    "reply.eml",
    b"From: 247@policia.dorado.example\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"Subject: RE: R-000001\r\n\r\nWe need the exact time of the access.\r\n",
)


def _sent_to_dorado(world: dict[str, Any]) -> str:
    ident = _checked_to_dorado(world)
    send_outside(
        world["ctx"]["xa-ca"], ident, means="post", reference="RR 1", actor="officer", at=T0
    )
    return ident


def _tracks(store: Any, at: dt.datetime) -> list[Any]:
    from hanoinet.services import stats as stats_service

    return stats_service.tracks(store, stats_service.default_period(at), at)


def _state(store: Any, ident: str) -> str:
    return str(case_service.show(store, ident, actor="o", at=T0).requests[0].summary.state)


def test_what_comes_back_by_hand_moves_the_same_lifecycle_with_its_scans(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"].store
    ident = _sent_to_dorado(world)
    later = T0 + dt.timedelta(days=2)
    steps: list[tuple[str, str, list[Scan], dict[str, str]]] = [
        ("acknowledge", "post", [PDF], {}),
        ("request_more_info", "email", [EML], {"reason": "The exact time of the access."}),
    ]
    for action, means, scans, params in steps:
        record_by_hand(
            xa, ident, action, means=means, occurred_at=T0 + dt.timedelta(days=1), scans=scans,
            params=params, reference="DOR-2026-77", actor="clerk", at=later,
        )  # fmt: skip
    assert _state(xa, ident) == "more_info_requested"
    # Our answer is ours to send by post: nothing goes to the outbox of a node.
    case_service.act(
        xa, ident, "provide_more_info", actor="officer", at=later, params={"reason": "02:14 UTC"}
    )
    for action in ("start_execution", "execute"):
        record_by_hand(
            xa, ident, action, means="courier", occurred_at=later, scans=[JPEG], actor="clerk",
            at=later,
        )  # fmt: skip
    assert _state(xa, ident) == "executed"
    assert _rows(xa, outbox) == []
    letters = dispatches_of(xa, ident)
    assert [(x.direction, x.action, x.means, x.status) for x in letters] == [
        ("out", "send", "post", "recorded"),
        ("in", "acknowledge", "post", "received"),
        ("in", "request_more_info", "email", "received"),
        ("out", "provide_more_info", "post", "to_send"),  # our answer, its letter to send
        ("in", "start_execution", "courier", "received"),
        ("in", "execute", "courier", "received"),
    ]
    eml = letters[2].files[0]
    assert (eml.filename, eml.media_type) == ("reply.eml", "message/rfc822")
    assert eml.sha256 == hashlib.sha256(EML.content).hexdigest()
    kept, content = read_attachment(xa, ident, eml.id, actor="auditor", at=later)
    assert content == EML.content and kept.sha256 == eml.sha256
    detail = case_service.show(xa, ident, actor="o", at=later).requests[0]
    ack = next(e for e in detail.events if e.action == "acknowledge")
    assert ack.params["means"] == "post" and ack.params["received_on"].startswith("2026-11-25")
    with xa.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit.c.action))]
    assert actions.count("dispatch.received") == 4 and "attachment.read" in actions
    # Statistics count it under its channel, its clocks from what was recorded (item 6).
    [track] = _tracks(xa, later)
    assert (track.direction, track.channel, track.outcome) == ("outgoing", "post", "executed")
    assert track.times[0] == (later - T0).total_seconds()  # acknowledged, as recorded
    with xa.transaction() as conn:
        assert audit_log.verify(conn).ok


def test_a_refusal_by_letter_needs_its_ground_reasons_and_consultation(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"].store
    ident = _sent_to_dorado(world)
    refusal = {"ground": "preservation_essential_interests", "reason": "Sovereignty (demo)."}
    with pytest.raises(TransitionRefused, match="consult"):
        record_by_hand(
            xa, ident, "refuse", means="post", occurred_at=T0, scans=[PDF], params=refusal,
            actor="clerk", at=T0,
        )  # fmt: skip
    assert _state(xa, ident) == "sent" and len(dispatches_of(xa, ident)) == 1
    record_by_hand(
        xa, ident, "consult", means="email", occurred_at=T0, scans=[EML],
        params={"reason": "Could it be given under conditions?"}, actor="clerk", at=T0,
    )  # fmt: skip
    record_by_hand(
        xa, ident, "refuse", means="post", occurred_at=T0, scans=[PDF], params=refusal,
        actor="clerk", at=T0,
    )  # fmt: skip
    assert _state(xa, ident) == "refused"


@pytest.mark.parametrize(
    ("scans", "words"),
    [
        ([Scan("reply.pdf", b"<html>not a pdf</html>")], "reply.pdf is not a PDF"),
        ([Scan("reply.eml", b"\x00\x01binary")], "reply.eml is not an e-mail"),
        ([Scan("reply.docx", b"PK\x03\x04")], "not .docx"),
        ([Scan("reply.pdf", b"")], "reply.pdf is empty"),
        ([Scan("big.pdf", b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES)], "at most 26,214,400"),
    ],
)
def test_an_attachment_that_is_not_what_it_claims_is_refused_and_nothing_changes(
    world: dict[str, Any], scans: list[Scan], words: str
) -> None:
    xa = world["ctx"]["xa-ca"].store
    ident = _sent_to_dorado(world)
    with pytest.raises(InvalidInput, match=words):
        record_by_hand(
            xa, ident, "acknowledge", means="post", occurred_at=T0, scans=scans, actor="c", at=T0
        )
    assert _state(xa, ident) == "sent"
    assert [x.direction for x in dispatches_of(xa, ident)] == ["out"]


def test_a_reply_out_of_order_or_out_of_place_is_refused_and_nothing_changes(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"].store
    ident = _sent_to_dorado(world)
    with pytest.raises(TransitionRefused):  # executed before it was even acknowledged
        record_by_hand(
            xa, ident, "execute", means="post", occurred_at=T0, scans=[PDF], actor="c", at=T0
        )
    with pytest.raises(InvalidInput, match="is after today"):
        record_by_hand(
            xa, ident, "acknowledge", means="post", occurred_at=T0 + dt.timedelta(days=1),
            scans=[PDF], actor="c", at=T0,
        )  # fmt: skip
    networked = case_service.new_case(
        xa, EXAMPLE.read_text(), direction="outgoing", actor="o", at=T0
    ).request_id
    with pytest.raises(InvalidInput, match="travels over the network"):
        record_by_hand(
            xa, networked, "acknowledge", means="post", occurred_at=T0, scans=[], actor="c", at=T0
        )
    assert _state(xa, ident) == "sent" and len(dispatches_of(xa, ident)) == 1


def test_a_request_that_came_by_letter_is_registered_and_answered_by_post(
    world: dict[str, Any],
) -> None:
    xb = world["ctx"]["xb-ca"].store
    letter = json.loads(EXAMPLE.read_text()) | {"requesting_state": "XD", "requested_state": "XB"}
    received = register_letter(
        xb, json.dumps(letter), means="diplomatic", occurred_at=T0, scans=[PDF],
        reference="Note verbale 45/2026", actor="clerk", at=T0 + dt.timedelta(hours=1),
    )  # fmt: skip
    ident = received.request_id
    [row] = _rows(xb, requests)
    assert (row.direction, row.state, row.means, row.requesting_state) == (
        "incoming",
        "received",
        "diplomatic",
        "XD",
    )
    [arrived] = dispatches_of(xb, ident)
    assert (arrived.direction, arrived.action, arrived.reference) == (
        "in",
        "receive",
        "Note verbale 45/2026",
    )
    assert arrived.files[0].sha256 == hashlib.sha256(PDF.content).hexdigest()
    case_service.act(xb, ident, "acknowledge", actor="duty", at=T0 + dt.timedelta(hours=2))
    assert _state(xb, ident) == "acknowledged"
    assert _rows(xb, outbox) == []  # the answer goes back by the means chosen, not to a node
    # Counted under the channel it came by, though registered (and so projected) first.
    [track] = _tracks(xb, T0 + dt.timedelta(hours=3))
    assert (track.direction, track.requesting_state, track.channel) == (
        "incoming",
        "XD",
        "diplomatic",
    )


def test_a_request_is_sent_once_even_when_sent_again(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer]
) -> None:
    """A request already dispatched, or being dispatched by another send right now, is not
    dispatched again; a claim abandoned by a process that died no longer blocks it."""
    inbox, mailer = smtp
    xa = world["ctx"]["xa-ca"]
    ident = _checked_to_dorado(world)
    from sqlalchemy import insert

    with xa.store.transaction() as conn:  # another send, under way for a minute
        conn.execute(
            insert(dispatches).values(
                request_id=ident, direction="out", action="send", means="email",
                status="sending", occurred_at=T0, recorded_at=T0 - dt.timedelta(minutes=1),
                actor="other",
            )
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="is already being sent or was sent"):
        send_outside(xa, ident, means="email", mailer=mailer, actor="o", at=T0)
    assert inbox.messages == []
    later = T0 + dt.timedelta(minutes=20)  # that claim is abandoned now
    send_outside(xa, ident, means="email", mailer=mailer, actor="o", at=later)
    assert len(inbox.messages) == 1
    with pytest.raises((InvalidInput, TransitionRefused)):
        send_outside(xa, ident, means="post", reference="RR 2", actor="o", at=later)
    assert len(inbox.messages) == 1
    assert [d.status for d in _rows(xa.store, dispatches)] == ["sending", "sent"]


def test_a_reference_with_a_line_break_stays_on_the_subject_line(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer]
) -> None:
    inbox, mailer = smtp
    store = world["ctx"]["xa-ca"].store
    document = json.loads(EXAMPLE.read_text()) | {
        "requested_state": "XD",
        "references": {"own_reference": "AUR-1\r\nBcc: someone@example.org"},
    }
    created = case_service.new_case(
        store, json.dumps(document), direction="outgoing", actor="o", at=T0
    )
    case_service.act(store, created.request_id, "check", actor="o", at=T0)
    send_outside(world["ctx"]["xa-ca"], created.request_id, means="email", mailer=mailer,
                 actor="o", at=T0)  # fmt: skip
    [(_, recipients, raw)] = inbox.messages
    message = message_from_bytes(raw, policy=policy.default)
    assert recipients == [DORADO_247] and message["Bcc"] is None
    assert "AUR-1 Bcc: someone@example.org" in str(message["Subject"])


def test_only_a_letter_typed_in_as_a_draft_is_registered_from_it(world: dict[str, Any]) -> None:
    """register_transcription turns a draft whose requesting State is the other one into the
    request received; a draft of this node's own request, or one already registered, is
    refused and nothing changes."""
    from hanoinet.services.outside import register_transcription

    xb = world["ctx"]["xb-ca"].store
    own = case_service.new_case(
        xb, json.dumps(json.loads(EXAMPLE.read_text()) | {"requesting_state": "XB",
                                                          "requested_state": "XA"}),
        direction="outgoing", actor="o", at=T0,
    ).request_id  # fmt: skip
    typed = case_service.new_case(
        xb, json.dumps(json.loads(EXAMPLE.read_text()) | {"requesting_state": "XD",
                                                          "requested_state": "XB"}),
        direction="outgoing", actor="o", at=T0,
    ).request_id  # fmt: skip

    def register(ident: str) -> Any:
        return register_transcription(
            xb, ident, own_state="XB", means="post", occurred_at=T0, scans=[PDF],
            actor="clerk", at=T0 + dt.timedelta(hours=1), reference="RR 3",
        )  # fmt: skip

    with pytest.raises(InvalidInput, match="not a letter typed in to register"):
        register(own)
    done = register(typed)
    detail = case_service.show(xb, typed, actor="o", at=T0).requests[0]
    assert (detail.summary.direction, detail.summary.state, detail.summary.means) == (
        "incoming",
        "received",
        "post",
    )
    assert [e.action for e in detail.events] == ["create", "receive"]
    assert done.action == "receive" and len(done.attachments) == 1
    with pytest.raises(InvalidInput, match="not a letter typed in to register"):
        register(typed)
    [track] = [t for t in _tracks(xb, T0 + dt.timedelta(hours=2)) if t.requesting_state == "XD"]
    assert (track.direction, track.channel) == ("incoming", "post")
