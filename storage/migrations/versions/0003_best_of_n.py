"""best-of-N text runs: jobs.best_of_max

Revision ID: 0003_best_of_n
Revises: 0002_gallery
"""

from alembic import op
import sqlalchemy as sa


revision = "0003_best_of_n"
down_revision = "0002_gallery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("best_of_max", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("best_of_max")
