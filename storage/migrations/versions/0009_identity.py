"""Sign-in and roles: who reviewed (signed in or a typed name, from which browser), and an
audit of reruns, exports and brand-kit edits.

`reviews.reviewer_verified` is true when the reviewer signed in (`reviewer` is then their
e-mail address); older rows are typed names, so false. `reviews.session_id` names the browser
a typed name came from. `audit_events` records who did what that is not a review.

Revision ID: 0009_identity
Revises: 0008_job_preview
"""

from alembic import op
import sqlalchemy as sa


revision = "0009_identity"
down_revision = "0008_job_preview"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing review is a typed name: false. The default only fills those rows; the
    # app sets the flag on every new one (and the two backends spell a boolean default apart).
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("reviewer_verified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("session_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("reviews") as batch:
        batch.alter_column("reviewer_verified", server_default=None)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("actor_verified", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action", table_name="audit_events")
    op.drop_table("audit_events")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("session_id")
        batch.drop_column("reviewer_verified")
