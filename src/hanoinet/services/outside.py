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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Connection, insert, select, update

from hanoinet.cases.approval import DEFAULT_POLICY, Policy
from hanoinet.cases.lifecycle import Event
from hanoinet.convention import convention
from hanoinet.documents.mail import Letter, compose
from hanoinet.documents.signature import make
from hanoinet.errors import (
    DocumentFailed,
    Forbidden,
    HanoinetError,
    InvalidInput,
    NotDispatched,
    UnknownCase,
)
from hanoinet.law import default_context, parse_request
from hanoinet.registry.designations import Contact, Designation
from hanoinet.services import access
from hanoinet.services import cases as case_service
from hanoinet.services import documents as documents_service
from hanoinet.services import stats as stats_service
from hanoinet.services.access import Principal
from hanoinet.settings import Settings
from hanoinet.store.schema import attachments, cases, dispatches, formal_documents, requests
from hanoinet.texts import N_

_audit = documents_service._audit  # an audit entry about a request, under its legal basis

MEANS = ("email", "post", "courier", "diplomatic")
"""How a request travels to a State that runs no node (``requests.means``; ``network``
otherwise)."""
BY_HAND = ("post", "courier", "diplomatic")
MEANS_NAMES = {
    "network": N_("the network"),
    "email": N_("e-mail"),
    "post": N_("post"),
    "courier": N_("courier"),
    "diplomatic": N_("the diplomatic channel"),
}
"""How each means is named (English; the web says it in the reader's language)."""


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
    reference = checked_means(means, reference, "a dispatch")
    store = ctx.store
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
    if principal is not None and not access.may_take(principal, "send", direction=row.direction):
        raise Forbidden(
            access.refusal(principal, "send", direction=row.direction, request_id=row.id)
        )
    if row.direction != "outgoing":
        raise InvalidInput(f"request {row.id} is incoming: only a request this node makes is sent")
    if row.requesting_state not in (None, ctx.me.state):
        raise InvalidInput(
            f"{row.id} is a letter from {row.requesting_state} typed in: register it as "
            "received; this node sends only its own State's requests"
        )
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
    claim = _claim(store, row, means, address, actor, at)
    if means == "email":
        assert mailer is not None  # _address refused the e-mail otherwise
        message = compose(letter, sender=mailer.sender, to=address, at=at)
        try:
            mailer.send(message)
        except NotDispatched as exc:
            _keep_failure(store, row, claim, exc.message, at)
            raise NotDispatched(
                f"{row.id} was not dispatched: {exc.message}. Nothing was recorded as sent; "
                "try again, or send it by post, courier or the diplomatic channel"
            ) from None
        reference = str(message["Message-ID"])
    assert reference is not None
    try:
        return _keep_sent(
            store, row, claim, means, address, reference, made, letter, ctx.node_id, actor, at,
            approval_policy,
        )  # fmt: skip
    except HanoinetError as exc:
        if means != "email":
            _keep_failure(store, row, claim, exc.message, at)
            raise
        # The e-mail is out: say so on the record, though the request could not move.
        _keep_failure(store, row, claim, f"e-mailed ({reference}), but {exc.message}", at)
        raise NotDispatched(
            f"{row.id} was e-mailed ({reference}) but could not be recorded as sent: "
            f"{exc.message}. Tell the other State, and look at the request before sending again"
        ) from None


def checked_means(means: str, reference: str | None, what: str) -> str | None:
    """``reference`` as kept, once ``means`` is one of ``MEANS`` and, by hand, ``what`` (a
    dispatch, a letter) has its reference."""
    if means not in MEANS:
        raise InvalidInput(f"--by {means}: use one of {', '.join(MEANS)}")
    reference = _reference(reference)
    if means in BY_HAND and reference is None:
        raise InvalidInput(
            f"{what} by {MEANS_NAMES[means]} needs its reference (the registered letter's "
            "number, the courier's waybill, the note verbale's number): give --reference"
        )
    return reference


