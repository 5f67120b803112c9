"""The engine running live beside the terminal UI: a background thread stepping the reconciler.

``LiveEngine`` calls the same ``Reconciler.step(now)`` as ``patchdesk engine``, from its own
thread (never the UI's), one step at a time. Two kinds of time:

- **real** (``patchdesk`` on the configured database): a step every ``interval`` of wall time
  at ``now = clock()``;
- **virtual** (``patchdesk demo``): the engine and the simulator share a
  :class:`~patchdesk.engine.clock.VirtualClock`. Each step runs at the clock's value,
  then the clock moves on by exactly ``interval``, paced so that virtual time runs ``speed``
  times faster than the wall clock. The step instants depend only on the start, so a seed
  and a start reproduce a run event for event; a step slower than its wall budget slows
  virtual time down rather than skipping ahead.

``now()`` is the time a person should see: in virtual mode it moves smoothly between steps
(never past the next step's instant). After each step the runner records what it did in the
``engine_state`` row :data:`RUNNER_KEY`, so a UI (this one, or one attached from elsewhere)
can say when the engine last stepped. This module does not import textual.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from patchdesk.engine import lease, state
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.runner import describe
from patchdesk.store.db import Database

log = logging.getLogger(__name__)

RUNNER_KEY = state.RUNNER  # engine_state row: the live runner's last step
# Wall time between two steps in virtual mode at most (the step interval shrinks with speed).
WALL_BUDGET = 0.5


def virtual_interval(speed: float) -> timedelta:
    """The virtual time between two steps at ``speed``: half a wall second's worth, between
    15 seconds and 5 minutes (the production engine steps every 15 s)."""
    seconds = min(300.0, max(15.0, speed * WALL_BUDGET))
    return timedelta(seconds=seconds)


def simulated_now(session: Session) -> datetime | None:
    """The virtual time a simulated runner (the demo) last stepped to, as recorded in the
    database; None when the database is not run by a simulated runner. Commands run beside
    the demo use it so that ages and timestamps agree with the UI's clock."""
    value = state.read(session, RUNNER_KEY)
    if not value.get("simulated") or not isinstance(value.get("at"), str):
        return None
    try:
        at = datetime.fromisoformat(value["at"])
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None


class RecordedClock:
    """The time of a simulated database for a UI that does not run its simulation (a second
    UI on the demo's database, a kept demo or ``simulate`` database): the virtual time its
    runner last recorded (``simulated_now``).

    ``now()`` never touches the database (the UI thread calls it); while started, a daemon
    thread reads the recorded time again every ``every`` seconds, so the clock follows a
    demo running in another terminal step by step and stands still when nothing runs the
    simulation. It never goes backwards."""

    def __init__(self, database: Database, at: datetime, *, every: float = 1.0) -> None:
        self.database = database
        self.every = every
        self._at = at
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def refresh(self) -> datetime:
        """Read the recorded time again (on the caller's thread); the clock's time after."""
        with self.database.session() as session:
            recorded = simulated_now(session)
        with self._lock:
            if recorded is not None and recorded > self._at:
                self._at = recorded
            return self._at

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the recorded clock is already following")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._follow, name="patchdesk-recorded-clock", daemon=True
        )
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.refresh()
            except Exception:  # the next reading tries again
                log.exception("could not read the simulated database's clock")

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)


@dataclass(frozen=True)
class LiveStatus:
    """Where the runner stands, for a person (plain values, safe across threads)."""

    running: bool
    simulated: bool
    speed: float
    steps: int
    last_step_at: datetime | None  # engine time of the last step
    summary: str  # what the last step did
    error: str | None  # the last step's failure, if it failed


