"""A device's recent targets (the device in each deployment: a window occurrence or an
emergency) with each patch's state, newest first, for the device screen and its timeline.
Error messages inside are untrusted: escape them to display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.domain import DeploymentState, MissingPatchState, TargetState
from patchdesk.store.models import Deployment, MaintenanceWindow, Patch, Target, TargetPatch

TARGETS = 12  # most recent targets shown (the total is counted)
# Targets that ended in failure (their error is a moment of the timeline).
FAILED = frozenset(
    {
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
        TargetState.MISSED,
    }
)


@dataclass(frozen=True)
class TargetPatchView:
    vendor_id: str
    title: str
    state: MissingPatchState
    error_code: str | None


@dataclass(frozen=True)
class DeviceTarget:
    """The device in one deployment (a window occurrence or an emergency)."""

    id: int
    deployment_id: int
    window_name: str | None  # None: an emergency deployment
    emergency: bool
    occurrence_start: datetime
    occurrence_end: datetime
    deployment_state: DeploymentState
    state: TargetState
    attempts: int
    deferrals_used: int
    dispatched_at: datetime | None
    installed_at: datetime | None
    reboot_requested_at: datetime | None
    reboot_deadline: datetime | None
    checkin_deadline: datetime | None
    verified_at: datetime | None
    error_code: str | None
    error_message: str | None
    updated_at: datetime
    patches: tuple[TargetPatchView, ...]


def recent_targets(session: Session, device_id: int) -> tuple[tuple[DeviceTarget, ...], int]:
    """The device's latest ``TARGETS`` targets, newest first, and how many it has."""
    total = int(
        session.scalar(select(func.count(Target.id)).where(Target.device_id == device_id)) or 0
    )
    rows = session.execute(
        select(Target, Deployment, MaintenanceWindow.name)
        .join(Deployment, Deployment.id == Target.deployment_id)
        .outerjoin(MaintenanceWindow, MaintenanceWindow.id == Deployment.window_id)
        .where(Target.device_id == device_id)
        .order_by(Deployment.occurrence_start.desc(), Target.id.desc())
        .limit(TARGETS)
    ).all()
    ids = [target.id for target, _, _ in rows]
    patches: dict[int, list[TargetPatchView]] = {i: [] for i in ids}
    if ids:
        for target_id, vendor_id, title, state, error_code in session.execute(
            select(
                TargetPatch.target_id,
                Patch.vendor_id,
                Patch.title,
                TargetPatch.state,
                TargetPatch.error_code,
            )
            .join(Patch, Patch.id == TargetPatch.patch_id)
            .where(TargetPatch.target_id.in_(ids))
            .order_by(TargetPatch.target_id, Patch.vendor_id)
        ):
            patches[target_id].append(TargetPatchView(vendor_id, title, state, error_code))
    targets = tuple(
        DeviceTarget(
            id=target.id,
            deployment_id=deployment.id,
            window_name=window_name,
            emergency=deployment.emergency,
            occurrence_start=deployment.occurrence_start,
            occurrence_end=deployment.occurrence_end,
            deployment_state=deployment.state,
            state=target.state,
            attempts=target.attempts,
            deferrals_used=target.deferrals_used,
            dispatched_at=target.dispatched_at,
            installed_at=target.installed_at,
            reboot_requested_at=target.reboot_requested_at,
            reboot_deadline=target.reboot_deadline,
            checkin_deadline=target.checkin_deadline,
            verified_at=target.verified_at,
            error_code=target.error_code,
            error_message=target.error_message,
            updated_at=target.updated_at,
            patches=tuple(patches[target.id]),
        )
        for target, deployment, window_name in rows
    )
    return targets, total
