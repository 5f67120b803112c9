"""The one driver of a running engine's reconcile step: whatever wakes it, a step goes
through here.

Two things wake a running engine: APScheduler in ``patchdesk engine`` (``engine.runner``: on
an interval and at window boundaries) and a thread beside the terminal UI (``engine.live``:
every interval of real or virtual time). Both step through a :class:`StepDriver`, so a
step is taken, counted, described, logged and recorded the same way, and a failed step is
handled the same way (logged with its traceback, kept as the last error, and the next step
tries again: the store says what the failed step left). (``patchdesk simulate`` is no
running engine: it calls the reconciler as fast as it goes, skipping quiet instants,
``simulation.run``.)

What time a step runs at is the driver's clock strategy:

- :class:`RealTime`: ``now = clock()`` (the wall clock), a step every ``interval`` of it;
- :class:`VirtualTime` (``patchdesk demo``): the engine and the simulator share a
  :class:`~patchdesk.engine.clock.VirtualClock`. Each step runs at the clock's value, then
  the clock moves on by exactly ``interval``, paced so that virtual time runs ``speed``
  times faster than the wall clock. The step instants depend only on the start, so a seed
  and a start reproduce a run event for event; a step slower than its wall budget slows
  virtual time down rather than skipping ahead. Between steps the time people see runs on
  smoothly (never past the next step's instant).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from patchdesk.engine import state
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.reconcile import Reconciler

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Wall = Callable[[], float]


def utc_now() -> datetime:
    return datetime.now(UTC)


def describe(report: StepCounts) -> str:
    """What a step did, in one line for people (the log, the UI's engine status)."""
    if not report.dispatching:
        return "attached (another engine holds the lease)"
    if not report.connector_reachable:
        return "connector unreachable"
    failures = ", ".join(f"{n} {c}" for c, n in sorted(report.failures.items())) or "none"
    return (
        f"opened {report.deployments_opened}, dispatched {report.dispatched}, "
        f"verified {report.verified}, failures {failures}, commands {report.commands_run}"
    )


class RealTime:
    """Steps at the wall clock's time (``clock``), one every ``interval`` of wall time."""

    simulated = False
    speed = 1.0

    def __init__(
        self, interval: timedelta, clock: Clock = utc_now, wall: Wall = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.wall = wall

    def step_time(self) -> datetime:
        return self.clock()

    def now(self, running: bool) -> datetime:
        """What time it is for people."""
        return self.clock()

    def wall_budget(self) -> float:
        """Wall seconds from one step's start to the next's."""
        return self.interval.total_seconds()

    def started(self) -> None:
        """The stepping thread starts (nothing to note on the wall clock)."""

    def advance(self) -> None:
        """After a step's wait: real time moved on by itself."""


class VirtualTime:
    """Steps at ``clock``'s value, moved on by ``interval`` after each step, paced at
    ``speed`` times the wall clock (see the module docstring)."""

    simulated = True

    def __init__(
        self, clock: VirtualClock, interval: timedelta, speed: float, wall: Wall = time.monotonic
    ) -> None:
        self.clock = clock
        self.interval = interval
        self.speed = speed
        self.wall = wall
        self._lock = threading.Lock()
        self._moved_at = wall()  # wall time the virtual clock last moved

    def step_time(self) -> datetime:
        return self.clock.now

    def now(self, running: bool) -> datetime:
        """What time it is for people: virtual time running on between steps while the
        engine runs, never past the next step's instant."""
        with self._lock:
            base, moved_at = self.clock.now, self._moved_at
        if not running:
            return base
        ahead = timedelta(seconds=(self.wall() - moved_at) * self.speed)
        return base + min(ahead, self.interval)

    def wall_budget(self) -> float:
        return self.interval.total_seconds() / self.speed

    def started(self) -> None:
        """The stepping thread starts: virtual time runs on from this wall instant."""
        with self._lock:
            self._moved_at = self.wall()

    def advance(self) -> None:
        """Move the clock on by ``interval`` (after a step)."""
        with self._lock:
            self.clock.now = self.clock.now + self.interval
            self._moved_at = self.wall()


StepTime = RealTime | VirtualTime


@dataclass(frozen=True)
class LastStep:
    """What the driver's steps came to so far (plain values, safe across threads)."""

    steps: int  # steps that succeeded
    at: datetime | None  # engine time of the last step that succeeded
    summary: str  # what it did
    error: str | None  # the last step's failure, if it failed


class StepDriver:
    """Takes ``reconciler``'s steps at ``time``'s instants, one at a time, from any thread.

    ``log_steps``: each step's summary is logged (``patchdesk engine``'s log); ``record``:
    it is also written to the ``engine_state`` row ``state.RUNNER`` (who, when, what, and
    whether the time is a simulation's), so any UI can say when the engine last stepped."""

    def __init__(
        self,
        reconciler: Reconciler,
        time: StepTime,
        *,
        log_steps: bool = False,
        record: bool = False,
    ) -> None:
        self.reconciler = reconciler
        self.time = time
        self.log_steps = log_steps
        self.record = record
        self._stepping = threading.Lock()  # one step at a time
        self._lock = threading.Lock()  # the fields below
        self._last = LastStep(0, None, "not started", None)

    @property
    def steps(self) -> int:
        with self._lock:
            return self._last.steps

    def last(self) -> LastStep:
        with self._lock:
            return self._last

    def step(self, unless: threading.Event | None = None) -> StepCounts | None:
        """One step at the time's current instant; None when it failed, or was not taken
        (another step is running, or ``unless`` is set: checked again once this step has
        the turn)."""
        if unless is not None and unless.is_set():
            return None
        if not self._stepping.acquire(blocking=False):
            return None
        try:
            if unless is not None and unless.is_set():
                return None
            return self._step()
        finally:
            self._stepping.release()

    def _step(self) -> StepCounts | None:
        now = self.time.step_time()
        try:
            report = self.reconciler.step(now)
        except Exception as exc:
            log.exception("step at %s failed; the next step will try again", now.isoformat())
            with self._lock:
                last = self._last
                error = " ".join(str(exc).split()) or type(exc).__name__
                self._last = LastStep(last.steps, last.at, last.summary, error)
            return None
        summary = describe(report)
        with self._lock:
            steps = self._last.steps + 1
            self._last = LastStep(steps, now, summary, None)
        if self.log_steps:
            log.info("step at %s: %s", now.isoformat(timespec="seconds"), summary)
        if self.record:
            self._record(now, summary, steps)
        return report

    def _record(self, now: datetime, summary: str, steps: int) -> None:
        value = {
            "holder": self.reconciler.holder,
            "at": now.isoformat(),
            "steps": steps,
            "summary": summary,
            "simulated": self.time.simulated,
            "speed": self.time.speed,
        }
        try:
            with self.reconciler.db.writer() as session:
                state.write(session, state.RUNNER, value, now)
        except Exception:
            log.exception("could not record the engine's step")
