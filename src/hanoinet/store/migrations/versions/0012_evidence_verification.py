"""The last verification of each evidence package on this node, as the case page shows it:
when, by whom, each of the eight checks, the payload files with their sizes and SHA-256 (the
first ones), the chain of custody read from the verified package (services/evidence.py).
Kept so that the page never decrypts a package to show it; "Verify again" replaces it.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite adds and, since 3.35, drops a column in place): a batch copy of
# ``evidence`` would reflect ``requests`` through its foreign key, whose expression index
# SQLAlchemy cannot reflect.


def upgrade() -> None:
    op.add_column("evidence", sa.Column("verification", sa.Text))


def downgrade() -> None:
    op.drop_column("evidence", "verification")
