"""What a simulated run reads between steps to move its virtual clock, and its totals.

The simulation driver (``simulation.run``) asks, after each step, whether anything is in
flight or watched (to pick the next tick) and, at the end, counts what the engine did. The
reads between steps go through ``store.direct`` (they run at every tick of a large fleet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from patchdesk.domain import DeploymentState, FailureClass, TargetState, Tier
from patchdesk.store import direct
from patchdesk.store.models import Deployment, Device, PatchException, Target

_STARTED = (
    select(Deployment.id)
    .where(
        Deployment.state == DeploymentState.OPEN, Deployment.occurrence_start <= bindparam("now")
    )
    .limit(1)
)
_WATCHING = (
    select(Target.id)
    .where(Target.verified_at > bindparam("observed"))
    .order_by(Target.id.desc())
    .limit(1)
)
# The targets of the devices with these connector ids (whether a step reads a device's facts
# is decided from their states by the caller). A condition on the state here would let
# SQLite read the targets by the state index, all the verified ones each time.
_TARGETS_OF = (
    select(Device.connector_id, Target.state, Target.verified_at)
    .join(Target, Target.device_id == Device.id)
    .where(Device.connector_id.in_(bindparam("ids", expanding=True)))
)


def open_window_started(session: Session, now: datetime) -> bool:
    """Whether an open deployment's occurrence has started by ``now``."""
    return bool(direct.rows(session.connection(), _STARTED, {"now": now}))


def verified_since(session: Session, observed: datetime) -> bool:
    """Whether a target was verified after ``observed`` (it is still watched)."""
    return bool(direct.rows(session.connection(), _WATCHING, {"observed": observed}))


def target_states_of(
    session: Session, connector_ids: Sequence[str]
) -> list[tuple[str, TargetState, datetime | None]]:
    """(connector id, state, verified at) of every target of the devices with these ids."""
    params = {"ids": list(connector_ids)}
    return [
        (cid, state, at)
        for cid, state, at in direct.rows(session.connection(), _TARGETS_OF, params)
    ]


@dataclass(frozen=True)
class RunTotals:
    """What a run left in the database: targets by state, exceptions, devices."""

    targets_by_state: dict[str, int]
    exceptions: list[tuple[Tier, FailureClass, int]]
    devices: int


def run_totals(session: Session) -> RunTotals:
    states = {
        state.value: n
        for state, n in session.execute(
            select(Target.state, func.count()).group_by(Target.state)
        ).all()
    }
    exceptions = session.execute(
        select(PatchException.tier, PatchException.failure_class, func.count()).group_by(
            PatchException.tier, PatchException.failure_class
        )
    ).all()
    devices = session.scalar(select(func.count()).select_from(Device)) or 0
    return RunTotals(states, [(tier, cls, count) for tier, cls, count in exceptions], devices)
