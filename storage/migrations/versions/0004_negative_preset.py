"""which named negative prompt a recipe used: prompts.negative_preset

Revision ID: 0004_negative_preset
Revises: 0003_best_of_n
"""

from alembic import op
import sqlalchemy as sa


revision = "0004_negative_preset"
down_revision = "0003_best_of_n"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before the choice was recorded say "custom": which text they used is
    # still in negative_prompt, only its name is unknown.
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("negative_preset", sa.String(length=32), nullable=False, server_default="custom"))


def downgrade() -> None:
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_column("negative_preset")
