"""devices: the RMM's maintenance mode kept apart from a technician's override

``maintenance_mode`` stays the value the engine acts on. ``rmm_maintenance_mode`` is what the
connector last reported; ``maintenance_override`` (NULL: follow the RMM) is what a technician
set from the device screen, with who and when. The sync writes the RMM's value and keeps the
override, so the next sync does not undo a technician's decision. An index on
``remediation_records.device_id`` serves the device screen's log of the device.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "rmm_maintenance_mode", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("maintenance_override", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("maintenance_override_by", sa.String(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column("maintenance_override_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Until now the stored value was the RMM's.
    op.execute("UPDATE devices SET rmm_maintenance_mode = maintenance_mode")
    # The device screen reads a device's own log (records about no exception).
    op.create_index("ix_remediation_device", "remediation_records", ["device_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_remediation_device", table_name="remediation_records")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("maintenance_override_at")
        batch_op.drop_column("maintenance_override_by")
        batch_op.drop_column("maintenance_override")
        batch_op.drop_column("rmm_maintenance_mode")
