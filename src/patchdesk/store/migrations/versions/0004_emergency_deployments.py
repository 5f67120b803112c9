"""deployments.approval_decision_id: the emergency approval an emergency deployment carries out

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_decision_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_deployments_approval_decision_id_approval_decisions",
            "approval_decisions",
            ["approval_decision_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            "uq_deployments_approval_decision_id", ["approval_decision_id"]
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deployments_approval_decision_id", type_="unique")
        batch_op.drop_constraint(
            "fk_deployments_approval_decision_id_approval_decisions", type_="foreignkey"
        )
        batch_op.drop_column("approval_decision_id")
