"""The one driver of the step (``engine.driver``): how a step is taken, counted, recorded and
how a failed one is handled, whatever wakes the engine; and its two clock strategies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from patchdesk.engine import state
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.driver import RealTime, StepDriver, VirtualTime
from patchdesk.engine.reconcile import Reconciler
from patchdesk.store.db import Database
from tests.connectors.fakefleet import FakeFleet

START = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class FlakyReconciler(Reconciler):
    """Fails the steps asked to fail; otherwise a real step. Notes each step's time."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, FakeFleet(lambda: START), holder="driver-test@here:1")
        self.fail_next: str | None = None
        self.times: list[datetime] = []

    def step(self, now: datetime) -> StepCounts:
        self.times.append(now)
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            raise RuntimeError(message)
        return super().step(now)


def test_a_failed_step_is_kept_as_the_error_and_the_next_one_goes_on(database: Database) -> None:
    reconciler = FlakyReconciler(database)
    driver = StepDriver(reconciler, RealTime(timedelta(seconds=15), lambda: START))
    reconciler.fail_next = "the store\nwent away"
    assert driver.step() is None
    last = driver.last()
    assert (last.steps, last.at, last.summary, last.error) == (
        0,
        None,
        "not started",
        "the store went away",
    )
    report = driver.step()
    assert report is not None
    assert report.dispatching
    last = driver.last()
    assert (last.steps, last.at, last.error) == (1, START, None)
    assert last.summary.startswith("opened 0, dispatched 0")


def test_a_step_is_recorded_only_when_asked(database: Database) -> None:
    quiet = StepDriver(FlakyReconciler(database), RealTime(timedelta(seconds=15), lambda: START))
    quiet.step()
    with database.session() as session:
        assert state.read(session, state.RUNNER) == {}
    clock = VirtualClock(START)
    recording = StepDriver(
        FlakyReconciler(database), VirtualTime(clock, timedelta(minutes=5), 600.0), record=True
    )
    recording.step()
    with database.session() as session:
        recorded = state.read(session, state.RUNNER)
    assert recorded["at"] == START.isoformat()
    assert recorded["steps"] == 1
    assert recorded["simulated"] is True
    assert recorded["speed"] == 600.0


def test_no_step_once_the_stop_is_set(database: Database) -> None:
    reconciler = FlakyReconciler(database)
    driver = StepDriver(reconciler, RealTime(timedelta(seconds=15), lambda: START))
    stop = threading.Event()
    stop.set()
    assert driver.step(unless=stop) is None
    assert reconciler.times == []
    assert driver.steps == 0


def test_virtual_time_steps_at_the_clock_and_moves_it_by_the_interval() -> None:
    clock = VirtualClock(START)
    wall = [100.0]
    time = VirtualTime(clock, timedelta(minutes=1), 60.0, wall=lambda: wall[0])
    assert time.step_time() == START
    assert time.wall_budget() == 1.0  # a virtual minute at 60x
    wall[0] += 0.5
    assert time.now(running=True) == START + timedelta(seconds=30)
    assert time.now(running=False) == START
    time.advance()
    assert time.step_time() == clock.now == START + timedelta(minutes=1)
    assert time.now(running=True) == START + timedelta(minutes=1)  # moved just now
