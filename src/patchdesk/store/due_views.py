"""When the engine next has something to do although nothing new is reported, as far as
the store says (``engine.reconcile.Reconciler.next_due``): one query, asked between steps.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select

from patchdesk.domain import IN_FLIGHT, DeploymentState, TargetState
from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.emergency_views import UNDEPLOYED
from patchdesk.store.models import ApprovalDecision, Deployment, Target
from patchdesk.store.request_views import QUEUED, WAITING_UNTIL

_DUE = select(
    # A queued request due now ...
    QUEUED.scalar_subquery(),
    # ... and the time of the next that waits for its time (a scheduled reboot's).
    WAITING_UNTIL.scalar_subquery(),
    # The first check_at of the targets it is read for (pending or in flight).
    select(func.min(Target.check_at))
    .where(Target.state.in_((TargetState.PENDING, *IN_FLIGHT)))
    .scalar_subquery(),
    select(func.min(Target.next_action_at))
    .where(Target.state == TargetState.PENDING, Target.next_action_at > bindparam("now"))
    .scalar_subquery(),
    # Emergency approvals with no deployment yet (the next step opens one) ...
    UNDEPLOYED.with_only_columns(func.min(ApprovalDecision.decided_at))
    .order_by(None)
    .scalar_subquery(),
    # ... and the end of open emergency deployments (no window boundary closes them).
    select(func.min(Deployment.occurrence_end))
    .where(
        Deployment.state == DeploymentState.OPEN,
        Deployment.window_id.is_(None),
        Deployment.occurrence_end >= bindparam("now"),
    )
    .scalar_subquery(),
)


class Due(NamedTuple):
    queued: int | None  # a queued request due at ``now`` (its id), if any
    waiting: datetime | None  # when the next queued request that waits for its time is due
    check_at: datetime | None  # the first target's check_at
    action_at: datetime | None  # the first pending target's end of wait before a retry
    emergency: datetime | None  # the first emergency approval with no deployment
    emergency_end: datetime | None  # the first end of an open emergency deployment


def due(session: Session, now: datetime) -> Due:
    """The store's instants at which a step may have something to do, from ``now``."""
    ((queued, waiting, check_at, action_at, emergency, emergency_end),) = direct.rows(
        session.connection(), _DUE, {"now": now}
    )
    return Due(queued, waiting, check_at, action_at, emergency, emergency_end)
