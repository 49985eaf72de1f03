"""Requests to and from States that run no node (issue 24): how each request travels
(``means``: network, or e-mail, post, courier, the diplomatic channel), and every letter or
e-mail that went or came outside the network (``dispatches``), with the documents and scans
it carried (``attachments``, each with its SHA-256).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# Plain ALTER TABLE for ``requests``, as in 0012 and 0013 (its expression index cannot be
# reflected for a batch copy); existing requests all travelled over the network.


def upgrade() -> None:
    op.add_column(
        "requests",
        sa.Column("means", sa.String(12), nullable=False, server_default="network"),
    )
    op.create_table(
        "dispatches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("means", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("reference", sa.String(500)),
        sa.Column("problem", sa.Text),
        sa.Column("request_sha256", sa.String(64)),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_dispatches_request", "dispatches", ["request_id"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("dispatch_id", sa.Integer, sa.ForeignKey("dispatches.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attachments_dispatch", "attachments", ["dispatch_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_dispatch", "attachments")
    op.drop_table("attachments")
    op.drop_index("ix_dispatches_request", "dispatches")
    op.drop_table("dispatches")
    op.drop_column("requests", "means")
