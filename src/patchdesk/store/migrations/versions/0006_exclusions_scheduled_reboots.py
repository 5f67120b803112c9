"""patch_exclusions, and operator commands that wait for their time

``patch_exclusions``: a patch the engine must not target on one device until a technician
lifts it (the ``exclude_patch`` remediation); lifted rows stay, with who and when. One active
exclusion per device and patch (a partial unique index).

``operator_commands``: two new kinds, ``exclude_patch`` and ``schedule_reboot`` (the column
grows to 15 characters and its CHECK constraint lists them), and ``not_before``: a command
the engine does not run before that instant (a scheduled reboot).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    "retry_install",
    "force_reboot",
    "rollback_patch",
    "block_patch",
    "wake_device",
    "resolve",
)
_NEW_KINDS = ("exclude_patch", "schedule_reboot")


def _kinds(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "patch_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("patch_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=True),
        sa.Column("command_id", sa.Integer(), nullable=True),
        sa.Column("excluded_by", sa.String(length=100), nullable=False),
        sa.Column("excluded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(length=100), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_patch_exclusions_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["operator_commands.id"],
            name=op.f("fk_patch_exclusions_command_id_operator_commands"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_patch_exclusions_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exception_id"],
            ["exceptions.id"],
            name=op.f("fk_patch_exclusions_exception_id_exceptions"),
        ),
        sa.ForeignKeyConstraint(
            ["patch_id"], ["patches.id"], name=op.f("fk_patch_exclusions_patch_id_patches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patch_exclusions")),
    )
    with op.batch_alter_table("patch_exclusions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patch_exclusions_client", ["client_id", "device_id"], unique=False
        )
        batch_op.create_index(
            "uq_patch_exclusions_active",
            ["device_id", "patch_id"],
            unique=True,
            sqlite_where=sa.text("lifted_at IS NULL"),
            postgresql_where=sa.text("lifted_at IS NULL"),
        )

    with op.batch_alter_table("operator_commands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_operator_commands_command_kind"), type_="check")
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=14),
            type_=sa.String(length=15),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            op.f("ck_operator_commands_command_kind"), sa.text(_kinds(_KINDS + _NEW_KINDS))
        )


def downgrade() -> None:
    """Downgrade schema (commands of the new kinds are deleted: older code cannot read them)."""
    with op.batch_alter_table("patch_exclusions", schema=None) as batch_op:
        batch_op.drop_index("uq_patch_exclusions_active")
        batch_op.drop_index("ix_patch_exclusions_client")
    op.drop_table("patch_exclusions")
    commands = sa.table("operator_commands", sa.column("kind", sa.String))
    op.execute(commands.delete().where(commands.c.kind.in_(_NEW_KINDS)))
    with op.batch_alter_table("operator_commands", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_operator_commands_command_kind"), type_="check")
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=15),
            type_=sa.String(length=14),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            op.f("ck_operator_commands_command_kind"), sa.text(_kinds(_KINDS))
        )
        batch_op.drop_column("not_before")
