"""Evidence packages in transfer and at rest, and the permissions their use needs.

``evidence``: one row per package this node sent or received (the package id is unique
across nodes: it names the sending node). The signed offer lists every chunk's hash; the
receiver's ``next_chunk`` is where a dropped transfer resumes. ``evidence_permissions``:
the sending State's consent to use the evidence in another matter (40(19)) or its
authorization of an onward transfer (36(3)), each with the reference of its written record.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("peer_node", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("chunk_size", sa.Integer, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("next_chunk", sa.Integer, nullable=False, server_default="0"),
        sa.Column("offer", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("conditions", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_evidence_request", "evidence", ["request_id"])
    op.create_table(
        "evidence_permissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("package_id", sa.String(80), sa.ForeignKey("evidence.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_evidence_permissions_package", "evidence_permissions", ["package_id"])


def downgrade() -> None:
    op.drop_index("ix_evidence_permissions_package", "evidence_permissions")
    op.drop_table("evidence_permissions")
    op.drop_index("ix_evidence_request", "evidence")
    op.drop_table("evidence")
