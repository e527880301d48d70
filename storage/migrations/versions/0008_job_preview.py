"""Live preview: the step a running job's preview image shows.

The image itself is one small WebP at a name made from the job id (storage/files.py
`ImageStore.preview_path`), replaced every few steps and deleted when the job ends. The row
says whether there is one and which step it shows, so a page polling the jobs asks the image
store only for previews that exist (on S3 that saves a request per tile per poll).

Revision ID: 0008_job_preview
Revises: 0007_brief_jobs
"""

from alembic import op
import sqlalchemy as sa


revision = "0008_job_preview"
down_revision = "0007_brief_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preview_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("preview_step")
