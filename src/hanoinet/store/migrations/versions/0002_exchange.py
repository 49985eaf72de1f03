"""Exchange: outbox delivery state, the inbox, and the peer node of each request.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("message_id", sa.String(36)))
        batch.add_column(sa.Column("recipient", sa.String(64)))
        batch.add_column(sa.Column("envelope", sa.Text))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", TZ))
        batch.add_column(sa.Column("last_error", sa.Text))
        batch.add_column(sa.Column("receipt", sa.Text))
        batch.add_column(sa.Column("settled_at", TZ))
        batch.create_index("ix_outbox_status_next", ["status", "next_attempt_at"])
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("peer_node", sa.String(64)))
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("request_id", sa.String(32)),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("receipt", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inbox")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("peer_node")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_status_next")
        for column in (
            "settled_at",
            "receipt",
            "last_error",
            "next_attempt_at",
            "attempts",
            "envelope",
            "recipient",
            "message_id",
        ):
            batch.drop_column(column)
