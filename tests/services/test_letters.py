"""The letters this node owes a State that runs no node (issue 24 item 4): each step it takes
on such a request waits as a letter to send, with its formal letter (signed, in the
request's language, carrying the request); sent by e-mail over STARTTLS to a real SMTP
server on loopback, or recorded as posted with its reference; once only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hanoinet.documents.signature import verify
from hanoinet.errors import InvalidInput, NotDispatched
from hanoinet.exchange.directory import Trust
from hanoinet.law import default_context
from hanoinet.services import cases as case_service
from hanoinet.services import letters
from hanoinet.services.outside import (
    Mailer,
    dispatches_of,
    recipient,
    register_letter,
    send_outside,
)
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit

from . import test_federation, test_outside
from .test_federation import EXAMPLE, T0

world = test_federation.world  # two nodes, XA and XB; Dorado (XD) runs none
smtp = test_outside.smtp
Inbox = test_outside.Inbox
LATER = T0 + dt.timedelta(hours=2)


def _dorado_address(document: dict[str, Any]) -> str:
    designation = default_context(T0.date()).designations.get("XD")
    to = recipient(designation, document.get("channel"))
    assert to is not None and to.email
    return to.email


def _from_dorado(world: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A request Dorado sent Borealis (XB) through the diplomatic channel, registered."""
    xb = world["ctx"]["xb-ca"].store
    letter = json.loads(EXAMPLE.read_text()) | {"requesting_state": "XD", "requested_state": "XB"}
    received = register_letter(
        xb, json.dumps(letter), means="diplomatic", occurred_at=T0, scans=[],
        reference="NV 45/2026", actor="clerk", at=T0 + dt.timedelta(minutes=5),
    )  # fmt: skip
    return received.request_id, letter


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


def test_an_answer_to_a_letter_is_a_letter_sent_by_email_signed(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer], tmp_path: Path
) -> None:
    inbox, mailer = smtp
    ctx = world["ctx"]["xb-ca"]
    ident, document = _from_dorado(world)
    case_service.act(ctx.store, ident, "acknowledge", actor="duty", at=LATER)
    [came, owed] = dispatches_of(ctx.store, ident)
    assert (came.direction, came.action) == ("in", "receive")
    assert (owed.direction, owed.action, owed.status, owed.means) == (
        "out",
        "acknowledge",
        "to_send",
        "diplomatic",  # by the means it came, unless the officer chooses another
    )
    # Printed first, if it is to be posted: signed, and the request it answers inside.
    printed = letters.letter_document(ctx, ident, owed.id, actor="duty", at=LATER)
    assert printed.lang == "en"
    sent = letters.send_letter(
        ctx, ident, owed.id, means="email", mailer=mailer, actor="duty", at=LATER
    )
    address = _dorado_address(document)
    assert (sent.action, sent.means, sent.status, sent.address) == (
        "acknowledge",
        "email",
        "sent",
        address,
    )
    [(_sender, recipients, raw)] = inbox.messages
    assert recipients == [address]
    message = message_from_bytes(raw, policy=policy.default)
    assert str(message["Subject"]).startswith(f"Acknowledgement of receipt · request {ident}")
    assert str(message["X-Hanoinet-Step"]).strip() == "acknowledge"
    [pdf] = [part.get_content() for part in message.iter_attachments()]
    checked = verify(pdf, Trust({}, directory=world["directory"]))
    assert checked.ok, checked.to_json()
    assert checked.request and checked.request["request_id"] == ident
    assert checked.request["letter"]["action"] == "acknowledge"
    text = _pdf_text(pdf, tmp_path)
    assert "Acknowledgement of receipt" in text and "Borealis" in text and "Dorado" in text
    [_, kept] = dispatches_of(ctx.store, ident)
    assert (kept.status, kept.reference) == ("sent", str(message["Message-ID"]))
    assert [f.filename for f in kept.files] == [f"letter-{ident}-acknowledge.pdf"]
    with pytest.raises(InvalidInput, match="is sent: it is sent once"):
        letters.send_letter(
            ctx, ident, owed.id, means="post", reference="RR 2", actor="d", at=LATER
        )
    with ctx.store.transaction() as conn:
        actions = [r.action for r in conn.execute(select(audit.c.action))]
        assert audit_log.verify(conn).ok
    assert "document.render" in actions and actions.count("dispatch.sent") == 1


