"""Requests to States that run no node: sent as a formal document by e-mail, post, courier or
the diplomatic channel (docs/outside.md).

``send_outside`` does what ``send`` does over the network, for a State the directory lists no
node of, by the means its published designation allows:

1. it checks, as ``send`` would, without writing (the same guards: no error, approval);
2. it makes and signs the formal document in the language the requested State accepts;
3. by e-mail: it sends the document and the request as JSON to the address the State
   published, over STARTTLS only; by post, courier or the diplomatic channel: it records the
   dispatch reference (the document is then printed from the case page);
4. in one transaction: the request moves to ``sent`` (``means`` says how), the document is
   kept as issued, the dispatch with what it carried (``dispatches``, ``attachments``, each
   with its SHA-256), and the audit entry.

An e-mail the server does not take leaves the request as it was, with the attempt and its
reason kept for the case page (``NotDispatched``): nothing is half-recorded. The lifecycle,
clocks and desk are then the same as for a networked request; nothing of it goes to the
outbox, which only ever speaks to nodes.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Connection, insert, update

from hanoinet.cases.approval import DEFAULT_POLICY, Policy
from hanoinet.documents.mail import Letter, compose
from hanoinet.documents.signature import make
from hanoinet.errors import DocumentFailed, InvalidInput, NotDispatched
from hanoinet.law import default_context
from hanoinet.registry.designations import Contact, Designation
from hanoinet.services import cases as case_service
from hanoinet.services import documents as documents_service
from hanoinet.services.access import Principal
from hanoinet.settings import Settings
from hanoinet.store.schema import attachments, dispatches, formal_documents, requests

_audit = documents_service._audit  # an audit entry about a request, under its legal basis

MEANS = ("email", "post", "courier", "diplomatic")
"""How a request travels to a State that runs no node (``requests.means``; ``network``
otherwise)."""
BY_HAND = ("post", "courier", "diplomatic")
MEANS_NAMES = {
    "email": "e-mail",
    "post": "post",
    "courier": "courier",
    "diplomatic": "the diplomatic channel",
}


@dataclass(frozen=True)
class Mailer:
    """The mail server of this node (settings ``HANOINET_SMTP_*``)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    timeout: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer | None:
        """The mailer the settings describe; None when no server or no sender is set."""
        if not settings.smtp_host or not settings.smtp_sender:
            return None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_ca_file,
            settings.smtp_timeout_seconds,
        )

    def send(self, message: Any) -> None:
        """Send ``message`` over STARTTLS (never in clear); NotDispatched says why not."""
        where = f"the mail server {self.host}:{self.port}"
        try:
            context = ssl.create_default_context()
            if self.ca_file is not None:
                context.load_verify_locations(cafile=str(self.ca_file))
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise NotDispatched(
                        f"{where} does not offer STARTTLS; hanoinet sends no request in clear"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
                if self.username:
                    secret = self.password.get_secret_value() if self.password else ""
                    smtp.login(self.username, secret)
                refused = smtp.send_message(message)
        except NotDispatched:
            raise
        except smtplib.SMTPAuthenticationError:
            raise NotDispatched(
                f"{where} refused the log-in of {self.username}: check HANOINET_SMTP_USERNAME "
                "and HANOINET_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotDispatched(
                f"{where} refused the address {', '.join(exc.recipients)}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
            raise NotDispatched(f"{where} answered {exc.smtp_code} {text}".rstrip()) from None
        except ssl.SSLError as exc:
            raise NotDispatched(
                f"{where}: its TLS certificate could not be verified ({exc.reason}); set "
                "HANOINET_SMTP_CA_FILE to the CA that issued it"
            ) from None
        except (ConnectionRefusedError, TimeoutError) as exc:
            word = (
                "refused the connection"
                if isinstance(exc, ConnectionRefusedError)
                else ("did not answer in time")
            )
            raise NotDispatched(f"{where} {word}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise NotDispatched(f"{where} could not be used: {exc}") from None
        if refused:
            raise NotDispatched(f"{where} refused the address {', '.join(refused)}")


@dataclass(frozen=True)
class Dispatched:
    request_id: str
    means: str
    status: str
    """sent (e-mail accepted by the server) or recorded (post, courier, diplomatic)."""
    address: str
    reference: str
    request_sha256: str
    pdf_sha256: str
    lang: str


def recipient(designation: Designation | None, channel: str | None) -> Contact | None:
    """Whom a request goes to: the 24/7 point of contact for that channel, else the central
    authority."""
    if designation is None:
        return None
    if channel == "point_of_contact" and designation.point_of_contact is not None:
        return designation.point_of_contact
    return designation.central_authority or designation.point_of_contact


def send_outside(
    ctx: Any,
    ident: str,
    *,
    means: str,
    actor: str,
    at: datetime,
    reference: str | None = None,
    mailer: Mailer | None = None,
    directory_token: str | None = None,
    principal: Principal | None = None,
    approval_policy: Policy = DEFAULT_POLICY,
) -> Dispatched:
    """Send request ``ident`` to a State that runs no node, by ``means`` (``MEANS``)."""
    if means not in MEANS:
        raise InvalidInput(f"--by {means}: use one of {', '.join(MEANS)}")
    reference = (reference or "").strip() or None
    if means in BY_HAND and reference is None:
        raise InvalidInput(
            f"a dispatch by {MEANS_NAMES[means]} needs its reference (the registered letter's "
            "number, the courier's waybill, the note verbale's number): give --reference"
        )
    store = ctx.store
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
    if row.direction != "outgoing":
        raise InvalidInput(f"request {row.id} is incoming: only a request this node makes is sent")
    state = row.requested_state
    nodes = ctx.directory.nodes_of(state)
    if nodes:
        raise InvalidInput(
            f"{state} runs a node ({', '.join(n.id for n in nodes)}): send {row.id} over the "
            "network, without --by"
        )
    designation = default_context(at.date()).designations.get(state)
    to = recipient(designation, json.loads(row.document).get("channel"))
    address = _address(means, state, to, mailer)
    _preflight(store, row.id, actor, at, principal, approval_policy)
    made, letter = _made(ctx, row, at, directory_token)
    if means == "email":
        assert mailer is not None  # _address refused the e-mail otherwise
        message = compose(letter, sender=mailer.sender, to=address, at=at)
        try:
            mailer.send(message)
        except NotDispatched as exc:
            _keep_failure(store, row, means, address, exc.message, actor, at)
            raise NotDispatched(
                f"{row.id} was not dispatched: {exc.message}. Nothing was recorded as sent; "
                "try again, or send it by post, courier or the diplomatic channel"
            ) from None
        reference = str(message["Message-ID"])
    assert reference is not None
    return _keep_sent(
        store, row, means, address, reference, made, letter, ctx.node_id, actor, at, approval_policy
    )


def _address(means: str, state: str, to: Contact | None, mailer: Mailer | None) -> str:
    """Where the request goes by ``means``; InvalidInput when the State published nowhere."""
    if means == "email":
        if to is None or not to.email:
            where = f" (post: {to.postal_address})" if to and to.postal_address else ""
            raise InvalidInput(
                f"{state} has published no e-mail address for requests: send it by post, "
                f"courier or the diplomatic channel{where}"
            )
        if mailer is None:
            raise InvalidInput(
                "sending by e-mail needs this node's mail server: set HANOINET_SMTP_HOST and "
                "HANOINET_SMTP_SENDER (docs/settings.md), or send it by post, courier or the "
                "diplomatic channel"
            )
        return to.email
    if to is not None and to.postal_address:
        return f"{to.name}, {to.postal_address}"
    return to.name if to is not None else state


class _DryRun(Exception):
    pass


def _preflight(
    store: Any,
    ident: str,
    actor: str,
    at: datetime,
    principal: Principal | None,
    policy: Policy,
) -> None:
    """``send`` as it would be taken now, rolled back: its guards refuse before anything is
    made or mailed."""
    try:
        with store.transaction() as conn:
            row = case_service.request_row(conn, ident, principal)
            case_service.act_in(conn, row, "send", actor=actor, at=at, approval_policy=policy)
            raise _DryRun
    except _DryRun:
        pass


def _made(ctx: Any, row: Any, at: datetime, directory_token: str | None) -> tuple[Any, Letter]:
    doc, findings = documents_service._checked(row.document, at)
    made = make(
        json.loads(row.document),
        doc,
        findings,
        lang=None,
        at=at,
        request_id=row.id,
        signer=documents_service.signer(ctx, directory_token, at),
    )
    if not made.signed:
        raise DocumentFailed("the request has errors: only a draft could be made")
    letter = Letter(row.id, doc, row.document.encode(), row.document_sha256, made.pdf, made.lang)
    return made, letter


def _keep_failure(
    store: Any, row: Any, means: str, address: str, problem: str, actor: str, at: datetime
) -> None:
    with store.transaction() as conn:
        _dispatch(conn, row, means, "failed", address, actor, at, problem=problem)
        _audit(
            conn,
            row,
            "dispatch.failed",
            actor=actor,
            at=at,
            detail={"means": means, "problem": problem},
        )


def _keep_sent(
    store: Any,
    row: Any,
    means: str,
    address: str,
    reference: str,
    made: Any,
    letter: Letter,
    signer_id: str,
    actor: str,
    at: datetime,
    policy: Policy,
) -> Dispatched:
    pdf_sha256 = hashlib.sha256(made.pdf).hexdigest()
    status = "sent" if means == "email" else "recorded"
    with store.transaction() as conn:
        conn.execute(update(requests).where(requests.c.id == row.id).values(means=means))
        current = case_service.request_row(conn, row.id)
        case_service.act_in(
            conn,
            current,
            "send",
            actor=actor,
            at=at,
            params={"means": means, "reference": reference},
            approval_policy=policy,
        )
        conn.execute(
            insert(formal_documents).values(
                request_id=row.id,
                direction="outgoing",
                status="issued",
                lang=made.lang,
                request_sha256=made.request_sha256,
                pdf_sha256=pdf_sha256,
                pdf=made.pdf,
                signer=signer_id,
                created_at=at,
                updated_at=at,
            )
        )
        dispatch_id = _dispatch(conn, row, means, status, address, actor, at, reference=reference)
        for name, media_type, content in (
            (f"request-{row.id}.pdf", "application/pdf", made.pdf),
            (f"request-{row.id}.json", "application/json", letter.request_json),
        ):
            _attach(conn, row.id, dispatch_id, name, media_type, content, at)
        _audit(
            conn,
            row,
            "dispatch.sent",
            actor=actor,
            at=at,
            detail={
                "means": means,
                "status": status,
                "reference": reference,
                "request_sha256": row.document_sha256,
                "pdf_sha256": pdf_sha256,
            },
        )
    return Dispatched(
        row.id, means, status, address, reference, row.document_sha256, pdf_sha256, made.lang
    )


def _dispatch(
    conn: Connection,
    row: Any,
    means: str,
    status: str,
    address: str,
    actor: str,
    at: datetime,
    *,
    reference: str | None = None,
    problem: str | None = None,
) -> int:
    """Keep one dispatch of request ``row`` sent from here; its id."""
    return int(
        conn.execute(
            insert(dispatches)
            .values(
                request_id=row.id,
                direction="out",
                action="send",
                means=means,
                status=status,
                address=address,
                reference=reference,
                problem=problem,
                request_sha256=row.document_sha256,
                occurred_at=at,
                recorded_at=at,
                actor=actor,
            )
            .returning(dispatches.c.id)
        ).scalar_one()
    )


def _attach(
    conn: Connection,
    request_id: str,
    dispatch_id: int,
    filename: str,
    media_type: str,
    content: bytes,
    at: datetime,
) -> None:
    conn.execute(
        insert(attachments).values(
            request_id=request_id,
            dispatch_id=dispatch_id,
            filename=filename,
            media_type=media_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            created_at=at,
        )
    )
