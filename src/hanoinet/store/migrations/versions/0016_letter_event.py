"""A letter to a State that runs no node tells one step of its request (issue 24): the
dispatch names that step's event (``dispatches.event_seq``), whose action and parameters the
letter prints. Steps taken before this revision have no letter waiting.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dispatches", sa.Column("event_seq", sa.Integer))


def downgrade() -> None:
    # Plain ALTER TABLE (see 0015): a batch copy would reflect ``requests``.
    op.drop_column("dispatches", "event_seq")