def test_a_refusal_letter_states_its_ground_and_reasons(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ctx = world["ctx"]["xb-ca"]
    ident, _document = _from_dorado(world)
    store = ctx.store
    case_service.act(store, ident, "acknowledge", actor="duty", at=LATER)
    case_service.act(
        store, ident, "consult", actor="duty", at=LATER, params={"reason": "Before refusing."}
    )
    case_service.act(
        store, ident, "refuse", actor="duty", at=LATER,
        params={"ground": "preservation_essential_interests", "reason": "It would prejudice our security."},
    )  # fmt: skip
    owed = [x for x in dispatches_of(store, ident) if x.direction == "out"]
    assert [(x.action, x.status) for x in owed] == [
        ("acknowledge", "to_send"),
        ("consult", "to_send"),
        ("refuse", "to_send"),
    ]
    made = letters.letter_document(ctx, ident, owed[2].id, actor="duty", at=LATER)
    text = _pdf_text(made.pdf, tmp_path)
    assert "Refusal of the request" in text
    assert "It would prejudice our security." in text
    assert "Ground:" in text and "essential interests" in text


def test_a_step_on_a_request_sent_by_post_waits_as_a_letter_posted_with_its_reference(
    world: dict[str, Any], smtp: tuple[Inbox, Mailer]
) -> None:
    inbox, mailer = smtp
    ctx = world["ctx"]["xa-ca"]
    document = json.loads(EXAMPLE.read_text()) | {"requested_state": "XD"}
    made = case_service.new_case(
        ctx.store, json.dumps(document), direction="outgoing", actor="o", at=T0
    )
    ident = made.request_id
    case_service.act(ctx.store, ident, "check", actor="o", at=T0)
    send_outside(ctx, ident, means="post", reference="RR 1", actor="o", at=T0)
    case_service.act(ctx.store, ident, "status_enquiry", actor="o", at=LATER)
    [_, owed] = dispatches_of(ctx.store, ident)
    assert (owed.action, owed.status, owed.means) == ("status_enquiry", "to_send", "post")
    with pytest.raises(InvalidInput, match="needs its reference"):
        letters.send_letter(ctx, ident, owed.id, means=None, actor="o", at=LATER)
    # A mail server that refuses: the letter stays to send, the reason kept.
    broken = Mailer("127.0.0.1", test_outside._free_port(), mailer.sender, timeout=2)
    with pytest.raises(NotDispatched, match="was not sent"):
        letters.send_letter(ctx, ident, owed.id, means="email", mailer=broken, actor="o", at=LATER)
    [_, failed] = dispatches_of(ctx.store, ident)
    assert failed.status == "failed" and failed.problem
    posted = letters.send_letter(
        ctx, ident, owed.id, means=None, reference="RR 2", actor="o", at=LATER
    )
    assert (posted.means, posted.status, posted.reference) == ("post", "recorded", "RR 2")
    assert inbox.messages == []


def test_no_letter_for_a_networked_request_or_a_request_never_sent(
    world: dict[str, Any],
) -> None:
    xa = world["ctx"]["xa-ca"].store
    networked = case_service.new_case(
        xa, EXAMPLE.read_text(), direction="outgoing", actor="o", at=T0
    ).request_id
    case_service.act(xa, networked, "check", actor="o", at=T0)
    case_service.act(xa, networked, "send", actor="o", at=T0)
    case_service.act(xa, networked, "status_enquiry", actor="o", at=LATER)
    assert dispatches_of(xa, networked) == []
    document = json.loads(EXAMPLE.read_text()) | {"requested_state": "XD"}
    unsent = case_service.new_case(
        xa, json.dumps(document), direction="outgoing", actor="o", at=T0
    ).request_id
    case_service.act(xa, unsent, "withdraw", actor="o", at=T0)
    assert dispatches_of(xa, unsent) == []
    with pytest.raises(Exception, match="no letter 999 to send"):
        letters.send_letter(world["ctx"]["xa-ca"], networked, 999, means="post", actor="o", at=T0)
