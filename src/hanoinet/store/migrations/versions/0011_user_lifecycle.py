"""Users that can be disabled, re-enabled and removed (a tombstone keeps the name and the audit
trail that names it), the time of each user's last log-in and of their password (a one-time password expires),
and log-in throttling kept in the
database so that every process of a node shares it (services/users.py, docs/authentication.md).

The lockout columns go: a count of failures that locks the account whoever makes them let a
stranger lock out any officer; ``login_throttle`` slows guessing per account and client
instead. Locks still running are dropped with them, and so are half sessions of the old
password-first step.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("state", sa.String(12), nullable=False, server_default="active"))
        batch.add_column(sa.Column("state_changed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("password_set_at", sa.DateTime(timezone=True)))
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
    # A one-time password not yet replaced counts from the user's creation.
    op.execute(sa.text("UPDATE users SET password_set_at = created_at"))
    # The password-only first step is gone: a half session waiting for a code can no longer be
    # completed (it would have expired within ten minutes anyway).
    op.execute(sa.text("DELETE FROM sessions WHERE stage = 'password'"))
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(120), primary_key=True),
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True)))
        batch.drop_column("password_set_at")
        batch.drop_column("last_login_at")
        batch.drop_column("state_changed_at")
        batch.drop_column("state")