class LiveEngine:
    """Steps ``reconciler`` in a daemon thread until :meth:`stop`. See the module docstring."""

    def __init__(
        self,
        reconciler: Reconciler,
        *,
        interval: timedelta,
        virtual: VirtualClock | None = None,
        speed: float = 1.0,
        clock: Callable[[], datetime] | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.reconciler = reconciler
        self.interval = interval
        self.virtual = virtual
        self.speed = speed if virtual is not None else 1.0
        self._clock = clock or (lambda: datetime.now(UTC))
        self._wall = wall
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._moved_at = wall()  # wall time the virtual clock last moved
        self._steps = 0
        self._last_step_at: datetime | None = None
        self._summary = "not started"
        self._error: str | None = None

    @property
    def simulated(self) -> bool:
        return self.virtual is not None

    # ------------------------------------------------------------------------- time

    def now(self) -> datetime:
        """What time it is for people: wall time, or virtual time running between steps."""
        if self.virtual is None:
            return self._clock()
        with self._lock:
            base, moved_at = self.virtual.now, self._moved_at
        running = self._thread is not None and not self._stop.is_set()
        if not running:
            return base
        ahead = timedelta(seconds=(self._wall() - moved_at) * self.speed)
        return base + min(ahead, self.interval)

    def _step_time(self) -> datetime:
        return self.virtual.now if self.virtual is not None else self._clock()

    def _advance(self) -> None:
        assert self.virtual is not None
        with self._lock:
            self.virtual.now = self.virtual.now + self.interval
            self._moved_at = self._wall()

    # ------------------------------------------------------------------------ steps

    def step(self) -> StepCounts | None:
        """One step at the current engine time (on the caller's thread); None if it failed."""
        now = self._step_time()
        try:
            report = self.reconciler.step(now)
        except Exception as exc:  # the next step tries again, as the production runner does
            log.exception("live engine step at %s failed", now.isoformat())
            with self._lock:
                self._error = " ".join(str(exc).split()) or type(exc).__name__
            return None
        summary = describe(report)
        with self._lock:
            self._steps += 1
            self._last_step_at = now
            self._summary = summary
            self._error = None
            steps = self._steps
        self._record(now, summary, steps)
        return report

    def run_until(self, end: datetime) -> int:
        """Virtual mode, no pacing: step and move the clock until it reaches ``end``
        (the demo's warm-up; tests). Returns the number of steps."""
        if self.virtual is None:
            raise RuntimeError("run_until needs a virtual clock")
        if self._thread is not None:
            raise RuntimeError("run_until while the live thread runs")
        steps = 0
        while self.virtual.now < end:
            self.step()
            steps += 1
            self._advance()
        return steps

    def _record(self, now: datetime, summary: str, steps: int) -> None:
        value = {
            "holder": self.reconciler.holder,
            "at": now.isoformat(),
            "steps": steps,
            "summary": summary,
            "simulated": self.simulated,
            "speed": self.speed,
        }
        try:
            with self.reconciler.db.writer() as session:
                state.write(session, RUNNER_KEY, value, now)
        except Exception:
            log.exception("could not record the live engine's step")

    # ----------------------------------------------------------------------- thread

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the live engine is already running")
        self._stop.clear()
        with self._lock:
            self._moved_at = self._wall()
        self._thread = threading.Thread(target=self._loop, name="patchdesk-engine", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        budget = (
            self.interval.total_seconds() / self.speed
            if self.virtual is not None
            else self.interval.total_seconds()
        )
        while not self._stop.is_set():
            began = self._wall()
            self.step()
            wait = budget - (self._wall() - began)
            if wait > 0 and self._stop.wait(wait):
                break
            if self.virtual is not None:
                self._advance()

    def stop(self, timeout: float = 10.0) -> None:
        """Let the running step finish, stop the thread, and release the lease."""
        thread = self._thread
        self._stop.set()
        if thread is not None:
            thread.join(timeout)
            self._thread = None
        try:
            lease.release(self.reconciler.db, self.reconciler.holder)
        except Exception:
            log.exception("could not release the engine lease")

    def status(self) -> LiveStatus:
        with self._lock:
            return LiveStatus(
                running=self._thread is not None and not self._stop.is_set(),
                simulated=self.simulated,
                speed=self.speed,
                steps=self._steps,
                last_step_at=self._last_step_at,
                summary=self._summary,
                error=self._error,
            )
