"""A keyed remediation log: a MAC per record, and the key's fingerprint

``remediation_records.mac``: an HMAC-SHA256 chained over the log, keyed with a secret kept
outside the database (``patchdesk.store.log_key``). NULL for the records written before
the log is keyed: ``patchdesk.store.remediation_log`` keys an existing log (after verifying its hash
chain) at its first append, or when ``patchdesk audit rekey`` asks, in one transaction.

``audit_log_key``: one row (insert-only) with the key's fingerprint, never the key.

The append-only guards of the initial migration now let one update through: filling the MAC
of a record that has none, every other column unchanged. Anything else is still refused.
(On SQLite the guard names every column: a migration that adds a column to
``remediation_records`` must add it to the guard. PostgreSQL compares whole rows.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = "remediation log is append-only"
_COLUMNS = (
    "id",
    "seq",
    "at",
    "actor",
    "operator",
    "client_id",
    "exception_id",
    "device_id",
    "action",
    "outcome",
    "note",
    "prev_hash",
    "hash",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Upgrade schema."""
    # A plain ADD COLUMN (not a batch copy, which would drop the table's triggers).
    op.add_column("remediation_records", sa.Column("mac", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_log_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("keyed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("records_keyed", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_log_key_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_key")),
    )
    if _sqlite():
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _COLUMNS)
        op.execute("DROP TRIGGER remediation_records_no_update")
        op.execute(
            "CREATE TRIGGER remediation_records_no_update "
            "BEFORE UPDATE ON remediation_records "
            f"WHEN NOT (OLD.mac IS NULL AND NEW.mac IS NOT NULL AND {unchanged}) "
            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_key_no_{verb.lower()} "
                f"BEFORE {verb} ON audit_log_key "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION patchdesk_remediation_guard() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN "
            "IF TG_OP = 'UPDATE' AND OLD.mac IS NULL AND NEW.mac IS NOT NULL "
            "AND (to_jsonb(NEW) - 'mac') = (to_jsonb(OLD) - 'mac') THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute("DROP TRIGGER remediation_records_append_only ON remediation_records")
        op.execute(
            "CREATE TRIGGER remediation_records_append_only "
            "BEFORE UPDATE OR DELETE ON remediation_records "
            "FOR EACH ROW EXECUTE FUNCTION patchdesk_remediation_guard()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_key_append_only "
            "BEFORE UPDATE OR DELETE ON audit_log_key "
            "FOR EACH ROW EXECUTE FUNCTION patchdesk_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_key_no_truncate "
            "BEFORE TRUNCATE ON audit_log_key "
            "FOR EACH STATEMENT EXECUTE FUNCTION patchdesk_append_only()"
        )


def downgrade() -> None:
    """Downgrade schema (the MACs and the key's fingerprint are lost)."""
    if _sqlite():
        op.execute("DROP TRIGGER remediation_records_no_update")
        op.execute("DROP TRIGGER remediation_records_no_delete")
        op.execute("DROP TRIGGER audit_log_key_no_update")
        op.execute("DROP TRIGGER audit_log_key_no_delete")
    else:
        op.execute("DROP TRIGGER remediation_records_append_only ON remediation_records")
        op.execute("DROP FUNCTION patchdesk_remediation_guard()")
    op.drop_table("audit_log_key")
    # (On SQLite a batch copy of the table, which drops its triggers: made again below.)
    with op.batch_alter_table("remediation_records", schema=None) as batch_op:
        batch_op.drop_column("mac")
    if _sqlite():
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER remediation_records_no_{verb.lower()} "
                f"BEFORE {verb} ON remediation_records "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER remediation_records_append_only "
            "BEFORE UPDATE OR DELETE ON remediation_records "
            "FOR EACH ROW EXECUTE FUNCTION patchdesk_append_only()"
        )
