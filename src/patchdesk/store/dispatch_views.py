"""What dispatch reads: the deployments open now with their limits, how many of their
targets are pending or in flight, the servers in flight per client, and the pending
targets it may choose (``engine.dispatch``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from patchdesk.domain import IN_FLIGHT, Criticality, DeploymentState, Role, TargetState
from patchdesk.store import direct
from patchdesk.store.db import Session
from patchdesk.store.models import Deployment, Device, MaintenanceWindow, Target

_SERVERS_IN_FLIGHT = (
    select(Device.client_id)
    .join(Target, Target.device_id == Device.id)
    .where(Target.state.in_(IN_FLIGHT), Device.role == Role.SERVER)
)


def servers_in_flight(session: Session) -> Counter[str]:
    """Per client, its servers with a target in flight."""
    return Counter(direct.scalars(session.connection(), _SERVERS_IN_FLIGHT))


_OPEN = (
    select(
        Deployment.id,
        MaintenanceWindow.id,
        Deployment.occurrence_end,
        MaintenanceWindow.max_concurrent,
    )
    .outerjoin(MaintenanceWindow, Deployment.window_id == MaintenanceWindow.id)
    .where(
        Deployment.state == DeploymentState.OPEN,
        Deployment.occurrence_start <= bindparam("now"),
        Deployment.occurrence_end > bindparam("now"),
    )
    .order_by(Deployment.id)
)


class OpenDeployment(NamedTuple):
    id: int
    window_id: int | None  # None: an emergency deployment (or its window was deleted)
    end: datetime
    max_concurrent: int | None


def open_at(session: Session, now: datetime) -> list[OpenDeployment]:
    """The deployments open at ``now``, by id, with their window's limit."""
    return [OpenDeployment(*row) for row in direct.rows(session.connection(), _OPEN, {"now": now})]


# (Pending targets count only on an online device: those are the ones dispatch can choose.)
_COUNTS = (
    select(Target.deployment_id, Target.state, func.count())
    .join(Device, Target.device_id == Device.id)
    .where(
        Target.deployment_id.in_(bindparam("deployments", expanding=True)),
        Target.state.in_((TargetState.PENDING, *IN_FLIGHT)),
        (Target.state != TargetState.PENDING) | Device.online.is_(True),
    )
    .group_by(Target.deployment_id, Target.state)
)


def target_counts(
    session: Session, deployment_ids: Sequence[int]
) -> list[tuple[int, TargetState, int]]:
    """(deployment, state, count) of their pending targets on online devices and of those in
    flight."""
    params = {"deployments": deployment_ids}
    return [(d, s, n) for d, s, n in direct.rows(session.connection(), _COUNTS, params)]


# The pending targets whose device is online (the others wait), with what dispatch needs.
_COLUMNS = (
    Target.id,
    Target.deployment_id,
    Target.device_id,
    Target.next_action_at,
    Device.role,
    Device.criticality,
    Device.client_id,
)
_OTHER = aliased(Target)
_PENDING_ONLINE = (
    Target.deployment_id.in_(bindparam("deployments", expanding=True)),
    Target.state == TargetState.PENDING,
    Device.online.is_(True),
    ~exists().where(_OTHER.device_id == Target.device_id, _OTHER.state.in_(IN_FLIGHT)),
)
_SERVERS = (
    select(*_COLUMNS)
    .join(Device, Target.device_id == Device.id)
    .where(*_PENDING_ONLINE, Device.role == Role.SERVER)
)
# The same, less the servers of clients that have all the servers in flight they may have
# (a client's servers wait one at a time: most pending servers are theirs, step after step).
_SERVERS_OF_OTHERS = _SERVERS.where(Device.client_id.not_in(bindparam("full", expanding=True)))
# The others by deployment in dispatch order (tier, then id), only as many as there is room
# for: those waiting before a retry (``next_action_at``) are passed over anyway.
_RANKED = (
    select(
        *_COLUMNS,
        func.row_number()
        .over(
            partition_by=Target.deployment_id,
            order_by=(
                case((Device.role == Role.SHARED_WORKSTATION, 3), else_=4),
                Target.id,
            ),
        )
        .label("rank"),
    )
    .join(Device, Target.device_id == Device.id)
    .where(
        *_PENDING_ONLINE,
        Device.role != Role.SERVER,
        or_(Target.next_action_at.is_(None), Target.next_action_at <= bindparam("now")),
    )
    .subquery()
)
_OTHERS = select(*(_RANKED.c[c.key] for c in _COLUMNS)).where(_RANKED.c.rank <= bindparam("room"))


class Candidate(NamedTuple):
    """A pending target dispatch may choose (the columns of ``_COLUMNS``)."""

    id: int
    deployment_id: int
    device_id: int
    next_action_at: datetime | None
    role: Role
    criticality: Criticality
    client_id: str


def candidates(
    session: Session, room: Mapping[int, int], now: datetime, full: Sequence[str] = ()
) -> list[Candidate]:
    """The pending targets of these deployments on online devices whose device has no
    target in flight: every server (but those of the clients in ``full``), and, per
    deployment, the first others in dispatch order (shared workstations first, then by
    target id; none waiting before a retry) as many as ``room`` lets any deployment
    dispatch (the rest could not be chosen this step)."""
    deployments = {"deployments": sorted(room)}
    if full:
        params = {**deployments, "full": list(full)}
        servers = direct.rows(session.connection(), _SERVERS_OF_OTHERS, params)
    else:
        servers = direct.rows(session.connection(), _SERVERS, deployments)
    others = direct.rows(
        session.connection(), _OTHERS, {**deployments, "now": now, "room": max(room.values())}
    )
    return [Candidate(*values) for values in (*servers, *others)]
