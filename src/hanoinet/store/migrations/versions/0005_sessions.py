"""Log-in sessions of the web desk, API tokens for other systems, each user's language and time
zone, and room for the longest role name.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        # "central_authority_officer" has 25 characters: PostgreSQL refused it in String(24).
        batch.alter_column("role", existing_type=sa.String(24), type_=sa.String(32))
        batch.add_column(sa.Column("locale", sa.String(16), nullable=False, server_default="en"))
        batch.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
        )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(120), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("pending_totp", sa.String(64)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("username", sa.String(120), sa.ForeignKey("users.username"), nullable=False),
        sa.Column("scopes", sa.String(40), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("locale")
        batch.alter_column("role", existing_type=sa.String(32), type_=sa.String(24))
