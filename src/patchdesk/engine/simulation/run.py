"""A whole stretch of patching on the simulator, in virtual time, as fast as it goes.

The same engine code as production (``Reconciler.step``) runs against the simulator with a
virtual clock. Time advances in small ticks while anything is in flight or a window is open,
in hourly ticks while verified devices are only watched for regressions, and jumps straight
to the next window boundary when nothing is happening.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from patchdesk.domain import DeploymentState
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.connectors.simulator import Simulator
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.report import StepReport
from patchdesk.engine.runner import next_boundary
from patchdesk.engine.simulation.builder import SimulatedMsp, build_msp, load_msp
from patchdesk.store.db import Database
from patchdesk.store.models import Deployment, Device, PatchException, Target

BUSY_TICK = timedelta(minutes=2)
WATCH_TICK = timedelta(hours=1)
# The simulated engine is alone on its database: it renews its lease every half hour of
# virtual time rather than at every step (renewing costs a write transaction).
LEASE_TTL = timedelta(hours=1)


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class SimulationResult:
    seed: int
    start: datetime
    end: datetime
    clients: int
    devices: int
    steps: int = 0
    dispatches: int = 0
    install_calls: int = 0
    targets: int = 0
    verified: int = 0
    targets_by_state: dict[str, int] = field(default_factory=dict)
    failures_by_class: dict[str, int] = field(default_factory=dict)
    exceptions_by_tier_and_class: dict[str, dict[str, int]] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "clients": self.clients,
            "devices": self.devices,
            "targets": self.targets,
            "verified": self.verified,
            "targets_by_state": self.targets_by_state,
            "failures_by_class": self.failures_by_class,
            "exceptions_by_tier_and_class": self.exceptions_by_tier_and_class,
            "install_calls": self.install_calls,
            "dispatches": self.dispatches,
            "steps": self.steps,
            "wall_seconds": round(self.wall_seconds, 2),
        }


def _busy(
    db: Database, now: datetime, report: StepReport, config: EngineConfig
) -> timedelta | None:
    """How far to move the clock: a small tick, an hour, or None (jump to the boundary)."""
    if report.open_deployments:  # a window is open, or targets of one are still in flight
        return BUSY_TICK
    with db.session() as session:
        if report.open_deployments is None:  # the step stopped early (connector down)
            started = select(Deployment.id).where(
                Deployment.state == DeploymentState.OPEN, Deployment.occurrence_start <= now
            )
            if session.scalar(started.limit(1)) is not None:
                return BUSY_TICK
        watching = session.scalar(
            select(Target.id)
            .where(Target.verified_at > now - config.observation_period)
            .order_by(Target.id.desc())
            .limit(1)
        )
    return WATCH_TICK if watching is not None else None


def run_simulation(
    db: Database,
    *,
    seed: int,
    clients: int,
    devices: int,
    start: datetime,
    days: float,
    config: EngineConfig | None = None,
) -> SimulationResult:
    began = time.perf_counter()
    config = config or EngineConfig()
    clock = VirtualClock(start)
    msp: SimulatedMsp = build_msp(seed, clients=clients, devices=devices, start=start)
    with db.writer() as session:
        load_msp(session, msp, now=start)
    simulator: Simulator = msp.simulator(clock)
    engine = Reconciler(
        db, simulator, holder=f"simulate:{seed}", config=config, lease_ttl=LEASE_TTL
    )
    end = start + timedelta(days=days)
    result = SimulationResult(seed, start, end, clients=clients, devices=devices)
    failures: Counter[str] = Counter()
    while clock.now < end:
        report = engine.step(clock.now)
        result.steps += 1
        result.dispatches += report.dispatched
        failures.update(report.failures)
        tick = _busy(db, clock.now, report, config)
        if tick is None:
            boundary = next_boundary(engine, clock.now)
            clock.now = min(end, boundary or end)
        else:
            clock.now = min(end, clock.now + tick)
    result.install_calls = simulator.install_calls
    result.failures_by_class = dict(sorted(failures.items()))
    _summarise(db, result)
    result.wall_seconds = time.perf_counter() - began
    return result


def _summarise(db: Database, result: SimulationResult) -> None:
    with db.session() as session:
        states = Counter(
            {
                state.value: n
                for state, n in session.execute(
                    select(Target.state, func.count()).group_by(Target.state)
                ).all()
            }
        )
        result.targets = sum(states.values())
        result.verified = states.get("verified", 0)
        result.targets_by_state = dict(sorted(states.items()))
        exceptions = session.execute(
            select(PatchException.tier, PatchException.failure_class, func.count()).group_by(
                PatchException.tier, PatchException.failure_class
            )
        ).all()
        result.devices = session.scalar(select(func.count()).select_from(Device)) or 0
    by_tier: dict[str, dict[str, int]] = {}
    for tier, failure_class, count in exceptions:
        by_tier.setdefault(f"tier {tier.value}", {})[failure_class.value] = count
    result.exceptions_by_tier_and_class = {
        tier: dict(sorted(classes.items())) for tier, classes in sorted(by_tier.items())
    }
