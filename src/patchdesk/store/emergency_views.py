"""The emergency decisions no deployment carries out yet (``engine.emergency`` opens one
for each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.models import ApprovalDecision, Deployment

_deployments = cast(Table, Deployment.__table__)
# Emergency decisions no deployment carries out yet, oldest first.
UNDEPLOYED = (
    select(ApprovalDecision)
    .outerjoin(_deployments, _deployments.c.approval_decision_id == ApprovalDecision.id)
    .where(
        ApprovalDecision.decision == ApprovalDecisionKind.EMERGENCY,
        _deployments.c.id.is_(None),
    )
    .order_by(ApprovalDecision.id)
)
_WAITING = (
    UNDEPLOYED.with_only_columns(ApprovalDecision.id)
    .where(ApprovalDecision.decided_at <= bindparam("now"))
    .limit(1)
)


@dataclass(frozen=True)
class Emergency:
    """An emergency decision: one patch, one client, the devices named, why and by whom."""

    id: int
    client_id: str
    patch_id: int
    device_ids: list[int]
    reason: str
    operator: str


def undeployed_emergencies(session: Session, now: datetime) -> list[Emergency]:
    """The emergency decisions made by ``now`` that no deployment carries out, oldest
    first. A plain Core look first: at nearly every step there is none (ORM objects cost
    more)."""
    if not direct.rows(session.connection(), _WAITING, {"now": now}):
        return []
    return [
        Emergency(d.id, d.client_id, d.patch_id, d.device_ids, d.reason, d.operator)
        for d in session.scalars(UNDEPLOYED.where(ApprovalDecision.decided_at <= now))
    ]
