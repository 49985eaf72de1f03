"""The time step of each user's last accepted TOTP code, so that a code is accepted once only
(RFC 6238 section 5.2): a code seen over a shoulder or phished cannot be used again in its
window. Empty until the user's next log-in.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
