"""What the engine writes when it opens or closes a deployment: the deployment, its pending
targets and their patches; the close.

Core inserts, not ORM objects flushed (the step reads deployments and targets back as rows:
``store.target_rows``); pending ORM changes are flushed first, so rows are written in the
order the ORM's flush wrote them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select

from patchdesk.domain import DeploymentState, MissingPatchState, TargetState
from patchdesk.store import direct
from patchdesk.store.bulk import execute_many
from patchdesk.store.db import Session
from patchdesk.store.deployment_views import target_states
from patchdesk.store.models import Deployment, Target, TargetPatch

_INSERT_DEPLOYMENT = insert(cast(Table, Deployment.__table__))


def insert_deployment(
    session: Session,
    client_id: str,
    window_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
) -> int:
    """Write an occurrence's open deployment; its id."""
    session.flush()
    result = session.connection().execute(
        _INSERT_DEPLOYMENT,
        {
            "client_id": client_id,
            "window_id": window_id,
            "occurrence_start": start,
            "occurrence_end": end,
            "state": DeploymentState.OPEN,
            "opened_at": now,
        },
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def insert_emergency_deployment(
    session: Session, client_id: str, decision_id: int, end: datetime, now: datetime
) -> int:
    """Write the open deployment (no window, from ``now`` to ``end``) that carries out an
    emergency decision; its id. (An ORM object flushed: the decision's is the session's.)"""
    deployment = Deployment(
        client_id=client_id,
        window_id=None,
        occurrence_start=now,
        occurrence_end=end,
        state=DeploymentState.OPEN,
        emergency=True,
        approval_decision_id=decision_id,
        opened_at=now,
    )
    session.add(deployment)
    session.flush()
    return deployment.id


_TARGETS = cast(Table, Target.__table__)
_INSERT_TARGETS = insert(_TARGETS)
_TARGETS_OF_DEPLOYMENT = select(_TARGETS.c.device_id, _TARGETS.c.id).where(
    _TARGETS.c.deployment_id == bindparam("deployment")
)
_INSERT_PATCHES = insert(cast(Table, TargetPatch.__table__))


def add_targets(
    session: Session,
    deployment_id: int,
    approved: Mapping[int, Iterable[int]],
    end: datetime,
    now: datetime,
) -> None:
    """A pending target per device (by device id) with its patches (by patch id)."""
    devices = sorted(approved)
    if not devices:
        return
    rows = [
        {
            "deployment_id": deployment_id,
            "device_id": device_id,
            "state": TargetState.PENDING,
            "updated_at": now,
            "check_at": end,  # still pending when the window closes: missed or carried over
        }
        for device_id in devices
    ]
    execute_many(session.connection(), _INSERT_TARGETS, rows)  # (RETURNING would go row by row)
    target_of = dict(
        direct.rows(session.connection(), _TARGETS_OF_DEPLOYMENT, {"deployment": deployment_id})
    )
    patches = [
        {
            "target_id": target_of[device_id],
            "patch_id": patch_id,
            "state": MissingPatchState.MISSING,
        }
        for device_id in devices
        for patch_id in sorted(set(approved[device_id]))
    ]
    execute_many(session.connection(), _INSERT_PATCHES, patches)


def close_deployment(
    session: Session, deployment_id: int, now: datetime
) -> tuple[str, list[TargetState]]:
    """Mark the deployment closed; its client and its targets' states (for the event)."""
    deployment = session.get_one(Deployment, deployment_id)
    states = target_states(session, [deployment_id]).get(deployment_id, [])
    deployment.state = DeploymentState.CLOSED
    deployment.closed_at = now
    return deployment.client_id, states
