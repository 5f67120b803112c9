"""Running the engine: APScheduler wakes the reconcile step on an interval and at the next
window boundary; the step itself goes through the one driver (``engine.driver``: never two
at once, each logged); a stop request (a signal: ``engine.signals``) stops it cleanly.

A step is a few short transactions, so stopping between them never leaves half-written state:
a stop request lets the running step finish and starts no other, then the scheduler shuts
down and the lease is released (another engine may take over at once instead of waiting for
it to expire). The scheduler runs on threads of its own; the thread that called ``run``
only waits for the request and then stops the scheduler itself, so starting and stopping it
never race (a request before it started, or during its shutdown, is just a set flag).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from patchdesk.engine.counts import StepCounts
from patchdesk.engine.driver import Clock, RealTime, StepDriver, utc_now
from patchdesk.engine.reconcile import Reconciler

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = timedelta(seconds=15)


def next_boundary(reconciler: Reconciler, now: datetime) -> datetime | None:
    """The next instant a window opens or closes, after ``now``."""
    return reconciler.next_boundary(now)


class EngineRunner:
    def __init__(
        self,
        reconciler: Reconciler,
        *,
        interval: timedelta = DEFAULT_INTERVAL,
        clock: Clock = utc_now,
        stop: threading.Event | None = None,
    ) -> None:
        self.reconciler = reconciler
        self.interval = interval
        self.clock = clock
        self.driver = StepDriver(reconciler, RealTime(interval, clock), log_steps=True)
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.stop_requested = stop if stop is not None else threading.Event()
        self._jobs = threading.Lock()  # no job is added once the stop has removed them

    @property
    def steps(self) -> int:
        """Steps taken (that succeeded)."""
        return self.driver.steps

    def stop(self) -> None:
        """Ask ``run`` to stop: the running step finishes, no other starts. Any thread."""
        self.stop_requested.set()

    def step_once(self) -> StepCounts:
        """One step, never two at once (a wake-up during a step is skipped), none once a
        stop was asked for; a failed step counts nothing (the next one tries again)."""
        report = self.driver.step(unless=self.stop_requested)
        if report is None:
            return StepCounts()
        last = self.driver.last().at
        try:
            if last is not None:
                self._schedule_boundary(last)
        except Exception:
            log.exception("could not schedule the next window boundary; the interval goes on")
        return report

    def _schedule_boundary(self, now: datetime) -> None:
        if self.stop_requested.is_set() or not self.scheduler.running:
            return
        boundary = next_boundary(self.reconciler, now)
        if boundary is None:
            return
        with self._jobs:
            if self.stop_requested.is_set() or not self.scheduler.running:
                return
            self.scheduler.add_job(
                self.step_once,
                "date",
                run_date=boundary + timedelta(seconds=1),
                id="boundary",
                replace_existing=True,
                misfire_grace_time=60,
            )

    def run(self) -> None:
        """Step until a stop is asked for (``stop``), then stop the scheduler once the
        running step has finished, and release the lease."""
        try:
            if not self.stop_requested.is_set():
                self.scheduler.add_job(
                    self.step_once,
                    "interval",
                    seconds=self.interval.total_seconds(),
                    id="interval",
                    next_run_time=datetime.now(UTC),
                    max_instances=1,
                    coalesce=True,
                )
                self.scheduler.start()
                try:
                    self.stop_requested.wait()
                finally:
                    self._shutdown()
        finally:
            self.reconciler.release_lease()
            log.info("engine stopped after %d steps; lease released", self.steps)

    def _shutdown(self) -> None:
        """No job left to fall due, then the scheduler stopped after the running step. (A job
        falling due while ``shutdown`` waits would be handed to the stopped executor just
        after: APScheduler logs that as an error, with a traceback.)"""
        with self._jobs:
            self.scheduler.remove_all_jobs()
        self.scheduler.shutdown(wait=True)
