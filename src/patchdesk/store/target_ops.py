"""Writes to targets the reconcile step makes in bulk, outside ``store.target_rows``' save:
skipping pending targets and dropping their held patches, marking jobs started, storing
health snapshots, and the device patches a finished job installed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, update

from patchdesk.domain import MissingPatchState, TargetState
from patchdesk.store.bulk import execute_many
from patchdesk.store.db import Session
from patchdesk.store.models import DevicePatch, Target, TargetPatch

_targets = cast(Table, Target.__table__)
_target_patches = cast(Table, TargetPatch.__table__)
_device_patches = cast(Table, DevicePatch.__table__)

_SKIP = (
    update(_targets)
    .where(_targets.c.id == bindparam("b_id"), _targets.c.state == TargetState.PENDING)
    .values(
        state=TargetState.SKIPPED,
        error_message=bindparam("b_reason"),
        check_at=None,
        next_action_at=None,
        updated_at=bindparam("b_now"),
    )
)
_DROP = delete(_target_patches).where(_target_patches.c.id == bindparam("b_id"))


def skip_pending(session: Session, reasons: Sequence[tuple[int, str]], now: datetime) -> None:
    """Skip these targets (id, reason), those still pending."""
    if reasons:
        rows = [{"b_id": id_, "b_reason": reason, "b_now": now} for id_, reason in reasons]
        session.connection().execute(_SKIP, rows)


def drop_patches(session: Session, target_patch_ids: Sequence[int]) -> None:
    """Take these patches (target patch rows) out of their targets."""
    if target_patch_ids:
        session.connection().execute(_DROP, [{"b_id": tp_id} for tp_id in target_patch_ids])


_INSTALLING = (
    update(_targets)
    .where(_targets.c.id == bindparam("b_id"))
    .values(state=TargetState.INSTALLING, updated_at=bindparam("b_now"))
)


def mark_installing(session: Session, target_ids: Sequence[int], now: datetime) -> None:
    """These dispatched targets' jobs have started."""
    rows = [{"b_id": target_id, "b_now": now} for target_id in target_ids]
    execute_many(session.connection(), _INSTALLING, rows)


_SNAPSHOT = (
    update(_targets)
    .where(_targets.c.id == bindparam("b_id"))
    .values(health_after=bindparam("b_health"), health_after_at=bindparam("b_now"))
)


def store_snapshots(
    session: Session, snapshots: Mapping[int, Mapping[str, bool]], now: datetime
) -> None:
    """Each target's latest health snapshot (by target id), first seen ``now``."""
    rows = [
        {"b_id": target_id, "b_health": dict(snapshot), "b_now": now}
        for target_id, snapshot in sorted(snapshots.items())
    ]
    execute_many(session.connection(), _SNAPSHOT, rows)


_INSTALLED = (
    update(_device_patches)
    .where(
        _device_patches.c.device_id == bindparam("b_device"),
        _device_patches.c.patch_id == bindparam("b_patch"),
    )
    .values(
        state=MissingPatchState.INSTALLED,
        installed_at=bindparam("b_at"),
        updated_at=bindparam("b_now"),
    )
)


def mark_installed(
    session: Session, installed: Sequence[tuple[int, int, datetime]], now: datetime
) -> None:
    """The device patches (device id, patch id, when) an install job installed."""
    rows = [
        {"b_device": device_id, "b_patch": patch_id, "b_at": at, "b_now": now}
        for device_id, patch_id, at in installed
    ]
    execute_many(session.connection(), _INSTALLED, rows)
