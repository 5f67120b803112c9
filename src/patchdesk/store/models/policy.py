"""Per-client policy (scope, windows, approval rules, rings), the global block list and
per-device patch exclusions.

These rows are written by ``policy apply`` from validated policy files (and by technicians'
approval decisions); the engine only reads them, but for the exclusions it writes when it
carries out a technician's ``exclude_patch`` command.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from patchdesk.domain import ApprovalDecisionKind, RebootPolicy, RecurrenceKind, RuleAction
from patchdesk.store.models.base import Base
from patchdesk.store.types import str_enum


class ClientScope(Base):
    """Which of a client's devices and software are patched. One row per client."""

    __tablename__ = "client_scopes"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    include_roles: Mapped[list[str]] = mapped_column(default=list)
    include_tags: Mapped[list[str]] = mapped_column(default=list)
    include_sites: Mapped[list[str]] = mapped_column(default=list)
    include_os: Mapped[list[str]] = mapped_column(default=list)
    exclude_devices: Mapped[list[str]] = mapped_column(default=list)
    patch_os: Mapped[bool] = mapped_column(default=True)
    third_party: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")


class MaintenanceWindow(Base):
    """A recurring window in the client's local wall time.

    Windows are keyed by (client, name). A window removed from the policy file is marked
    inactive rather than deleted, because deployments keep pointing at it.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (
        UniqueConstraint("client_id", "name"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration"),
        CheckConstraint("max_concurrent > 0", name="max_concurrent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    applies_roles: Mapped[list[str]] = mapped_column(default=list)
    applies_tags: Mapped[list[str]] = mapped_column(default=list)
    applies_sites: Mapped[list[str]] = mapped_column(default=list)
    recurrence: Mapped[RecurrenceKind] = mapped_column(str_enum(RecurrenceKind, "recurrence"))
    # weekly: weekday names ("mon".."sun"); monthly: one weekday name and nth (1-4, -1 = last);
    # patch_tuesday: offset_days after the second Tuesday of the month.
    weekdays: Mapped[list[str]] = mapped_column(default=list)
    nth: Mapped[int | None]
    offset_days: Mapped[int | None]
    start_time: Mapped[time]
    duration_minutes: Mapped[int]
    reboot_policy: Mapped[RebootPolicy] = mapped_column(str_enum(RebootPolicy, "reboot_policy"))
    max_deferrals: Mapped[int] = mapped_column(default=0)
    deferral_minutes: Mapped[int] = mapped_column(default=0)
    checkin_timeout_minutes: Mapped[int]
    max_concurrent: Mapped[int]
    updated_at: Mapped[datetime]

    blackouts: Mapped[list[WindowBlackout]] = relationship(
        cascade="all, delete-orphan", order_by="WindowBlackout.start_date"
    )


class WindowBlackout(Base):
    """A freeze period, in client-local dates (inclusive), that suppresses occurrences."""

    __tablename__ = "window_blackouts"
    __table_args__ = (CheckConstraint("start_date <= end_date", name="order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("maintenance_windows.id", ondelete="CASCADE"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")


class ApprovalRule(Base):
    """One ordered approval rule; the first matching rule decides."""

    __tablename__ = "approval_rules"
    __table_args__ = (UniqueConstraint("client_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    # keys: classifications, severities, vendors, products, title_pattern, patch_ids
    match: Mapped[dict[str, Any]] = mapped_column(default=dict)
    action: Mapped[RuleAction] = mapped_column(str_enum(RuleAction, "rule_action"))
    days: Mapped[int] = mapped_column(default=0)


class Ring(Base):
    """A deployment ring, selected by device tags; position 0 deploys first."""

    __tablename__ = "rings"
    __table_args__ = (
        UniqueConstraint("client_id", "position"),
        UniqueConstraint("client_id", "name"),
        CheckConstraint("min_success_rate >= 0 AND min_success_rate <= 1", name="rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(default=list)
    soak_hours: Mapped[int]
    min_success_rate: Mapped[float]


class BlockedPatch(Base):
    """The global block list: a known-bad patch, blocked for every client."""

    __tablename__ = "blocked_patches"

    id: Mapped[int] = mapped_column(primary_key=True)
    patch_vendor_id: Mapped[str] = mapped_column(String(200), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    blocked_by: Mapped[str] = mapped_column(String(100))
    blocked_at: Mapped[datetime]


class ApprovalDecision(Base):
    """A technician's explicit decision on one patch for one client (newest wins).

    An emergency decision deploys the patch at once to ``device_ids`` outside windows.
    """

    __tablename__ = "approval_decisions"
    __table_args__ = (Index("ix_approval_decisions_lookup", "client_id", "patch_id", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id"))
    decision: Mapped[ApprovalDecisionKind] = mapped_column(
        str_enum(ApprovalDecisionKind, "approval_decision")
    )
    until: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    device_ids: Mapped[list[int]] = mapped_column(default=list)
    operator: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime]


_ACTIVE = text("lifted_at IS NULL")


class PatchExclusion(Base):
    """One patch the engine must not target on one device, until a technician lifts it.

    Written when the engine carries out an ``exclude_patch`` command (a technician's
    remediation of an install exception); lifted from the device screen or the CLI. A lifted
    exclusion stays, with who lifted it and when (the compliance metric reads them as of an
    instant). At most one active exclusion per device and patch.
    """

    __tablename__ = "patch_exclusions"
    __table_args__ = (
        Index(
            "uq_patch_exclusions_active",
            "device_id",
            "patch_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_patch_exclusions_client", "client_id", "device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exceptions.id"))
    command_id: Mapped[int | None] = mapped_column(ForeignKey("operator_commands.id"))
    excluded_by: Mapped[str] = mapped_column(String(100))  # the technician who asked
    excluded_at: Mapped[datetime]
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None]
    lift_note: Mapped[str] = mapped_column(Text, default="")
