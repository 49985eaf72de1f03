"""One settings object, read from environment variables ``HANOINET_*``.

| variable | default | meaning |
| --- | --- | --- |
| ``HANOINET_DATA_DIR`` | ``./var/hanoinet`` | the node's data folder (database, blobs) |
| ``HANOINET_DATABASE_URL`` | SQLite file ``hanoinet.db`` in the data folder | SQLAlchemy URL; ``postgresql+psycopg://...`` for PostgreSQL |
| ``HANOINET_STATE`` | ``XA`` (the demo State Aurelia) | the State this node acts for (ISO code) |
| ``HANOINET_USER`` | the operating-system user | who is acting, for the audit log |
| ``HANOINET_KEY_PASSPHRASE`` | read from ``secrets/passphrase`` in the data folder | unlocks the node's private keys |
| ``HANOINET_PKCS11_MODULE`` | none: keys in the key file | the PKCS#11 module (``.so``) of the token that keeps the signing keys (docs/deploy.md) |
| ``HANOINET_PKCS11_TOKEN`` | ``hanoinet`` | that token's label |
| ``HANOINET_PKCS11_PIN`` | read from ``secrets/pkcs11-pin`` in the data folder | the token's user PIN |
| ``HANOINET_DIRECTORY_AUTHORITY`` | none | the trusted directory authority's public key (JWK file) |
| ``HANOINET_DELIVERY_ALARM_MINUTES`` | 15 | a message without a receipt for longer raises "not delivered" |
| ``HANOINET_ACK_EMERGENCY_MINUTES`` | 15 | an incoming emergency request not acknowledged by then is escalated |
| ``HANOINET_ACK_URGENT_MINUTES`` | 60 | the same for an urgent request |
| ``HANOINET_STATS_THRESHOLD`` | 5 | statistics withhold any count below it (and any count that would give one away) |
| ``HANOINET_MAX_API_BODY_BYTES`` | 1 MiB | largest JSON API body (docs/limits.md) |
| ``HANOINET_MAX_FORM_BODY_BYTES`` | 256 KiB | largest form post of the web desk (but the wizard's) |
| ``HANOINET_MAX_JSON_DEPTH`` | 32 | deepest JSON nesting the API reads |
| ``HANOINET_DOCUMENT_RENDER_SECONDS`` | 30 | longest time typesetting one formal document |
| ``HANOINET_DOCUMENT_RENDER_MEMORY_MB`` | 1024 | most memory of the typesetting process |
| ``HANOINET_SMTP_HOST``, ``_PORT`` (587), ``_USERNAME``, ``_PASSWORD``, ``_SENDER`` | none | the mail server that e-mails requests to States that run no node; always over STARTTLS |
| ``HANOINET_SMTP_CA_FILE`` | none | CA certificates to trust for that server, beside the system's |
| ``HANOINET_SMTP_TIMEOUT_SECONDS`` | 30 | longest wait for the mail server at each step |
| ``HANOINET_APPROVAL`` | ``requester`` | which outgoing requests a supervisor approves before they are sent: ``none``, ``requester`` (cases opened by a requester), ``all`` (node policy) |
"""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HANOINET_", extra="ignore")

    data_dir: Path = Field(default=Path("var/hanoinet"), description="The node's data folder.")
    database_url: str | None = Field(default=None, description="SQLAlchemy database URL.")
    state: str = Field(default="XA", description="The State this node acts for.")
    user: str = Field(default_factory=_os_user, description="Who is acting, for the audit log.")
    directory_authority: Path | None = Field(
        default=None, description="The trusted directory authority's public key (JWK file)."
    )
    delivery_alarm_minutes: int = Field(
        default=15, ge=1, description="Minutes without a receipt before 'not delivered'."
    )
    transfer_alarm_minutes: int = Field(
        default=30,
        ge=1,
        description="Minutes an evidence transfer may go without a chunk acknowledged before "
        "it is 'stalled' and raises the 'not delivered' alarm.",
    )
    tsa_url: str | None = Field(
        default=None,
        description="An RFC 3161 time-stamping authority: evidence pack has each package's "
        "signature stamped there (unset: no time-stamp).",
    )
    tsa_roots: Path | None = Field(
        default=None,
        description="The root certificates (PEM) of the time-stamping authorities this node "
        "trusts: evidence verify checks a package's time-stamp against them.",
    )
    ack_emergency_minutes: int = Field(
        default=15,
        ge=1,
        description="Minutes to acknowledge an incoming emergency request before escalation.",
    )
    ack_urgent_minutes: int = Field(
        default=60,
        ge=1,
        description="Minutes to acknowledge an incoming urgent request before escalation.",
    )
    approval: Literal["none", "requester", "all"] = Field(
        default="requester",
        description=(
            "Which outgoing requests a supervisor approves before they are sent (node policy, "
            "not a duty of the Convention): none, requester (cases opened by a requester), all."
        ),
    )
    formal_documents: bool = Field(
        default=True,
        description=(
            "Issue a signed formal document (PDF) for each request sent and send it after the "
            "request; false: none is made (each shows why on the case page)."
        ),
    )
    stats_threshold: int = Field(
        default=5,
        ge=1,
        description=(
            "Statistics: a count from 1 to this minus one is withheld (and any count that "
            "would give it away), so that no single case can be recognized."
        ),
    )
    max_api_body_bytes: int = Field(
        default=1 << 20,
        ge=64 << 10,
        description=(
            "Largest body of a JSON API call (/api/v1, the peer routes apart); larger is "
            "refused with 413 before it is read."
        ),
    )
    max_form_body_bytes: int = Field(
        default=256 << 10,
        ge=64 << 10,
        description=(
            "Largest form post of the web desk (the drafting wizard apart); larger is refused "
            "with 413 unread."
        ),
    )
    max_json_depth: int = Field(
        default=32,
        ge=8,
        le=1000,
        description="Deepest nesting of JSON sent to the API; deeper is refused with 422.",
    )
    document_render_seconds: int = Field(
        default=30,
        ge=5,
        description="Longest time typesetting one formal document (PDF) may take.",
    )
    document_render_memory_mb: int = Field(
        default=1024,
        ge=512,
        description="Most memory the process typesetting formal documents may hold, in MiB.",
    )
    key_passphrase: SecretStr | None = Field(
        default=None, description="Unlocks the node's private keys; never logged."
    )
    pkcs11_module: Path | None = Field(
        default=None,
        description="The PKCS#11 module of the token keeping the signing keys; unset: the key file.",
    )
    pkcs11_token: str = Field(default="hanoinet", description="That token's label.")
    pkcs11_pin: SecretStr | None = Field(
        default=None, description="The token's user PIN; never logged."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the Prometheus metrics listener of `hanoinet serve`; unset: none.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the metrics listener binds (keep it private)."
    )
    backup_recipients: str | None = Field(
        default=None,
        description="The age X25519 recipients node backups are encrypted to, comma-separated.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="The mail server that sends requests by e-mail to States that run no node.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Its submission port.")
    smtp_username: str | None = Field(default=None, description="The account on it, if any.")
    smtp_password: SecretStr | None = Field(
        default=None, description="That account's password; never logged."
    )
    smtp_sender: str | None = Field(
        default=None, description="The From address of those e-mails (the authority's own)."
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA certificates to trust for the mail server's TLS, beside the system's.",
    )
    smtp_timeout_seconds: int = Field(
        default=30, ge=1, description="Longest wait for the mail server at each step."
    )

    def render_bounds(self) -> tuple[int, int]:
        """Seconds and MiB the typesetting of one formal document may take."""
        return self.document_render_seconds, self.document_render_memory_mb

    def ack_targets(self) -> dict[str, timedelta]:
        """The node's acknowledgement targets for the 24/7 desk, by urgency."""
        return {
            "emergency": timedelta(minutes=self.ack_emergency_minutes),
            "urgent": timedelta(minutes=self.ack_urgent_minutes),
        }

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hanoinet.db').resolve()}"


def load_settings() -> Settings:
    return Settings()
