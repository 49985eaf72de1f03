"""Statistics count the channel each request travelled by (issue 24 item 6): the
projection ``request_milestones`` gains ``means`` (network, e-mail, post, courier, the
diplomatic channel), filled from ``requests.means``.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "request_milestones",
        sa.Column("means", sa.String(12), nullable=False, server_default="network"),
    )
    requests = sa.table("requests", sa.column("id"), sa.column("means"))
    milestones = sa.table("request_milestones", sa.column("request_id"), sa.column("means"))
    op.execute(
        milestones.update()
        .where(
            milestones.c.request_id.in_(
                sa.select(requests.c.id).where(requests.c.means != "network")
            )
        )
        .values(
            means=sa.select(requests.c.means)
            .where(requests.c.id == milestones.c.request_id)
            .scalar_subquery()
        )
    )


def downgrade() -> None:
    # Plain ALTER TABLE, as 0014 does: a batch copy would reflect ``requests`` through the
    # foreign key, whose expression index cannot be reflected.
    op.drop_column("request_milestones", "means")
