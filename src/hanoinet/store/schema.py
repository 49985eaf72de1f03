"""The tables. Changes go through a new Alembic migration in ``migrations/versions``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    literal_column,
)

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", Text, nullable=False),
    Column("state", String(2), nullable=False, doc="The State this node acts for."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
)

requests = Table(
    "requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("uid", String(36), nullable=False, unique=True, doc="Global id, for the exchange."),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("state", String(24), nullable=False),
    Column("requesting_state", String(2)),
    Column("requested_state", String(2)),
    Column("urgency", String(10), nullable=False),
    Column("document", Text, nullable=False, doc="The request document, canonical JSON."),
    Column("document_sha256", String(64), nullable=False),
    Column("error_findings", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, doc="Bumped by every command: optimistic lock."),
    Column("peer_node", String(64), doc="The other State's node, from the directory."),
    Column(
        "peer_ref",
        String(32),
        doc="The other State's reference of this request (its node's id), from the first "
        "message that carried one; null until then (migration 0013).",
    ),
    Column(
        "means",
        String(12),
        nullable=False,
        server_default="network",
        doc="How it travels with the other State: network (its node), or email, post, "
        "courier, diplomatic for a State that runs no node (migration 0014).",
    ),
)
Index("ix_requests_case", requests.c.case_id)
URGENCY_RANK = case(
    (requests.c.urgency == literal_column("'emergency'"), literal_column("0")),
    (requests.c.urgency == literal_column("'urgent'"), literal_column("1")),
    else_=literal_column("2"),
)
"""The lists' first sort key: emergency, urgent, routine. Written with constants (not bound
parameters) so that SQLite matches an ORDER BY on it to the index below; PostgreSQL matches
bound parameters too."""
Index("ix_requests_queue", URGENCY_RANK, requests.c.updated_at.desc(), requests.c.id.desc())
"""The order of the request lists and the 24/7 desk (most urgent, most recently changed
first): a page of 50, or the desk's 200, is read from the index instead of sorting every
request of the node (migration 0006)."""

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("requests.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("by_role", String(12), nullable=False),
    Column("article", String(16), nullable=False),
    Column("from_state", String(24), nullable=False),
    Column("to_state", String(24), nullable=False),
    Column("params", Text, nullable=False),
    UniqueConstraint("request_id", "seq", name="uq_events_request_seq"),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(64), nullable=False),
    Column("legal_basis", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the last audit entry. Locked by every writer, so the chain never forks.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("requests.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(12), nullable=False, doc="pending, delivered, rejected, local"),
    Column("message_id", String(36)),
    Column("recipient", String(64)),
    Column("envelope", Text, doc="Sealed once; every retry sends the same bytes."),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column(
        "receipt_digest",
        String(64),
        ForeignKey("receipts.digest"),
        doc="The peer's signed receipt (one may name a whole batch).",
    ),
    Column("settled_at", DateTime(timezone=True)),
)
Index("ix_outbox_status_next", outbox.c.status, outbox.c.next_attempt_at)

inbox = Table(
    "inbox",
    metadata,
    Column("message_id", String(36), primary_key=True, doc="Dedupe: applied exactly once."),
    Column("sender", String(64), nullable=False),
    Column("type", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status", String(12), nullable=False, doc="applied or unapplied"),
    Column("error", Text),
    Column("request_id", String(32)),
    Column("digest", String(64), nullable=False),
    Column(
        "receipt_digest",
        String(64),
        ForeignKey("receipts.digest"),
        doc="The signed receipt sent back (one may name a whole batch).",
    ),
)

receipts = Table(
    "receipts",
    metadata,
    Column("digest", String(64), primary_key=True, doc="SHA-256 of the token, hex."),
    Column("token", Text, nullable=False, doc="The signed receipt (compact JWS), as sent."),
)

fired = Table(
    "fired_dues",
    metadata,
    Column("request_id", String(32), ForeignKey("requests.id"), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("fired_at", DateTime(timezone=True), nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("value", Integer, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(120), primary_key=True),
    Column("role", String(32), nullable=False, doc="one of services.access.ROLES"),
    Column("password_hash", String(200), nullable=False, doc="argon2id; never the password"),
    Column("totp_secret", String(64)),
    Column(
        "totp_last_step",
        Integer,
        doc="The RFC 6238 time step of the last accepted code: a code counts once (0007)",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("must_change_password", Boolean, nullable=False, server_default="1"),
    Column("locale", String(16), nullable=False, server_default="en"),
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
    Column(
        "state",
        String(12),
        nullable=False,
        server_default="active",
        doc="active, disabled or removed (a tombstone: the name is never reused) (0011)",
    ),
    Column("state_changed_at", DateTime(timezone=True)),
    Column("last_login_at", DateTime(timezone=True)),
    Column(
        "password_set_at",
        DateTime(timezone=True),
        doc="When the password was given or chosen: a one-time password expires (0011)",
    ),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("username", String(120), primary_key=True, doc="A user of this node"),
    Column(
        "client",
        String(64),
        primary_key=True,
        doc="SHA-256 of the client's address, or * for the account from every client",
    ),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True), doc="No attempt is evaluated before"),
    Column(
        "last_success_at",
        DateTime(timezone=True),
        doc="A log-in succeeded from this client: it is known (0011)",
    ),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True, doc="SHA-256 of the cookie; never it"),
    Column("username", String(120), ForeignKey("users.username"), nullable=False),
    Column("stage", String(12), nullable=False, doc="setup (first log-in) or full"),
    Column("csrf", String(64), nullable=False, doc="The form token of this session"),
    Column("pending_totp", String(64), doc="During set-up: the TOTP secret being enrolled"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True, doc="SHA-256 of the token; never it"),
    Column("prefix", String(16), nullable=False, doc="First characters, to recognize it"),
    Column("name", String(120), nullable=False),
    Column("username", String(120), ForeignKey("users.username"), nullable=False),
    Column("scopes", String(40), nullable=False, doc="read, or read act"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", String(80), primary_key=True, doc="The package id, EV-<sending node>-NNNNNN"),
    Column("request_id", String(32), ForeignKey("requests.id"), nullable=False),
    Column("direction", String(8), nullable=False, doc="outgoing or incoming"),
    Column("peer_node", String(64), nullable=False),
    Column(
        "state",
        String(12),
        nullable=False,
        doc="outgoing: queued, sending, verifying, delivered, refused; incoming: receiving, "
        "verifying, accepted, refused",
    ),
    Column("size", BigInteger, nullable=False, doc="Bytes of the encrypted package"),
    Column("sha256", String(64), nullable=False, doc="SHA-256 of the encrypted package"),
    Column("chunk_size", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("next_chunk", Integer, nullable=False, server_default="0"),
    Column("offer", Text, nullable=False, doc="The signed offer (compact JWS), as verified"),
    Column(
        "path",
        Text,
        nullable=False,
        doc="The package file: outgoing, as packed; incoming, relative to the evidence folder",
    ),
    Column("conditions", Text, doc="The use conditions (JSON), once the package verified"),
    Column("reason", Text, doc="Why the package was refused"),
    Column(
        "verification",
        Text,
        doc="The last verification on this node (JSON: when, by, checks, files, custody)",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column(
        "lease_until",
        DateTime(timezone=True),
        doc="Incoming and verifying: until when a worker verifying it holds it; outgoing, "
        "queued or sending: until when the worker (or command) sending it does",
    ),
    Column(
        "lease_owner",
        String(32),
        doc="That worker's token: only it decides the package, or sends its chunks",
    ),
    Column(
        "attempts",
        Integer,
        nullable=False,
        server_default="0",
        doc="Outgoing: failed attempts to send since the transfer last moved",
    ),
    Column("next_attempt_at", DateTime(timezone=True), doc="Outgoing: not retried before"),
    Column("last_error", Text, doc="Outgoing: why the last attempt failed"),
    Column(
        "receipt",
        Text,
        doc="Accepted or delivered: the receiving node's signed receipt (compact JWS), the "
        "time anchor of the package's signature (evidence/receipt.py)",
    ),
)
Index("ix_evidence_request", evidence.c.request_id)

evidence_permissions = Table(
    "evidence_permissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("package_id", String(80), ForeignKey("evidence.id"), nullable=False),
    Column("kind", String(16), nullable=False, doc="consent (40(19)) or authorization (36(3))"),
    Column("scope", Text, nullable=False, doc="The other matter, or the third State or body"),
    Column("reference", Text, nullable=False, doc="The sending State's written record of it"),
    Column("recorded_by", String(120), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
Index("ix_evidence_permissions_package", evidence_permissions.c.package_id)


formal_documents = Table(
    "formal_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("requests.id"), nullable=False),
    Column("direction", String(8), nullable=False, doc="outgoing (issued here) or incoming"),
    Column(
        "status",
        String(12),
        nullable=False,
        doc="outgoing: pending, issued, failed; incoming: received, invalid",
    ),
    Column("lang", String(8), doc="The language it is in (a UN language code)"),
    Column("request_sha256", String(64), nullable=False, doc="The request document it renders"),
    Column("pdf_sha256", String(64)),
    Column("pdf", LargeBinary, doc="The PDF as signed (outgoing) or as received (incoming)"),
    Column("signer", String(64), doc="The node whose key signed it"),
    Column("problem", Text, doc="Why it could not be issued, or why it did not verify"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_formal_documents_request", formal_documents.c.request_id)
Index("ix_formal_documents_status", formal_documents.c.status)


request_milestones = Table(
    "request_milestones",
    metadata,
    Column("request_id", String(32), ForeignKey("requests.id"), primary_key=True),
    Column("direction", String(8), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("requesting_state", String(2)),
    Column("requested_state", String(2)),
    Column("urgency", String(10), nullable=False),
    Column(
        "means",
        String(12),
        nullable=False,
        server_default="network",
        doc="the channel: network, email, post, courier, diplomatic (migration 0015)",
    ),
    Column("started", BigInteger, doc="sent (outgoing) or received (incoming)"),
    Column("acknowledge", BigInteger),
    Column("first_answer", BigInteger),
    Column("decision", BigInteger),
    Column("execution", BigInteger),
    Column("outcome", String(24), doc="executed, partially_executed, refused, withdrawn, lapsed"),
    Column("outcome_at", BigInteger),
    Column("ground", String(64), doc="The refusal ground's key"),
    Column("postponed", BigInteger),
    Column("returned_for_more_info", BigInteger),
    Column("preserved", BigInteger),
    Column("followed_up", BigInteger),
)
"""The statistics' projection of the event log (migration 0010): one row per request with
the first recorded time of every measure of ``stats/data/measures.yaml``, in whole seconds since
1970 (UTC), beside the request's direction, States, form, urgency and channel. Written with the
events (services/stats.py ``project``), rebuilt from them by ``rebuild``. Statistics over a
million events read it instead (one row per request, no time arithmetic in the database).
No case content: codes, times, the outcome and a ground key."""


dispatches = Table(
    "dispatches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("requests.id"), nullable=False),
    Column("direction", String(8), nullable=False, doc="out (sent from here) or in (received)"),
    Column("action", String(40), nullable=False, doc="The lifecycle action it carried (send ...)"),
    Column("means", String(12), nullable=False, doc="email, post, courier or diplomatic"),
    Column(
        "status",
        String(12),
        nullable=False,
        doc="out: to_send (a step's letter, waiting to go), sending, sent (e-mail accepted by "
        "the server), recorded (post, courier, diplomatic), failed (nothing was sent; see "
        "problem); in: received",
    ),
    Column("address", Text, doc="Where it went or came from (e-mail address, postal address)"),
    Column("reference", String(500), doc="The e-mail's Message-ID, or the dispatch reference"),
    Column("problem", Text, doc="Why it was not sent"),
    Column("request_sha256", String(64), doc="The request document it carried"),
    Column("occurred_at", DateTime(timezone=True), nullable=False, doc="When it went or came"),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("event_seq", Integer, doc="The step (event) a letter out tells (migration 0016)"),
)
"""Letters and e-mails exchanged outside the network (migration 0014): one row each, kept even
when sending failed, so the case page says why it was not dispatched."""
Index("ix_dispatches_request", dispatches.c.request_id)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("requests.id"), nullable=False),
    Column("dispatch_id", Integer, ForeignKey("dispatches.id"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""What a dispatch carried: the formal document and the request as JSON (out), the scanned
letter or the e-mail (in); each read is audited (migration 0014)."""
Index("ix_attachments_dispatch", attachments.c.dispatch_id)
