"""A whole stretch of patching on the simulator, in virtual time, as fast as it goes.

The same engine code as production (``Reconciler.step``) runs against the simulator with a
virtual clock. Time advances in small ticks while anything is in flight or a window is open
(passing over the ticks at which no step could have anything to do: ``QuietSkipper``), in
hourly ticks while verified devices are only watched for regressions, and jumps straight to
the next window boundary when nothing is happening.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from patchdesk.connectors.simulator import Simulator
from patchdesk.domain import IN_FLIGHT, TargetState
from patchdesk.engine import state
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.runner import next_boundary
from patchdesk.simulation.builder import SimulatedMsp, build_msp, load_msp
from patchdesk.store.db import Database
from patchdesk.store.simulation_views import (
    open_window_started,
    run_totals,
    target_states_of,
    verified_since,
)

BUSY_TICK = timedelta(minutes=2)
WATCH_TICK = timedelta(hours=1)
# The simulated engine is alone on its database: it renews its lease every half hour of
# virtual time rather than at every step (renewing costs a write transaction).
LEASE_TTL = timedelta(hours=1)


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
    db: Database, now: datetime, report: StepCounts, config: EngineConfig
) -> timedelta | None:
    """How far to move the clock: a small tick, an hour, or None (jump to the boundary)."""
    if report.open_deployments:  # a window is open, or targets of one are still in flight
        return BUSY_TICK
    with db.session() as session:
        stopped_early = report.open_deployments is None  # (the connector went down)
        if stopped_early and open_window_started(session, now):
            return BUSY_TICK
        watching = verified_since(session, now - config.observation_period)
    return WATCH_TICK if watching else None


class QuietSkipper:
    """Finds the next busy tick at which a step can have anything to do.

    The steps of a busy stretch fall every ``BUSY_TICK``. A step does something only when
    the fleet reports something new about a job, an outage or a device that has a target
    waiting, in flight or watched (other devices' facts are only recorded), or when the
    engine has something due (``Reconciler.next_due``); until then every step would find
    nothing to do, so the clock may move straight to the first tick at or after that
    instant. The steps that do something, and so everything the engine writes, are the same
    as with every tick taken (devices with nothing in flight have their facts recorded at
    the next step taken, so their ``last_seen`` reads that step).

    On a large fleet something happens at nearly every tick; asking costs little but not
    nothing, so after a tick that could not be skipped the next ones are not asked about,
    for a stretch that doubles each time (up to ``MAX_BACKOFF`` ticks) and starts over after
    a skip. Whether a tick is asked about never changes what the engine does."""

    MAX_BACKOFF = 8

    def __init__(
        self, db: Database, engine: Reconciler, simulator: Simulator, config: EngineConfig
    ) -> None:
        self.db = db
        self.engine = engine
        self.simulator = simulator
        self.config = config
        self._wait = 0  # ticks not to ask about
        self._backoff = 1

    def next_tick(self, now: datetime, end: datetime) -> datetime:
        step = now + BUSY_TICK
        if self._wait > 0:
            self._wait -= 1
            return step
        change = self._first_change(now, step, end)
        if change <= step:
            self._wait = self._backoff
            self._backoff = min(2 * self._backoff, self.MAX_BACKOFF)
            return step
        self._backoff = 1
        return now + BUSY_TICK * -((now - change) // BUSY_TICK)

    def _first_change(self, now: datetime, step: datetime, end: datetime) -> datetime:
        """The first instant a step can have something to do (``step`` or earlier: by then)."""
        due = self.engine.next_due(now, step)
        horizon = end if due is None else min(due, end)
        if horizon <= step:
            return horizon
        observed = now - self.config.observation_period

        def watched(connector_ids: Sequence[str]) -> list[str]:
            with self.db.session() as session:
                found = target_states_of(session, connector_ids)
            return list({cid: None for cid, state, at in found if _watched(state, at, observed)})

        return self.simulator.next_change(now, horizon, watched)


# Whether a step reads a device's facts is decided from its targets' states
# (``store.simulation_views.target_states_of`` reads them unfiltered).
_READ_STATES = frozenset((TargetState.PENDING, *IN_FLIGHT))


def _watched(state: TargetState, verified_at: datetime | None, observed: datetime) -> bool:
    """A step reads the facts of a device with a target pending, in flight or watched."""
    if state in _READ_STATES:
        return True
    return state is TargetState.VERIFIED and verified_at is not None and verified_at > observed


def run_simulation(
    db: Database,
    *,
    seed: int,
    clients: int,
    devices: int,
    start: datetime,
    days: float,
    config: EngineConfig | None = None,
    skip_quiet: bool = True,
) -> SimulationResult:
    """Build a simulated MSP and run the engine over ``days`` of virtual time. With
    ``skip_quiet`` (the default) busy ticks at which no step could have anything to do are
    skipped (``QuietSkipper``): the engine writes the same, in fewer steps. (The garbage
    collector's thresholds are the process's business: ``patchdesk simulate`` runs this
    under ``engine.gc_tuning.engine_collection``.)"""
    return _run(db, seed, clients, devices, start, days, config, skip_quiet)


def _run(
    db: Database,
    seed: int,
    clients: int,
    devices: int,
    start: datetime,
    days: float,
    config: EngineConfig | None,
    skip_quiet: bool,
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
    skipper = QuietSkipper(db, engine, simulator, config) if skip_quiet else None
    while clock.now < end:
        report = engine.step(clock.now)
        result.steps += 1
        result.dispatches += report.dispatched
        failures.update(report.failures)
        tick = _busy(db, clock.now, report, config)
        if tick is None:
            boundary = next_boundary(engine, clock.now)
            clock.now = min(end, boundary or end)
        elif tick == BUSY_TICK and report.connector_reachable and skipper is not None:
            clock.now = min(end, skipper.next_tick(clock.now, end))
        else:
            clock.now = min(end, clock.now + tick)
    result.install_calls = simulator.install_calls
    result.failures_by_class = dict(sorted(failures.items()))
    _record_clock(db, engine.holder, clock.now, result.steps)
    _summarise(db, result)
    result.wall_seconds = time.perf_counter() - began
    return result


def _record_clock(db: Database, holder: str, now: datetime, steps: int) -> None:
    """The database is a simulation's: its time is the virtual time the run ended at, for
    the commands and UIs that open it later (``live.simulated_now``)."""
    value = {
        "holder": holder,
        "at": now.isoformat(),
        "steps": steps,
        "summary": f"simulation ended at {now:%Y-%m-%d %H:%M} UTC",
        "simulated": True,
    }
    with db.writer() as session:
        state.write(session, state.RUNNER, value, now)


def _summarise(db: Database, result: SimulationResult) -> None:
    with db.session() as session:
        totals = run_totals(session)
    states = Counter(totals.targets_by_state)
    result.targets = sum(states.values())
    result.verified = states.get("verified", 0)
    result.targets_by_state = dict(sorted(states.items()))
    result.devices = totals.devices
    by_tier: dict[str, dict[str, int]] = {}
    for tier, failure_class, count in totals.exceptions:
        by_tier.setdefault(f"tier {tier.value}", {})[failure_class.value] = count
    result.exceptions_by_tier_and_class = {
        tier: dict(sorted(classes.items())) for tier, classes in sorted(by_tier.items())
    }
