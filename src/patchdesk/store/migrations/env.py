"""Alembic environment: always given a live connection by patchdesk.store.migrate."""

from __future__ import annotations

from alembic import context

from patchdesk.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached if alembic is run by hand
    raise RuntimeError("run migrations through `patchdesk db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
