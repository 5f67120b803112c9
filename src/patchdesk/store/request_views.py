"""Operator requests queued for the engine, and what carrying one out reads (``engine.requests``).

A request is read as a :class:`RequestRef`; the exception, device, target, patch and window
it concerns as the ``*Ref`` classes here. Each holds the stored row for the rest of the
engine's transaction and shows its values as they are now (after the engine's own writes,
``store.request_ops``), so the engine reads what it wrote without knowing the schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, RebootPolicy, RequestKind, RequestState
from patchdesk.store import direct
from patchdesk.store.models import (
    Deployment,
    Device,
    MaintenanceWindow,
    OperatorRequest,
    Patch,
    PatchException,
    Target,
)

_DUE_NOW = or_(OperatorRequest.not_before.is_(None), OperatorRequest.not_before <= bindparam("now"))
# A queued request due at ``now`` (bind ``now``).
QUEUED = (
    select(OperatorRequest.id)
    .where(OperatorRequest.state == RequestState.QUEUED, _DUE_NOW)
    .limit(1)
)
# When the next queued request that waits for its time is due (bind ``now``).
WAITING_UNTIL = select(func.min(OperatorRequest.not_before)).where(
    OperatorRequest.state == RequestState.QUEUED, OperatorRequest.not_before > bindparam("now")
)


def requests_queued(session: Session, now: datetime) -> bool:
    """Some queued request is due at ``now``."""
    return bool(direct.rows(session.connection(), QUEUED, {"now": now}))


class RequestRef:
    """A queued operator request."""

    def __init__(self, row: OperatorRequest) -> None:
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def kind(self) -> RequestKind:
        return self._row.kind

    @property
    def state(self) -> RequestState:
        return self._row.state

    @property
    def result(self) -> str:
        return self._row.result

    @property
    def exception_id(self) -> int | None:
        return self._row.exception_id

    @property
    def device_id(self) -> int | None:
        return self._row.device_id

    @property
    def patch_id(self) -> int | None:
        return self._row.patch_id

    @property
    def client_id(self) -> str | None:
        return self._row.client_id

    @property
    def args(self) -> dict[str, Any]:
        return self._row.args

    @property
    def not_before(self) -> datetime | None:
        return self._row.not_before

    @property
    def requested_by(self) -> str:
        return self._row.requested_by


def due_requests(session: Session, now: datetime) -> list[RequestRef]:
    """The queued requests due at ``now``, oldest first."""
    rows = session.scalars(
        select(OperatorRequest)
        .where(
            OperatorRequest.state == RequestState.QUEUED,
            or_(OperatorRequest.not_before.is_(None), OperatorRequest.not_before <= now),
        )
        .order_by(OperatorRequest.id)
    ).all()
    return [RequestRef(row) for row in rows]


class ExceptionRef:
    """The exception a request is about."""

    def __init__(self, row: PatchException) -> None:
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def state(self) -> ExceptionState:
        return self._row.state

    @property
    def client_id(self) -> str:
        return self._row.client_id

    @property
    def device_id(self) -> int:
        return self._row.device_id

    @property
    def target_id(self) -> int | None:
        return self._row.target_id


def exception_ref(session: Session, exception_id: int) -> ExceptionRef | None:
    row = session.get(PatchException, exception_id)
    return ExceptionRef(row) if row is not None else None


class DeviceRef:
    """The device a request is about."""

    def __init__(self, row: Device) -> None:
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def connector_id(self) -> str | None:
        return self._row.connector_id

    @property
    def hostname(self) -> str:
        return self._row.hostname


def device_ref(session: Session, device_id: int) -> DeviceRef | None:
    row = session.get(Device, device_id)
    return DeviceRef(row) if row is not None else None


class PatchRef:
    """The patch a request is about."""

    def __init__(self, row: Patch) -> None:
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def vendor_id(self) -> str:
        return self._row.vendor_id


def patch_ref(session: Session, patch_id: int) -> PatchRef | None:
    row = session.get(Patch, patch_id)
    return PatchRef(row) if row is not None else None


class TargetRef:
    """The deployment target a request acts on."""

    def __init__(self, row: Target) -> None:
        self._row = row

    @property
    def id(self) -> int:
        return self._row.id

    @property
    def attempts(self) -> int:
        return self._row.attempts


def request_target(
    session: Session, exception: ExceptionRef | None, device: DeviceRef
) -> TargetRef | None:
    """The exception's target, else the device's latest."""
    if exception is not None and exception.target_id is not None:
        row = session.get(Target, exception.target_id)
    else:
        row = session.scalars(
            select(Target).where(Target.device_id == device.id).order_by(Target.id.desc()).limit(1)
        ).first()
    return TargetRef(row) if row is not None else None


class WindowRef:
    """The maintenance window of a target's deployment."""

    def __init__(self, row: MaintenanceWindow) -> None:
        self._row = row

    @property
    def reboot_policy(self) -> RebootPolicy:
        return self._row.reboot_policy

    @property
    def checkin_timeout_minutes(self) -> int:
        return self._row.checkin_timeout_minutes


def target_window(session: Session, target: TargetRef) -> WindowRef | None:
    """None for an emergency deployment (no window) or a window gone."""
    deployment = session.get(Deployment, target._row.deployment_id)
    if deployment is None or deployment.window_id is None:
        return None
    row = session.get(MaintenanceWindow, deployment.window_id)
    return WindowRef(row) if row is not None else None
