"""The letters this node owes a State that runs no node: one for each step it takes on a
request that travels outside the network (docs/outside.md).

When this node acknowledges, asks for more, refuses, executes, enquires or withdraws on such
a request, the case service keeps a letter "to send" beside the step (``dispatches``, in the
step's own transaction). ``letter_document`` makes its formal letter to print (signed, in
the request's language; audited). ``send_letter`` sends it: by e-mail to the address the
other State published (STARTTLS), or records it as gone by post, courier or the diplomatic
channel with its reference; the signed letter is kept with it, and the audit says so. A mail
server that refuses leaves it "failed" with the reason, to send again; nothing is half-kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from hanoinet.documents import letter as letter_document_module
from hanoinet.documents.mail import StepLetter, compose_step
from hanoinet.errors import Forbidden, HanoinetError, InvalidInput, NotDispatched, UnknownCase
from hanoinet.law import default_context
from hanoinet.services import access
from hanoinet.services import cases as case_service
from hanoinet.services import documents as documents_service
from hanoinet.services.access import Principal
from hanoinet.services.outside import (
    STALE,
    Mailer,
    _address,
    _attach,
    _audit,
    _keep_failure,
    checked_means,
    recipient,
)
from hanoinet.store.schema import dispatches, events

TO_SEND = "to_send"


@dataclass(frozen=True)
class Sent:
    request_id: str
    letter: int
    action: str
    means: str
    status: str
    address: str
    reference: str
    pdf_sha256: str
    lang: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.request_id,
            "letter": self.letter,
            "action": self.action,
            "means": self.means,
            "status": self.status,
            "address": self.address,
            "reference": self.reference,
            "pdf_sha256": self.pdf_sha256,
            "lang": self.lang,
        }


def _owed(conn: Connection, row: Any, number: int) -> tuple[Any, letter_document_module.Step]:
    """Letter ``number`` of request ``row``, one this node owes, and the step it tells."""
    found = conn.execute(
        select(dispatches).where(dispatches.c.id == number, dispatches.c.request_id == row.id)
    ).first()
    if found is None or found.direction != "out" or found.event_seq is None:
        raise UnknownCase(
            f"{row.id} has no letter {number} to send: `hanoinet case letters {row.id}` lists them"
        )
    event = conn.execute(
        select(events).where(events.c.request_id == row.id, events.c.seq == found.event_seq)
    ).one()
    step = letter_document_module.Step(
        event.action,
        event.article,
        case_service.aware(event.at),
        {str(k): str(v) for k, v in json.loads(event.params or "{}").items()},
    )
    return found, step


def _made(
    ctx: Any, row: Any, step: letter_document_module.Step, at: datetime, token: str | None
) -> letter_document_module.Made:
    doc, _findings = documents_service._checked(row.document, at)
    return letter_document_module.make(
        json.loads(row.document),
        doc,
        step,
        at=at,
        request_id=row.id,
        signer=documents_service.signer(ctx, token, at),
        peer_reference=row.peer_ref,
    )


def letter_document(
    ctx: Any,
    ident: str,
    number: int,
    *,
    actor: str,
    at: datetime,
    directory_token: str | None = None,
    principal: Principal | None = None,
) -> letter_document_module.Made:
    """The formal letter ``number`` of request ``ident``, signed, to print before it is
    posted; the reading is audited (``document.render``) before a byte is made."""
    with ctx.store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        found, step = _owed(conn, row, number)
        _audit(
            conn, row, "document.render", actor=actor, at=at,
            detail={"letter": found.id, "action": step.action},
        )  # fmt: skip
    return _made(ctx, row, step, at, directory_token)


def _other_state(row: Any) -> str:
    return str(row.requested_state if row.direction == "outgoing" else row.requesting_state)


def send_letter(
    ctx: Any,
    ident: str,
    number: int,
    *,
    means: str | None,
    actor: str,
    at: datetime,
    reference: str | None = None,
    mailer: Mailer | None = None,
    directory_token: str | None = None,
    principal: Principal | None = None,
) -> Sent:
    """Send letter ``number`` of request ``ident`` by ``means`` (else the request's)."""
    store = ctx.store
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        if principal is not None and not access.may_act(principal, direction=row.direction):
            raise Forbidden(
                access.refusal(principal, "send", direction=row.direction, request_id=row.id)
            )
        found, step = _owed(conn, row, number)
    if found.status not in (TO_SEND, "failed", "sending"):
        raise InvalidInput(_once(row, found))
    means = means or found.means
    reference = checked_means(means, reference, "a letter")
    state = _other_state(row)
    designation = default_context(at.date()).designations.get(state)
    address = _address(
        means, state, recipient(designation, json.loads(row.document).get("channel")), mailer
    )
    made = _made(ctx, row, step, at, directory_token)
    _claim(store, row, found, at)
    if means == "email":
        assert mailer is not None  # _address refused the e-mail otherwise
        doc, _findings = documents_service._checked(row.document, at)
        message = compose_step(
            StepLetter(
                row.id,
                doc,
                row.document_sha256,
                letter_document_module.TITLES[step.action],
                step.action,
                made.pdf,
                made.lang,
                ctx.me.state,
                state,
            ),
            sender=mailer.sender,
            to=address,
            at=at,
        )
        try:
            mailer.send(message)
        except NotDispatched as exc:
            _keep_failure(store, row, found.id, exc.message, at)
            raise NotDispatched(
                f"letter {found.id} of {row.id} was not sent: {exc.message}. It is kept to "
                "send again, by e-mail or by post, courier or the diplomatic channel"
            ) from None
        reference = str(message["Message-ID"])
    assert reference is not None
    pdf_sha256 = hashlib.sha256(made.pdf).hexdigest()
    status = "sent" if means == "email" else "recorded"
    try:
        with store.transaction() as conn:
            conn.execute(
                update(dispatches)
                .where(dispatches.c.id == found.id)
                .values(
                    status=status,
                    means=means,
                    address=address,
                    reference=reference,
                    problem=None,
                    occurred_at=at,
                    recorded_at=at,
                    actor=actor,
                )
            )
            _attach(
                conn, row.id, found.id, f"letter-{row.id}-{step.action}.pdf", "application/pdf",
                made.pdf, at,
            )  # fmt: skip
            _audit(
                conn, row, "dispatch.sent", actor=actor, at=at,
                detail={
                    "letter": found.id, "action": step.action, "means": means, "status": status,
                    "reference": reference, "pdf_sha256": pdf_sha256,
                },
            )  # fmt: skip
    except HanoinetError as exc:
        if means != "email":
            _keep_failure(store, row, found.id, exc.message, at)
            raise
        # The e-mail is out: never offered again as unsent; the record says what happened.
        _gone(store, found.id, f"e-mailed ({reference}), but {exc.message}", at)
        raise NotDispatched(
            f"letter {found.id} of {row.id} was e-mailed ({reference}) but could not be "
            f"recorded: {exc.message}. It is marked sent; do not send it again"
        ) from None
    return Sent(
        row.id, found.id, step.action, means, status, address, reference, pdf_sha256, made.lang
    )


def _claim(store: Any, row: Any, found: Any, at: datetime) -> None:
    """Take letter ``found`` for this sending, in one conditional update: one that went
    already, or that another send holds (for less than ``STALE``), is refused; two sends at
    once cannot both take it."""
    with store.transaction() as conn:
        taken = conn.execute(
            update(dispatches)
            .where(
                dispatches.c.id == found.id,
                or_(
                    dispatches.c.status.in_((TO_SEND, "failed")),
                    and_(dispatches.c.status == "sending", dispatches.c.recorded_at < at - STALE),
                ),
            )
            .values(status="sending", recorded_at=at)
        ).rowcount
        if taken != 1:
            current = conn.execute(select(dispatches).where(dispatches.c.id == found.id)).one()
            raise InvalidInput(_once(row, current))


def _once(row: Any, found: Any) -> str:
    return (
        f"letter {found.id} of {row.id} is {found.status}: it is sent once "
        f"(`hanoinet case letters {row.id}` shows it)"
    )


def _gone(store: Any, number: int, problem: str, at: datetime) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(dispatches)
            .where(dispatches.c.id == number)
            .values(status="sent", problem=problem, recorded_at=at)
        )
