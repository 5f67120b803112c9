"""Targets and what the reconcile step needs around them (device, deployment, window), as
plain rows: read with Core, written back in bulk.

Following and dispatching touch thousands of targets per step on a large fleet, and ORM
objects (identity map, unit of work, one UPDATE per object) cost several times the work
itself. Here a target is a plain object with the columns of ``targets`` and its patches; the
step changes its fields, and :func:`save` writes every target (and target patch) that
changed, one statement for all of them. A session that uses these rows must not also hold ORM
``Target`` objects (they would not see these writes).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, null, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import Criticality, MissingPatchState, RebootPolicy, Role, TargetState
from patchdesk.store import direct
from patchdesk.store.bulk import execute_many
from patchdesk.store.models import Deployment, Device, MaintenanceWindow, Target, TargetPatch

CHUNK = 5_000  # ids per IN (...) list


@dataclass(slots=True, eq=False)
class PatchRow:
    id: int
    patch_id: int
    state: MissingPatchState
    error_code: str | None


@dataclass(slots=True, eq=False)
class TargetRow:
    """One ``targets`` row (see ``store.models.Target``) and its patches."""

    id: int
    deployment_id: int
    device_id: int
    state: TargetState
    attempts: int
    idempotency_key: str | None
    job_id: str | None
    deferrals_used: int
    dispatched_at: datetime | None
    installed_at: datetime | None
    reboot_requested_at: datetime | None
    reboot_deadline: datetime | None
    checkin_deadline: datetime | None
    verified_at: datetime | None
    error_code: str | None
    error_message: str | None
    next_action_at: datetime | None
    health_before: dict[str, Any] | None
    health_after: dict[str, Any] | None
    health_after_at: datetime | None
    check_at: datetime | None
    updated_at: datetime
    patches: list[PatchRow] = field(default_factory=list)
    read: tuple[Any, ...] = ()  # the stored values, to tell what changed


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    client_id: str
    hostname: str
    role: Role
    criticality: Criticality
    connector_id: str | None
    online: bool | None
    last_seen: datetime | None
    last_boot: datetime | None
    maintenance_mode: bool


@dataclass(frozen=True, slots=True)
class DeploymentRow:
    id: int
    client_id: str
    window_id: int | None
    occurrence_start: datetime
    occurrence_end: datetime


@dataclass(frozen=True, slots=True)
class WindowRow:
    id: int
    reboot_policy: RebootPolicy
    max_deferrals: int
    deferral_minutes: int
    checkin_timeout_minutes: int


_targets = cast(Table, Target.__table__)
_patches = cast(Table, TargetPatch.__table__)
COLUMNS = tuple(f.name for f in fields(TargetRow) if f.name not in ("patches", "read"))
FIXED = ("id", "deployment_id", "device_id")
CHANGING = tuple(name for name in COLUMNS if name not in FIXED)

_SELECT_TARGETS = (
    select(*(_targets.c[name] for name in COLUMNS))
    .where(_targets.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_targets.c.id)
)
_SELECT_PATCHES = (
    select(_patches.c.target_id, _patches.c.id, _patches.c.patch_id, _patches.c.state,
           _patches.c.error_code)
    .where(_patches.c.target_id.in_(bindparam("ids", expanding=True)))
    .order_by(_patches.c.id)
)  # fmt: skip
# JSON columns set to None are written as SQL NULL (a bound None would be JSON 'null').
_JSON = frozenset({"health_before", "health_after"})
_UPDATES: dict[tuple[str, ...], Any] = {}  # statements by the columns they set


def _update_target(columns: tuple[str, ...]) -> Any:
    """UPDATE targets SET those columns (a ``-``-prefixed JSON column: to NULL) WHERE id."""
    statement = _UPDATES.get(columns)
    if statement is None:
        values = {
            name.lstrip("-"): null() if name.startswith("-") else bindparam(f"b_{name}")
            for name in columns
        }
        statement = update(_targets).where(_targets.c.id == bindparam("b_id")).values(values)
        _UPDATES[columns] = statement
    return statement


_UPDATE_PATCH = (
    update(_patches)
    .where(_patches.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), error_code=bindparam("b_error_code"))
)
_DEVICE_COLUMNS = tuple(f.name for f in fields(DeviceRow))
_SELECT_DEVICES = select(*(getattr(Device, name) for name in _DEVICE_COLUMNS)).where(
    Device.id.in_(bindparam("ids", expanding=True))
)
_SELECT_DEPLOYMENTS = select(*(getattr(Deployment, f.name) for f in fields(DeploymentRow))).where(
    Deployment.id.in_(bindparam("ids", expanding=True))
)
_SELECT_WINDOWS = select(*(getattr(MaintenanceWindow, f.name) for f in fields(WindowRow))).where(
    MaintenanceWindow.id.in_(bindparam("ids", expanding=True))
)


def _chunks(ids: Collection[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for first in range(0, len(ordered), CHUNK):
        yield ordered[first : first + CHUNK]


def load_targets(session: Session, ids: Collection[int]) -> list[TargetRow]:
    """The targets with these ids, by id, with their patches."""
    targets: list[TargetRow] = []
    for chunk in _chunks(ids):
        by_id: dict[int, TargetRow] = {}
        for values in direct.rows(session.connection(), _SELECT_TARGETS, {"ids": chunk}):
            target = TargetRow(*values)
            target.read = tuple(values[len(FIXED) :])
            by_id[target.id] = target
        for target_id, *patch in direct.rows(session.connection(), _SELECT_PATCHES, {"ids": chunk}):
            by_id[target_id].patches.append(PatchRow(*patch))
        targets += by_id.values()
    for target in targets:
        target.read = (*target.read, *((p.state, p.error_code) for p in target.patches))
    return targets


def load_devices(session: Session, ids: Collection[int]) -> dict[int, DeviceRow]:
    return {
        values[0]: DeviceRow(*values)
        for chunk in _chunks(ids)
        for values in direct.rows(session.connection(), _SELECT_DEVICES, {"ids": chunk})
    }


def load_deployments(session: Session, ids: Collection[int]) -> dict[int, DeploymentRow]:
    return {
        values[0]: DeploymentRow(*values)
        for chunk in _chunks(ids)
        for values in direct.rows(session.connection(), _SELECT_DEPLOYMENTS, {"ids": chunk})
    }


def load_windows(session: Session, ids: Collection[int]) -> dict[int, WindowRow]:
    return {
        values[0]: WindowRow(*values)
        for chunk in _chunks(ids)
        for values in direct.rows(session.connection(), _SELECT_WINDOWS, {"ids": chunk})
    }


def _values(target: TargetRow) -> tuple[Any, ...]:
    own = tuple(getattr(target, name) for name in CHANGING)
    return (*own, *((p.state, p.error_code) for p in target.patches))


def save(session: Session, targets: Sequence[TargetRow]) -> None:
    """Write every target (and target patch) whose fields changed since it was read: one
    statement per set of changed columns."""
    changed_targets: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    changed_patches: list[dict[str, Any]] = []
    for target in targets:
        now = _values(target)
        if now == target.read:
            continue
        columns = []
        row: dict[str, Any] = {"b_id": target.id}
        for name, value, was in zip(CHANGING, now, target.read, strict=False):
            if value != was:
                if value is None and name in _JSON:
                    columns.append(f"-{name}")
                else:
                    columns.append(name)
                    row[f"b_{name}"] = value
        if columns:
            changed_targets.setdefault(tuple(columns), []).append(row)
        before = target.read[len(CHANGING) :]
        for patch, was in zip(target.patches, before, strict=True):
            if (patch.state, patch.error_code) != was:
                changed_patches.append(
                    {"b_id": patch.id, "b_state": patch.state, "b_error_code": patch.error_code}
                )
        target.read = now
    for names, rows in changed_targets.items():
        execute_many(session.connection(), _update_target(names), rows)
    if changed_patches:
        execute_many(session.connection(), _UPDATE_PATCH, changed_patches)


# Each target's device, deployment and window (none for an emergency deployment).
_AROUND = (
    select(
        Target.id,
        *(getattr(Device, f.name) for f in fields(DeviceRow)),
        *(getattr(Deployment, f.name) for f in fields(DeploymentRow)),
        *(getattr(MaintenanceWindow, f.name) for f in fields(WindowRow)),
    )
    .join(Device, Target.device_id == Device.id)
    .join(Deployment, Target.deployment_id == Deployment.id)
    .outerjoin(MaintenanceWindow, Deployment.window_id == MaintenanceWindow.id)
    .where(Target.id.in_(bindparam("ids", expanding=True)))
)
_DEVICE_END = 1 + len(fields(DeviceRow))
_DEPLOYMENT_END = _DEVICE_END + len(fields(DeploymentRow))


def load_around(
    session: Session, ids: Sequence[int]
) -> dict[int, tuple[DeviceRow, DeploymentRow, WindowRow | None]]:
    """Each target's (by id: ``ids`` in order) device, deployment and window (None: an
    emergency deployment, or its window was deleted since)."""
    around: dict[int, tuple[DeviceRow, DeploymentRow, WindowRow | None]] = {}
    for first in range(0, len(ids), CHUNK):
        chunk = list(ids[first : first + CHUNK])
        for row in direct.rows(session.connection(), _AROUND, {"ids": chunk}):
            device = DeviceRow(*row[1:_DEVICE_END])
            deployment = DeploymentRow(*row[_DEVICE_END:_DEPLOYMENT_END])
            window = WindowRow(*row[_DEPLOYMENT_END:]) if row[_DEPLOYMENT_END] else None
            around[row[0]] = (device, deployment, window)
    return around
