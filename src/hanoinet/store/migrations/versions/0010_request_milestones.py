"""The statistics' projection of the event log: one row per request with the first recorded
time of every measure (stats/data/measures.yaml) in whole seconds since 1970, and the request's
direction, States, form and urgency, so that statistics over a million events read one row
per request. Filled from the events already recorded (``services.stats.rebuild``).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TIMES = ("started", "acknowledge", "first_answer", "decision", "execution")
_FLAGS = ("postponed", "returned_for_more_info", "preserved", "followed_up")


def upgrade() -> None:
    op.create_table(
        "request_milestones",
        sa.Column("request_id", sa.String(32), sa.ForeignKey("requests.id"), primary_key=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("requesting_state", sa.String(2)),
        sa.Column("requested_state", sa.String(2)),
        sa.Column("urgency", sa.String(10), nullable=False),
        *(sa.Column(name, sa.BigInteger) for name in _TIMES),
        sa.Column("outcome", sa.String(24)),
        sa.Column("outcome_at", sa.BigInteger),
        sa.Column("ground", sa.String(64)),
        *(sa.Column(name, sa.BigInteger) for name in _FLAGS),
    )
    from hanoinet.services.stats import rebuild  # derived data: today's definitions

    rebuild(op.get_bind(), ("direction", "kind", "requesting_state", "requested_state", "urgency"))


def downgrade() -> None:
    op.drop_table("request_milestones")
