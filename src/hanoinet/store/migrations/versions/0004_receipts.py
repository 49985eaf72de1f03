"""Receipts in a table of their own: a batch receipt names up to 200 messages, and each
inbox and outbox row now points to it by digest instead of carrying a copy.

Revision ID: 0004
Revises: 0003
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    receipts = op.create_table(
        "receipts",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
    )
    conn = op.get_bind()
    kept: dict[str, str] = {}
    for table in ("inbox", "outbox"):
        for (token,) in conn.execute(
            sa.text(f"SELECT receipt FROM {table} WHERE receipt IS NOT NULL")
        ):
            kept[hashlib.sha256(token.encode()).hexdigest()] = token
    if kept:
        op.bulk_insert(receipts, [{"digest": d, "token": t} for d, t in kept.items()])
    for table in ("inbox", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("receipt_digest", sa.String(64)))
        for digest, token in kept.items():
            conn.execute(
                sa.text(f"UPDATE {table} SET receipt_digest = :d WHERE receipt = :t"),
                {"d": digest, "t": token},
            )
        with op.batch_alter_table(table) as batch:
            batch.drop_column("receipt")
            batch.create_foreign_key(
                f"fk_{table}_receipt", "receipts", ["receipt_digest"], ["digest"]
            )


def downgrade() -> None:
    for table, nullable in (("inbox", False), ("outbox", True)):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_receipt", type_="foreignkey")
            batch.add_column(sa.Column("receipt", sa.Text))
        op.get_bind().execute(
            sa.text(
                f"UPDATE {table} SET receipt = "
                f"(SELECT token FROM receipts WHERE digest = {table}.receipt_digest)"
            )
        )
        with op.batch_alter_table(table) as batch:
            batch.drop_column("receipt_digest")
            if not nullable:
                batch.alter_column("receipt", existing_type=sa.Text, nullable=False)
    op.drop_table("receipts")
