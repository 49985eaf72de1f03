"""The worker sends evidence (issue 26 item 1): an offered package is ``queued`` until a
sender (the worker, or ``evidence send --wait``) leases it, under the same ``lease_until`` and
``lease_owner`` a verifying package uses on the receiving side; a failed attempt counts in
``attempts``, says why in ``last_error`` and waits until ``next_attempt_at`` (backoff).
And time a signer cannot backdate (issue 26 item 4): the receiving node's signed receipt of
an accepted package, ``receipt``, kept by both nodes.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("evidence", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column("evidence", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("evidence", sa.Column("last_error", sa.Text))
    op.add_column("evidence", sa.Column("receipt", sa.Text))


def downgrade() -> None:
    # Plain ALTER TABLE (see 0015): a batch copy would reflect ``requests``.
    op.execute(
        "UPDATE evidence SET state = 'sending' WHERE state = 'queued' AND direction = 'outgoing'"
    )
    op.drop_column("evidence", "receipt")
    op.drop_column("evidence", "last_error")
    op.drop_column("evidence", "next_attempt_at")
    op.drop_column("evidence", "attempts")
