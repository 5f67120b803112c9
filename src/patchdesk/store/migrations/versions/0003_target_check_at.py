"""targets.check_at and the index the engine's step reads targets by

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_targets_state_check", ["state", "check_at"], unique=False)
    # Targets in flight before this revision: look at each of them at the next step.
    op.execute(
        "UPDATE targets SET check_at = updated_at WHERE state NOT IN "
        "('verified', 'install_failed', 'reboot_failed', 'no_checkin', 'regression', "
        "'missed', 'skipped')"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_index("ix_targets_state_check")
        batch_op.drop_column("check_at")
