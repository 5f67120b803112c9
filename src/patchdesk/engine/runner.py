"""Running the engine: APScheduler wakes the reconcile step on an interval and at the next
window boundary; steps never overlap; SIGTERM/SIGINT stop it cleanly.

A step is a few short transactions, so stopping between them never leaves half-written state:
a stop request lets the running step finish, then the scheduler shuts down and the lease is
released (another engine may take over at once instead of waiting for it to expire).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from patchdesk.engine import lease
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.report import StepReport

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = timedelta(seconds=15)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def next_boundary(reconciler: Reconciler, now: datetime) -> datetime | None:
    """The next instant a window opens or closes, after ``now``."""
    return reconciler.next_boundary(now)


def describe(report: StepReport) -> str:
    if not report.dispatching:
        return "attached (another engine holds the lease)"
    if not report.connector_reachable:
        return "connector unreachable"
    failures = ", ".join(f"{n} {c}" for c, n in sorted(report.failures.items())) or "none"
    return (
        f"opened {report.deployments_opened}, dispatched {report.dispatched}, "
        f"verified {report.verified}, failures {failures}, commands {report.commands_run}"
    )


class EngineRunner:
    def __init__(
        self,
        reconciler: Reconciler,
        *,
        interval: timedelta = DEFAULT_INTERVAL,
        clock: Clock = utc_now,
    ) -> None:
        self.reconciler = reconciler
        self.interval = interval
        self.clock = clock
        self.scheduler = BlockingScheduler(timezone=UTC)
        self._lock = threading.Lock()
        self.steps = 0

    def step_once(self) -> StepReport:
        """One step, never two at once (a wake-up during a step is skipped)."""
        if not self._lock.acquire(blocking=False):
            return StepReport()
        try:
            now = self.clock()
            report = self.reconciler.step(now)
            self.steps += 1
            log.info("step at %s: %s", now.isoformat(timespec="seconds"), describe(report))
            self._schedule_boundary(now)
            return report
        except Exception:
            log.exception("step failed; the next step will try again")
            return StepReport()
        finally:
            self._lock.release()

    def _schedule_boundary(self, now: datetime) -> None:
        if not self.scheduler.running:
            return
        boundary = next_boundary(self.reconciler, now)
        if boundary is not None:
            self.scheduler.add_job(
                self.step_once,
                "date",
                run_date=boundary + timedelta(seconds=1),
                id="boundary",
                replace_existing=True,
                misfire_grace_time=60,
            )

    def run(self) -> None:
        """Step until SIGTERM or SIGINT."""
        self.scheduler.add_job(
            self.step_once,
            "interval",
            seconds=self.interval.total_seconds(),
            id="interval",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.scheduler.start()  # blocks until shutdown
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            lease.release(self.reconciler.db, self.reconciler.holder)
            log.info("engine stopped after %d steps; lease released", self.steps)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        log.info(
            "received %s: finishing the current step, then stopping", signal.Signals(signum).name
        )
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}).start()
