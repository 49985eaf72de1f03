"""Formal request documents: the signed PDF a request was issued as, or arrived with.

One row per document: ``outgoing`` rows are made by this node (``pending`` until the
worker has rendered and signed it, then ``issued``, or ``failed`` with the reason);
``incoming`` rows arrived from the requesting node (``received`` when the signature and the
request's hash verified, else ``invalid`` with the reason). The PDF is kept as it was
signed or received.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "formal_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("lang", sa.String(8)),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64)),
        sa.Column("pdf", sa.LargeBinary),
        sa.Column("signer", sa.String(64)),
        sa.Column("problem", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_formal_documents_request", "formal_documents", ["request_id"])
    op.create_index("ix_formal_documents_status", "formal_documents", ["status"])


def downgrade() -> None:
    op.drop_index("ix_formal_documents_status", "formal_documents")
    op.drop_index("ix_formal_documents_request", "formal_documents")
    op.drop_table("formal_documents")