def _reference(value: str | None) -> str | None:
    """A dispatch or letter reference as given, or None; one line, at most 500 characters."""
    text = " ".join((value or "").split())
    if len(text) > 500:
        raise InvalidInput(f"--reference has {len(text):,} characters; at most 500")
    return text or None


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
            case_service.act_in(
                conn, row, "send", actor=actor, at=at, approval_policy=policy,
                asked_by=principal.username if principal is not None else actor,
            )  # fmt: skip
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


STALE = timedelta(minutes=15)
"""A dispatch still "sending" after this is taken as abandoned (its process died between
claiming the request and recording what happened): a new send may claim it."""


def _claim(store: Any, row: Any, means: str, address: str, actor: str, at: datetime) -> int:
    """Claim request ``row`` for one dispatch before anything leaves: a second send at the
    same time, or of a request already sent by hand or e-mail, is refused here. The
    request's row is locked while it looks (PostgreSQL; SQLite serializes writers)."""
    with store.transaction() as conn:
        query = select(requests.c.id).where(requests.c.id == row.id)
        if store.dialect == "postgresql":
            query = query.with_for_update()
        conn.execute(query).one()
        busy = conn.execute(
            select(dispatches.c.id, dispatches.c.status, dispatches.c.recorded_at).where(
                dispatches.c.request_id == row.id,
                dispatches.c.direction == "out",
                dispatches.c.status.in_(("sending", "sent", "recorded")),
            )
        ).all()
        for d in busy:
            if d.status != "sending" or at - case_service.aware(d.recorded_at) < STALE:
                raise InvalidInput(
                    f"{row.id} is already being sent or was sent (dispatch {d.id}, "
                    f"{d.status}): `hanoinet case letters {row.id}` shows it"
                )
        return _dispatch(conn, row, means, "sending", address, actor, at)


def _keep_failure(store: Any, row: Any, claim: int, problem: str, at: datetime) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(dispatches)
            .where(dispatches.c.id == claim)
            .values(status="failed", problem=problem, recorded_at=at)
        )
        _audit(
            conn, row, "dispatch.failed", actor="hanoinet", at=at,
            detail={"dispatch": claim, "problem": problem},
        )  # fmt: skip


def _keep_sent(
    store: Any,
    row: Any,
    claim: int,
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
        stats_service.travels_by(conn, row.id, means)
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
        conn.execute(
            update(dispatches)
            .where(dispatches.c.id == claim)
            .values(status=status, reference=reference, request_sha256=current.document_sha256)
        )
        dispatch_id = claim
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
) -> tuple[str, str]:
    """Keep one file a dispatch carried; its name and SHA-256."""
    digest = hashlib.sha256(content).hexdigest()
    conn.execute(
        insert(attachments).values(
            request_id=request_id,
            dispatch_id=dispatch_id,
            filename=filename,
            media_type=media_type,
            size=len(content),
            sha256=digest,
            content=content,
            created_at=at,
        )
    )
    return filename, digest


# --- what comes back, and what arrives, by hand ----------------------------------------------

MAX_ATTACHMENT_BYTES = 25 << 20
"""A scanned letter or an e-mail: 25 MiB, what mail servers commonly take (docs/limits.md)."""
MAX_ATTACHMENTS = 20
KINDS = {
    ".pdf": ("application/pdf", "a PDF"),
    ".png": ("image/png", "a PNG image"),
    ".jpg": ("image/jpeg", "a JPEG image"),
    ".jpeg": ("image/jpeg", "a JPEG image"),
    ".tif": ("image/tiff", "a TIFF image"),
    ".tiff": ("image/tiff", "a TIFF image"),
    ".eml": ("message/rfc822", "an e-mail (.eml)"),
}
"""What a scan or an e-mail may be, by its file name's ending: its media type, in words."""


