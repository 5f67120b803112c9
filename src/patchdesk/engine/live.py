"""The engine running live beside the terminal UI: a background thread stepping the reconciler.

``LiveEngine`` steps the reconciler through the same driver as ``patchdesk engine``
(``engine.driver``), from its own thread (never the UI's), one step at a time, on real time
(``patchdesk`` on the configured database) or virtual time (``patchdesk demo``): the
driver's clock strategies, :class:`~patchdesk.engine.driver.RealTime` and
:class:`~patchdesk.engine.driver.VirtualTime`.

``now()`` is the time a person should see: in virtual mode it moves smoothly between steps
(never past the next step's instant). After each step the driver records what it did in the
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

from patchdesk.engine import lease, state
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.driver import RealTime, StepDriver, VirtualTime, utc_now
from patchdesk.engine.reconcile import Reconciler
from patchdesk.store.db import Database, Session

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
        self.time: RealTime | VirtualTime = (
            VirtualTime(virtual, interval, speed, wall)
            if virtual is not None
            else RealTime(interval, clock or utc_now, wall)
        )
        self.speed = self.time.speed
        self.driver = StepDriver(reconciler, self.time, record=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def simulated(self) -> bool:
        return self.time.simulated

    def now(self) -> datetime:
        """What time it is for people: wall time, or virtual time running between steps."""
        return self.time.now(self._thread is not None and not self._stop.is_set())

    def step(self) -> StepCounts | None:
        """One step at the current engine time (on the caller's thread); None if it failed."""
        return self.driver.step()

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
            self.time.advance()
        return steps

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the live engine is already running")
        self._stop.clear()
        self.time.started()
        self._thread = threading.Thread(target=self._loop, name="patchdesk-engine", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        budget = self.time.wall_budget()
        while not self._stop.is_set():
            began = self.time.wall()
            self.step()
            wait = budget - (self.time.wall() - began)
            if wait > 0 and self._stop.wait(wait):
                break
            self.time.advance()

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
        last = self.driver.last()
        return LiveStatus(
            running=self._thread is not None and not self._stop.is_set(),
            simulated=self.simulated,
            speed=self.speed,
            steps=last.steps,
            last_step_at=last.at,
            summary=last.summary,
            error=last.error,
        )
