"""A broker beside the jobs table: when each job was handed to it, why it could not be, how
many times a worker took it; and the workers that have reported in.

`dispatched_at` stays NULL until the broker accepted the job's task, so jobs written while
the broker was down are found and sent when it is back (core/queue/dispatch.py), and
`dispatch_error` says why in the UI meanwhile. `attempts` counts the claims of a job, so a
job whose worker keeps dying (SIGKILL, OOM) ends failed after a bounded number of tries
instead of being redelivered for ever. `workers` holds what each worker process last said
of itself (GPU, model state), read by the sidebar and the Settings page.

Revision ID: 0006_queue_dispatch
Revises: 0005_drop_job_strategy
"""

from alembic import op
import sqlalchemy as sa


revision = "0006_queue_dispatch"
down_revision = "0005_drop_job_strategy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dispatch_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(length=128), primary_key=True),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("gpu", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("model_state", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("current_job_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workers")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("dispatch_error")
        batch_op.drop_column("dispatched_at")