@dataclass(frozen=True)
class Scan:
    """A file as the user gave it: its name and its bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Received:
    request_id: str
    case_id: str
    action: str
    means: str
    dispatch_id: int
    attachments: list[tuple[str, str]]
    """(file name, SHA-256) of each file kept."""


def media_type(scan: Scan) -> str:
    """The media type of ``scan``, when its content is what its name says; InvalidInput (what
    it is not, and what is accepted) otherwise. Read from the bytes, never trusted from the
    name alone."""
    name = scan.filename
    if len(name) > 255:
        raise InvalidInput(f"the file name {name[:40]}... is over 255 characters: rename the file")
    suffix = Path(name).suffix.lower()
    if suffix not in KINDS:
        raise InvalidInput(
            f"{name}: attach a scan or an e-mail as "
            + ", ".join(sorted({k for k in KINDS}))
            + f", not {suffix or 'a file without an ending'}"
        )
    kind, words = KINDS[suffix]
    if len(scan.content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"{name} is {len(scan.content):,} bytes; an attachment may have at most "
            f"{MAX_ATTACHMENT_BYTES:,}: scan it at a lower resolution, or split it"
        )
    if not scan.content:
        raise InvalidInput(f"{name} is empty")
    if not _looks_like(kind, scan.content):
        raise InvalidInput(
            f"{name} is not {words}, though its name says so: attach the file itself"
        )
    return kind


def _looks_like(kind: str, content: bytes) -> bool:
    head = content[:16]
    if kind == "application/pdf":
        return head.startswith(b"%PDF-")
    if kind == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if kind == "image/tiff":
        return head.startswith((b"II*\x00", b"MM\x00*"))
    # An e-mail: headers (at least From and Date) before the first blank line, as RFC 5322.
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    if b"\x00" in content[:65536]:
        return False
    headers = BytesHeaderParser(policy=compat32).parsebytes(content[:65536])
    return bool(headers.get("From") and headers.get("Date")) and not headers.defects


def record_by_hand(
    store: Any,
    ident: str,
    action: str,
    *,
    means: str,
    occurred_at: datetime,
    scans: list[Scan],
    actor: str,
    at: datetime,
    params: dict[str, str] | None = None,
    reference: str | None = None,
    principal: Principal | None = None,
) -> Received:
    """Record ``action`` the other State took by ``means`` (its letter or e-mail, ``scans``
    attached), on a request that travels outside the network: the same lifecycle, guards and
    clocks as a networked peer's message. One transaction; nothing is written if refused."""
    kinds, reference = _incoming(means, scans, reference, occurred_at, at)
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        if principal is not None and not access.may_act(principal, direction=row.direction):
            raise Forbidden(
                access.refusal(principal, action, direction=row.direction, request_id=row.id)
            )
        if row.means == "network":
            raise InvalidInput(
                f"{row.id} travels over the network: the other State's node sends its answers, "
                "signed. Record by hand only what a State that runs no node sends"
            )
        if occurred_at.date() < case_service.aware(row.created_at).date():  # a day may be given
            raise InvalidInput(
                f"--received-on {occurred_at.date().isoformat()} is before {row.id} was opened "
                f"({row.created_at.date().isoformat()})"
            )
        acted = case_service.act_in(
            conn,
            row,
            action,
            actor=actor,
            at=at,
            params={**(params or {}), "means": means, "received_on": occurred_at.isoformat()},
            from_peer=True,
        )
        dispatch_id, kept = _keep_incoming(
            conn, row, action, means, occurred_at, reference, scans, kinds, actor, at
        )
    return Received(row.id, row.case_id, acted.event.action, means, dispatch_id, kept)


