"""jobs.strategy goes: the strategy a job ran with is in jobs.timings["strategy"]

The column held what Compose asked for (and reruns copied the parent's), while the worker
recorded what it actually ran in the timings; two answers to one question. The timings
are the true one and stay.

Revision ID: 0005_drop_job_strategy
Revises: 0004_negative_preset
"""

from alembic import op
import sqlalchemy as sa


revision = "0005_drop_job_strategy"
down_revision = "0004_negative_preset"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("strategy")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("strategy", sa.String(length=64), nullable=False, server_default="resident"))
