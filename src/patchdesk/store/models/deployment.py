"""Deployments (one window occurrence for one client), their targets, and check-ins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from patchdesk.domain import DeploymentState, MissingPatchState, TargetState
from patchdesk.store.models.base import Base
from patchdesk.store.types import str_enum


class Deployment(Base):
    """One occurrence of one window for one client, or an emergency deployment (no window)."""

    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("window_id", "occurrence_start"),
        Index("ix_deployments_client_state", "client_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_windows.id"))
    occurrence_start: Mapped[datetime]
    occurrence_end: Mapped[datetime]
    state: Mapped[DeploymentState] = mapped_column(str_enum(DeploymentState, "deployment_state"))
    emergency: Mapped[bool] = mapped_column(default=False)
    # The emergency approval this deployment carries out (emergency deployments only).
    approval_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_decisions.id"), unique=True
    )
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    targets: Mapped[list[Target]] = relationship(back_populates="deployment")


class Target(Base):
    """One device in one deployment, moving through the lifecycle of ``TargetState``."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("deployment_id", "device_id"),
        Index("ix_targets_deployment_state", "deployment_id", "state"),
        Index("ix_targets_device", "device_id"),
        # The engine's step reads targets by state, and the due ones by check_at.
        Index("ix_targets_state_check", "state", "check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    state: Mapped[TargetState] = mapped_column(str_enum(TargetState, "target_state"))
    attempts: Mapped[int] = mapped_column(default=0)
    # Changes with every attempt, so a repeated dispatch of one attempt never installs twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    job_id: Mapped[str | None] = mapped_column(String(200))
    deferrals_used: Mapped[int] = mapped_column(default=0)
    dispatched_at: Mapped[datetime | None]
    installed_at: Mapped[datetime | None]
    reboot_requested_at: Mapped[datetime | None]
    reboot_deadline: Mapped[datetime | None]
    checkin_deadline: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    # When the engine should act on this target again (a user deferral ends, a retry is due).
    next_action_at: Mapped[datetime | None]
    # Health checks before the install (name -> passing) and the latest after it.
    health_before: Mapped[dict[str, Any] | None]
    health_after: Mapped[dict[str, Any] | None]
    health_after_at: Mapped[datetime | None]
    # When the engine must look at this target again even if the fleet reports nothing new
    # (a deadline, the end of a deferral, the window's end); NULL: only news can change it.
    check_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    deployment: Mapped[Deployment] = relationship(back_populates="targets")
    patches: Mapped[list[TargetPatch]] = relationship(cascade="all, delete-orphan")


class TargetPatch(Base):
    """Each patch of a target, with its own install result."""

    __tablename__ = "target_patches"
    __table_args__ = (UniqueConstraint("target_id", "patch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id"))
    state: Mapped[MissingPatchState] = mapped_column(
        str_enum(MissingPatchState, "missing_patch_state")
    )
    error_code: Mapped[str | None] = mapped_column(String(100))


class CheckIn(Base):
    """A device reporting in, with the boot time it reported (verification evidence)."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"))
    at: Mapped[datetime]
    boot_time: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(50))
