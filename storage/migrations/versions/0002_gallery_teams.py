"""gallery for teams: the brand block kept with each prompt, indexes for lineage, the
all-statuses gallery order and the review filters

Revision ID: 0002_gallery
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0002_gallery"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_block", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_created", ["created_at"], unique=False)
        batch_op.create_index("ix_jobs_parent_job_id", ["parent_job_id"], unique=False)
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_reviewer_poster", ["reviewer", "poster_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_reviewer_poster")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_parent_job_id")
        batch_op.drop_index("ix_jobs_created")
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_column("brand_block")
