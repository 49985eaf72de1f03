"""The other State's reference of each request (``peer_ref``): the id its node gives the same
request, learnt from the first message that carries it (docs/exchange.md, "References"), so
both States' numbers show on the case page, the desk, the lists, the CLI and the API, formal
documents and evidence packages.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as in 0012: a batch copy of ``requests`` would have to reflect its
# expression index (ix_requests_queue), which SQLAlchemy cannot reflect.


def upgrade() -> None:
    op.add_column("requests", sa.Column("peer_ref", sa.String(32)))


def downgrade() -> None:
    op.drop_column("requests", "peer_ref")
