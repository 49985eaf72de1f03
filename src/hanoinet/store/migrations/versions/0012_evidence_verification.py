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


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("verification", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("verification")
