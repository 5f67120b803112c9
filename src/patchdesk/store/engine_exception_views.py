"""What the engine reads about the exceptions it opens and settles itself (``engine.failures``,
``engine.missed``, ``engine.comeback``): the unresolved exception of a device and class,
and the ``offline`` exceptions whose device is online again.

One unresolved exception per device and class (the store's partial unique index says so),
so a (device, class) pair names at most one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, FailureClass, TargetState, Tier
from patchdesk.store import direct
from patchdesk.store.models import Device, Patch, PatchException, Target

_exceptions = cast(Table, PatchException.__table__)


@dataclass(frozen=True)
class Unresolved:
    """A device's unresolved exception of one class."""

    id: int
    patch_ids: list[int]
    tier: Tier
    deployment_id: int | None


_UNRESOLVED = select(
    _exceptions.c.id, _exceptions.c.patch_ids, _exceptions.c.tier, _exceptions.c.deployment_id
).where(
    _exceptions.c.device_id == bindparam("device"),
    _exceptions.c.failure_class == bindparam("failure_class"),
    _exceptions.c.state != ExceptionState.RESOLVED,
)


def unresolved_of(
    session: Session, device_id: int, failure_class: FailureClass
) -> Unresolved | None:
    """The device's unresolved exception of ``failure_class``, if it has one."""
    found = direct.rows(
        session.connection(), _UNRESOLVED, {"device": device_id, "failure_class": failure_class}
    )
    if not found:
        return None
    exception_id, patch_ids, tier, deployment_id = found[0]
    return Unresolved(int(exception_id), list(patch_ids or ()), tier, deployment_id)


def unresolved_missed(session: Session, device_id: int) -> tuple[int, int | None] | None:
    """(id, deployment id) of the device's unresolved ``missed`` exception, if any. (Through
    the session: what it holds unflushed is flushed first.)"""
    found = session.execute(
        select(_exceptions.c.id, _exceptions.c.deployment_id).where(
            _exceptions.c.device_id == device_id,
            _exceptions.c.failure_class == FailureClass.MISSED,
            _exceptions.c.state != ExceptionState.RESOLVED,
        )
    ).first()
    return None if found is None else (int(found.id), found.deployment_id)


@dataclass(frozen=True)
class BackOnline:
    """An unresolved ``offline`` exception whose device is online again."""

    exception_id: int
    client_id: str
    device_id: int
    patch_ids: tuple[int, ...]
    target_state: TargetState | None  # of the target that opened it (None: none recorded)
    connector_id: str
    hostname: str
    last_seen: datetime | None


_BACK_ONLINE = (
    select(
        PatchException.id,
        PatchException.client_id,
        PatchException.device_id,
        PatchException.patch_ids,
        Target.state,
        Device.connector_id,
        Device.hostname,
        Device.last_seen,
    )
    .join(Device, Device.id == PatchException.device_id)
    .outerjoin(Target, Target.id == PatchException.target_id)
    .where(
        PatchException.failure_class == FailureClass.OFFLINE,
        PatchException.state != ExceptionState.RESOLVED,
        Device.online.is_(True),
        Device.connector_id.is_not(None),
    )
    .order_by(PatchException.id)
)


def offline_back_online(session: Session) -> list[BackOnline]:
    """Every unresolved ``offline`` exception whose device is online now, by id."""
    return [
        BackOnline(row[0], row[1], row[2], tuple(row[3] or ()), row[4], row[5], row[6], row[7])
        for row in direct.rows(session.connection(), _BACK_ONLINE, {})
    ]


def vendor_ids_of(session: Session, patch_ids: Sequence[int]) -> list[str]:
    """The vendor ids of the patches ``patch_ids``, sorted."""
    if not patch_ids:
        return []
    return sorted(
        session.scalars(select(Patch.vendor_id).where(Patch.id.in_(list(patch_ids)))).all()
    )
