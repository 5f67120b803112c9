"""exceptions of class ``missed``: a server a window did not reach

The ``failure_class`` CHECK constraint of ``exceptions`` lists ``missed`` (the column keeps
its length: ``regression`` is still the longest value).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLASSES = ("install", "reboot", "regression", "offline")
_NEW_CLASSES = ("missed",)


def _classes(classes: Sequence[str]) -> str:
    return "failure_class IN (" + ", ".join(f"'{c}'" for c in classes) + ")"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_exceptions_failure_class"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_exceptions_failure_class"), sa.text(_classes(_CLASSES + _NEW_CLASSES))
        )


def downgrade() -> None:
    """Downgrade schema; refused while exceptions of the new class exist (the remediation log
    refers to them and is never rewritten)."""
    exceptions = sa.table("exceptions", sa.column("failure_class", sa.String))
    found = (
        op.get_bind()
        .execute(sa.select(sa.func.count()).where(exceptions.c.failure_class.in_(_NEW_CLASSES)))
        .scalar_one()
    )
    if found:
        raise RuntimeError(
            f"{found} exception(s) of class missed exist: this database cannot go below 0007"
        )
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_exceptions_failure_class"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_exceptions_failure_class"), sa.text(_classes(_CLASSES))
        )
