"""Briefs as jobs for GPU workers: the `brief_jobs` table.

In queue mode the web server may have no GPU, so a brief becomes a task on the GPU queue. As
with posters, the row is the record of truth: the task carries its id, the worker claims the
row, writes each stage as it runs and links the finished brief (storage/brief_jobs.py).
`dispatched_at`, `dispatch_error` and `attempts` mean what they mean on `jobs` (0006).

Revision ID: 0007_brief_jobs
Revises: 0006_queue_dispatch
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_brief_jobs"
down_revision = "0006_queue_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brief_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("max_new_tokens", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False, server_default=""),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("brief_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatch_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"]),
        sa.ForeignKeyConstraint(["brief_id"], ["briefs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_brief_jobs_status_created", "brief_jobs", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_brief_jobs_status_created", table_name="brief_jobs")
    op.drop_table("brief_jobs")
