"""Exceptions, the remediation log, operator commands and handover notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from patchdesk.domain import ExceptionState, FailureClass, RequestKind, RequestState, Tier
from patchdesk.store.models.base import Base
from patchdesk.store.types import str_enum

_OPEN = text("state <> 'resolved'")

# Monotonic ids: BIGINT on PostgreSQL, the rowid (with AUTOINCREMENT, never reused) on SQLite.
MonotonicId = BigInteger().with_variant(Integer(), "sqlite")


class PatchException(Base):
    """A classified failure waiting for a technician (one per device and class while open)."""

    __tablename__ = "exceptions"
    __table_args__ = (
        # The same device with the same class open twice is one exception, not two.
        Index(
            "uq_exceptions_open_device_class",
            "device_id",
            "failure_class",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        # The queue in triage order: tier, class rank, age.
        Index(
            "ix_exceptions_triage",
            "tier",
            "class_rank",
            "opened_at",
            "id",
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_exceptions_client_opened", "client_id", "opened_at"),
        Index("ix_exceptions_resolved_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"))
    failure_class: Mapped[FailureClass] = mapped_column(str_enum(FailureClass, "failure_class"))
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, "tier"))
    # Position of the class inside a tier (domain.CLASS_RANK), stored so the queue is indexable.
    class_rank: Mapped[int]
    state: Mapped[ExceptionState] = mapped_column(str_enum(ExceptionState, "exception_state"))
    owner: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    patch_ids: Mapped[list[int]] = mapped_column(default=list)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    last_action: Mapped[str | None] = mapped_column(String(100))
    last_action_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class RemediationRecord(Base):
    """One entry of the append-only remediation log, hash-chained to the one before it.

    Nothing updates or deletes these rows: see ``patchdesk.store.remediation_log``.
    """

    __tablename__ = "remediation_records"
    __table_args__ = (
        Index("ix_remediation_exception", "exception_id"),
        Index("ix_remediation_at", "at"),
        Index("ix_remediation_device", "device_id"),  # a device's own log (device screen)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(MonotonicId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    operator: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[str | None] = mapped_column(String(64))
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC-SHA256 over this record's hash and the record before it's MAC, keyed with the key
    # file's secret; NULL only for records written before the log was keyed (migration 0008).
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditLogKey(Base):
    """The one row saying the remediation log is keyed: with which key (its fingerprint,
    never the key), since when and by whom. Insert-only, like the log."""

    __tablename__ = "audit_log_key"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    keyed_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    operator: Mapped[str] = mapped_column(String(100))
    records_keyed: Mapped[int]  # records written before the keying and MACed by it


class OperatorRequest(Base):
    """A request from a technician that the engine carries out (retry, reboot, ...)."""

    __tablename__ = "operator_commands"
    __table_args__ = (Index("ix_operator_commands_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind, "command_kind"))
    state: Mapped[RequestState] = mapped_column(str_enum(RequestState, "command_state"))
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    patch_id: Mapped[int | None] = mapped_column(ForeignKey("patches.id"))
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Not run before this instant (a scheduled reboot); NULL: at the engine's next step.
    not_before: Mapped[datetime | None]
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(Text, default="")


class HandoverNote(Base):
    """What the outgoing technician tells the incoming one."""

    __tablename__ = "handover_notes"
    __table_args__ = (Index("ix_handover_notes_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
