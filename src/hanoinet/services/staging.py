"""Evidence left in clear by a stopped unpack or export, found and removed when a command
opens the node (evidence/staging.py says how it is found), each removal in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hanoinet.evidence import staging
from hanoinet.store import Store
from hanoinet.store import audit as audit_log

ACTION = "evidence.plaintext_removed"
DATA_PROTECTION = "36(2)"
"""Evidence holds personal data: its clear text is removed under the data-protection safeguard."""


def sweep(store: Store, evidence_dir: Path, *, actor: str) -> list[staging.Removed]:
    """Remove the staging folders whose process is gone; one audit entry for each."""
    removed = staging.sweep_journal(evidence_dir / staging.JOURNAL)
    if removed:
        at = datetime.now(UTC)
        with store.transaction() as conn:
            for gone in removed:
                audit_log.append(
                    conn,
                    at=at,
                    actor=actor,
                    action=ACTION,
                    target=gone.path.name,
                    legal_basis=DATA_PROTECTION,
                    detail={"path": str(gone.path), "files": gone.files, "bytes": gone.bytes},
                )
    return removed