def register_letter(
    store: Any,
    text: str,
    *,
    means: str,
    occurred_at: datetime,
    scans: list[Scan],
    actor: str,
    at: datetime,
    reference: str | None = None,
    title: str | None = None,
    name: str = "the document",
) -> Received:
    """Register a request that came by letter or e-mail from a State that runs no node: typed
    in as a request document (``text``), its letter attached; checked like any other and
    worked on the desk, its answers going back by ``means``. One transaction."""
    kinds, reference = _incoming(means, scans, reference, occurred_at, at)
    _doc, shape = parse_request(text, name)
    with store.transaction() as conn:
        created = case_service.create_in(
            conn, json.loads(text), shape, direction="incoming", actor=actor, at=at, title=title
        )
        return _came(
            conn, created.request_id, means, occurred_at, reference, scans, kinds, actor, at
        )


def _came(
    conn: Connection,
    request_id: str,
    means: str,
    occurred_at: datetime,
    reference: str | None,
    scans: list[Scan],
    kinds: list[str],
    actor: str,
    at: datetime,
) -> Received:
    """A request received by ``means``: how it travels, and its letter with the scans."""
    stats_service.travels_by(conn, request_id, means)
    row = case_service.request_row(conn, request_id)
    dispatch_id, kept = _keep_incoming(
        conn, row, "receive", means, occurred_at, reference, scans, kinds, actor, at
    )
    return Received(row.id, row.case_id, "receive", means, dispatch_id, kept)


def register_transcription(
    store: Any,
    ident: str,
    *,
    own_state: str,
    means: str,
    occurred_at: datetime,
    scans: list[Scan],
    actor: str,
    at: datetime,
    reference: str | None = None,
    principal: Principal | None = None,
) -> Received:
    """Register as received a letter typed into the drafting wizard (a draft whose requesting
    State is the other one, this node's the requested): the same request, now incoming and
    ``received``, its letter attached, checked like any other (a finding does not stop it:
    the officer asks for more). One transaction; a refusal writes nothing. The timeline keeps
    the typing (``create``, ``edit`` by this node's officer) before ``receive``."""
    kinds, reference = _incoming(means, scans, reference, occurred_at, at)
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        if principal is not None and not access.may_act(principal, direction="incoming"):
            raise Forbidden(
                access.refusal(principal, "receive", direction="incoming", request_id=row.id)
            )
        if (
            row.direction != "outgoing"
            or row.state not in ("draft", "checked")
            or row.requested_state != own_state
            or row.requesting_state in (None, own_state)
        ):
            raise InvalidInput(
                f"{row.id} is not a letter typed in to register: it must be a draft whose "
                f"requesting State is the other one and whose requested State is {own_state}"
            )
        kind = convention().forms[row.kind]
        moved = conn.execute(
            update(requests)
            .where(requests.c.id == row.id, requests.c.version == row.version)
            .values(direction="incoming", state="received", version=row.version + 1, updated_at=at)
        ).rowcount
        if moved != 1:
            raise InvalidInput(f"{row.id} was changed meanwhile; look again and retry")
        conn.execute(update(cases).where(cases.c.id == row.case_id).values(state=own_state))
        case_service.insert_event(
            conn,
            row.id,
            Event(
                "receive", at, actor, "requested", kind.articles[0], row.state, "received",
                {"means": means, "received_on": occurred_at.isoformat()},
            ),
        )  # fmt: skip
        _audit(
            conn, row, "receive", actor=actor, at=at,
            detail={"case": row.case_id, "kind": row.kind, "transcribed": True, "means": means},
        )  # fmt: skip
        return _came(conn, row.id, means, occurred_at, reference, scans, kinds, actor, at)


def _incoming(
    means: str, scans: list[Scan], reference: str | None, occurred_at: datetime, at: datetime
) -> tuple[list[str], str | None]:
    """What every letter or e-mail recorded here must be, before anything is written: a
    means, files that are what their names say (their media types), a bounded reference, a
    day not after today anywhere on Earth."""
    if means not in MEANS:
        raise InvalidInput(f"--by {means}: use one of {', '.join(MEANS)}")
    kinds = _checked_scans(scans)
    if occurred_at.date() > (at + timedelta(hours=14)).date():
        raise InvalidInput(
            f"--received-on {occurred_at.date().isoformat()} is after today "
            f"({at.date().isoformat()}): give the day the letter or e-mail came"
        )
    return kinds, _reference(reference)


