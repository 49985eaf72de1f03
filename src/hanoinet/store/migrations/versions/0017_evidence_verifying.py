"""Evidence is verified off the request path (issue 26 item 2): after its last chunk a package
waits in state ``verifying`` until a worker, which leases it (``evidence.lease_until``, under
its token ``lease_owner``), has verified it; the sender learns the decision by a signed
message.

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
    op.add_column("evidence", sa.Column("lease_owner", sa.String(32)))
    # A package whose every chunk arrived before this revision, but that no request decided
    # (a crash): it waits for a worker now, as one arriving today does.
    op.execute(
        "UPDATE evidence SET state = 'verifying' WHERE direction = 'incoming' "
        "AND state = 'receiving' AND next_chunk >= chunks"
    )


def downgrade() -> None:
    # Plain ALTER TABLE (see 0015): a batch copy would reflect ``requests``.
    op.execute(
        "UPDATE evidence SET state = 'receiving' WHERE state = 'verifying' "
        "AND direction = 'incoming'"
    )
    op.execute(
        "UPDATE evidence SET state = 'sending' WHERE state = 'verifying' AND direction = 'outgoing'"
    )
    op.drop_column("evidence", "lease_owner")
    op.drop_column("evidence", "lease_until")
