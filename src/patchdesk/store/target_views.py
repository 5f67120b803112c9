"""Targets as dispatch screens them just before it sends them (``engine.skips``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, select

from patchdesk.domain import TargetState
from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.models import Device, Patch, Target, TargetPatch

_CHOSEN = (
    select(
        Target.id,
        Target.device_id,
        Device.client_id,
        Device.hostname,
        Device.maintenance_mode,
        TargetPatch.id,
        TargetPatch.patch_id,
        Patch.vendor_id,
    )
    .join(Device, Device.id == Target.device_id)
    .join(TargetPatch, TargetPatch.target_id == Target.id)
    .join(Patch, Patch.id == TargetPatch.patch_id)
    .where(Target.id.in_(bindparam("ids", expanding=True)), Target.state == TargetState.PENDING)
    .order_by(Target.id, TargetPatch.id)
)


class PendingPatch(NamedTuple):
    """A patch of a pending target, with its device."""

    target_id: int
    device_id: int
    client_id: str
    hostname: str
    maintenance_mode: bool
    target_patch_id: int
    patch_id: int
    vendor_id: str


def pending_patches(session: Session, target_ids: Sequence[int]) -> list[PendingPatch]:
    """The patches of those of these targets still pending, by target and patch row."""
    rows = direct.rows(session.connection(), _CHOSEN, {"ids": target_ids})
    return [PendingPatch(*row) for row in rows]