def _keep_incoming(
    conn: Connection,
    row: Any,
    action: str,
    means: str,
    occurred_at: datetime,
    reference: str | None,
    scans: list[Scan],
    kinds: list[str],
    actor: str,
    at: datetime,
) -> tuple[int, list[tuple[str, str]]]:
    """Keep a letter or e-mail that came about ``row`` with its files, and audit it."""
    dispatch_id = int(
        conn.execute(
            insert(dispatches)
            .values(
                request_id=row.id,
                direction="in",
                action=action,
                means=means,
                status="received",
                reference=(reference or "").strip() or None,
                request_sha256=row.document_sha256,
                occurred_at=occurred_at,
                recorded_at=at,
                actor=actor,
            )
            .returning(dispatches.c.id)
        ).scalar_one()
    )
    kept = [
        _attach(conn, row.id, dispatch_id, s.filename, kind, s.content, at)
        for s, kind in zip(scans, kinds, strict=True)
    ]
    _audit(
        conn,
        row,
        "dispatch.received",
        actor=actor,
        at=at,
        detail={"action": action, "means": means, "attachments": [h for _, h in kept]},
    )
    return dispatch_id, kept


def _checked_scans(scans: list[Scan]) -> list[str]:
    if len(scans) > MAX_ATTACHMENTS:
        raise InvalidInput(f"{len(scans)} files: attach at most {MAX_ATTACHMENTS}")
    return [media_type(s) for s in scans]


@dataclass(frozen=True)
class Kept:
    """A file a dispatch carried, without its bytes."""

    id: int
    filename: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Correspondence:
    """One letter or e-mail, out or in, and what it carried."""

    id: int
    direction: str
    action: str
    means: str
    status: str
    address: str | None
    reference: str | None
    problem: str | None
    occurred_at: datetime
    actor: str
    files: list[Kept]


def dispatches_of(
    store: Any, ident: str, principal: Principal | None = None
) -> list[Correspondence]:
    """The letters and e-mails of a request, oldest first, with the files each carried (their
    names and hashes: the bytes are read with ``read_attachment``, audited)."""
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        found = conn.execute(
            select(dispatches).where(dispatches.c.request_id == row.id).order_by(dispatches.c.id)
        ).all()
        files = conn.execute(
            select(
                attachments.c.id,
                attachments.c.dispatch_id,
                attachments.c.filename,
                attachments.c.media_type,
                attachments.c.size,
                attachments.c.sha256,
            )
            .where(attachments.c.request_id == row.id)
            .order_by(attachments.c.id)
        ).all()
    return [
        Correspondence(
            d.id,
            d.direction,
            d.action,
            d.means,
            d.status,
            d.address,
            d.reference,
            d.problem,
            case_service.aware(d.occurred_at),
            d.actor,
            [
                Kept(f.id, f.filename, f.media_type, f.size, f.sha256)
                for f in files
                if f.dispatch_id == d.id
            ],
        )
        for d in found
    ]


def read_attachment(
    store: Any,
    ident: str,
    attachment_id: int,
    *,
    actor: str,
    at: datetime,
    principal: Principal | None = None,
) -> tuple[Kept, bytes]:
    """The bytes of one file a letter or e-mail of request ``ident`` carried; audited."""
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        found = conn.execute(
            select(attachments).where(
                attachments.c.id == attachment_id, attachments.c.request_id == row.id
            )
        ).first()
        if found is None:
            raise UnknownCase(
                f"{row.id} has no attachment {attachment_id}: `hanoinet case letters {row.id}` "
                "lists them"
            )
        _audit(
            conn,
            row,
            "attachment.read",
            actor=actor,
            at=at,
            detail={"attachment": found.id, "sha256": found.sha256},
        )
    kept = Kept(found.id, found.filename, found.media_type, found.size, found.sha256)
    return kept, bytes(found.content)
