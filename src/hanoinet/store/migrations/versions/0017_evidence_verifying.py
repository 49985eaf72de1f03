"""Evidence is verified off the request path (issue 26 item 2): after its last chunk a package
waits in state ``verifying`` until a worker, which leases it (``evidence.lease_until``), has
verified it; the sender learns the decision by a signed message.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("evidence", sa.Column("lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # Plain ALTER TABLE (see 0015): a batch copy would reflect ``requests``.
    op.drop_column("evidence", "lease_until")
