"""What the engine reads to decide which targets a step looks at (``engine.attention``):
the verified targets it watches, those awaiting an install job, those just dispatched, those
whose ``check_at`` has come, and those a device's news or a closed window concerns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from patchdesk.domain import IN_FLIGHT, DeploymentState, TargetState
from patchdesk.store import direct
from patchdesk.store.models import Deployment, Device, Target

AWAITING_JOB = (TargetState.DISPATCHED, TargetState.INSTALLING)
# States whose check_at is read (a verified target is watched instead; the rest are done).
CHECKED = (TargetState.PENDING, *IN_FLIGHT)


def watched_targets(
    session: Session, now: datetime, observation: timedelta
) -> list[tuple[Any, ...]]:
    """(target id, connector id, health before, health after, verified at) of every target
    verified within ``observation`` before ``now``, by id."""
    query = (
        select(
            Target.id,
            Device.connector_id,
            Target.health_before,
            Target.health_after,
            Target.verified_at,
        )
        .join(Device, Target.device_id == Device.id)
        .where(Target.state == TargetState.VERIFIED, Target.verified_at > now - observation)
        .order_by(Target.id)
    )
    return [tuple(row) for row in session.execute(query)]


_AWAITING = select(Target.id, Target.job_id, Target.state, Target.check_at).where(
    Target.state.in_(AWAITING_JOB)
)


def awaiting_job(session: Session) -> Sequence[tuple[Any, ...]]:
    """(target id, job id, state, check_at) of every target awaiting its install job."""
    return direct.rows(session.connection(), _AWAITING)


_AWAITING_JOBS = select(Target.id).where(
    Target.state.in_(AWAITING_JOB), Target.job_id.in_(bindparam("jobs", expanding=True))
)


def awaiting_these_jobs(session: Session, job_ids: Sequence[str]) -> Sequence[int]:
    """The targets awaiting one of ``job_ids`` (at most a few thousand: one IN list)."""
    return direct.scalars(session.connection(), _AWAITING_JOBS, {"jobs": list(job_ids)})


_JUST_DISPATCHED = (
    select(Target.id, Target.job_id, Device.hostname, Device.client_id, Deployment.occurrence_end)
    .join(Device, Target.device_id == Device.id)
    .join(Deployment, Target.deployment_id == Deployment.id)
    .where(Target.state == TargetState.DISPATCHED)
)


def just_dispatched(session: Session) -> Sequence[tuple[Any, ...]]:
    """(target id, job id, hostname, client id, window end) of every target dispatched and
    not yet further."""
    return direct.rows(session.connection(), _JUST_DISPATCHED)


_DUE = select(Target.id).where(Target.state.in_(CHECKED), Target.check_at <= bindparam("now"))


def check_due(session: Session, now: datetime) -> Sequence[int]:
    """The targets (in a ``CHECKED`` state) whose ``check_at`` has come by ``now``."""
    return direct.scalars(session.connection(), _DUE, {"now": now})


# Targets with news when their device's facts change: in flight, or verified and watched.
_NEWS = Target.state.in_(IN_FLIGHT) | (
    (Target.state == TargetState.VERIFIED) & (Target.verified_at > bindparam("observed"))
)


def in_flight_or_watched(session: Session, observed: datetime) -> list[int]:
    """Every target in flight, or verified after ``observed``."""
    return list(session.scalars(select(Target.id).where(_NEWS), {"observed": observed}))


def pending_in_closed(session: Session, now: datetime) -> list[int]:
    """The targets left pending in an open deployment whose window has ended by ``now``."""
    query = (
        select(Target.id)
        .join(Deployment, Target.deployment_id == Deployment.id)
        .where(
            Deployment.state == DeploymentState.OPEN,
            Deployment.occurrence_end <= now,
            Target.state == TargetState.PENDING,
        )
    )
    return list(session.scalars(query))
