"""Stopping the engine on signals, in every order a test can bring about in-process: before
the scheduler started, during a step, between steps, while the scheduler shuts down, after
the engine stopped; the signals themselves (``SignalWatch``) and ``patchdesk engine --once``.

Signals go through ``Stopping.deliver``, as the watching thread delivers them, except in the
tests of ``SignalWatch`` and of the command, which send real ones to this process. Nothing
waits on time: each test waits on a condition, with a generous limit for a loaded machine.
(tests/e2e/test_engine_signals.py signals a real engine process.)"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.base import STATE_STOPPED

from patchdesk.cli import engine as engine_command
from patchdesk.cli import main
from patchdesk.connectors.base import Connector
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.runner import EngineRunner
from patchdesk.engine.signals import STOP_SIGNALS, SignalWatch, Stopping
from patchdesk.store.db import Database, open_database
from patchdesk.store.models import EngineLease
from tests.connectors.fakefleet import FakeFleet

TIMEOUT = 120.0  # seconds a condition may take on a loaded machine before the test fails
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {TIMEOUT:.0f} s")
        time.sleep(0.01)


def lease_holders(db: Database) -> list[str]:
    with db.session() as session:
        return [row.holder for row in session.query(EngineLease)]


class GatedReconciler(Reconciler):
    """A reconciler whose steps, once done (the lease taken), wait at a gate the test opens:
    until then the step is running."""

    def __init__(self, db: Database, connector: Connector, **kwargs: Any) -> None:
        super().__init__(db, connector, **kwargs)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def step(self, now: datetime) -> StepCounts:
        report = super().step(now)
        self.entered.set()
        if not self.gate.wait(TIMEOUT):
            raise AssertionError("the test never opened the gate")
        return report


class Exits:
    """Stands in for os._exit: records the status (the process goes on)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def __call__(self, status: int) -> None:
        self.statuses.append(status)


@pytest.fixture
def exits() -> Exits:
    return Exits()


@pytest.fixture
def stopping(exits: Exits) -> Stopping:
    return Stopping(exit=exits)


@pytest.fixture
def reconciler(database: Database) -> Iterator[GatedReconciler]:
    fleet = FakeFleet(lambda: datetime.now(UTC))
    gated = GatedReconciler(database, fleet, holder="test-engine@here:1")
    yield gated
    gated.gate.set()  # a failed test lets its engine go


def engine_for(reconciler: Reconciler, stopping: Stopping, interval: float = 0.05) -> EngineRunner:
    stopping.release = reconciler.release_lease
    return EngineRunner(reconciler, interval=timedelta(seconds=interval), stop=stopping.requested)


class Running:
    """``run`` on a thread of its own, as the command runs it on the main thread."""

    def __init__(self, runner: EngineRunner) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(runner,), daemon=True)
        self.thread.start()

    def _run(self, runner: EngineRunner) -> None:
        try:
            runner.run()
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the engine did not stop"
        assert self.error is None, repr(self.error)


def messages(caplog: pytest.LogCaptureFixture, part: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if part in r.getMessage()]


def test_the_first_signal_stops_the_second_is_absorbed_the_third_forces(
    stopping: Stopping, exits: Exits, caplog: pytest.LogCaptureFixture
) -> None:
    released: list[bool] = []
    stopping.release = lambda: released.append(True)
    caplog.set_level(logging.INFO, logger="patchdesk")
    stopping.deliver(signal.SIGTERM)
    assert stopping.requested.is_set()
    stopping.deliver(signal.SIGINT)
    assert (released, exits.statuses) == ([], [])
    assert messages(caplog, "already stopping") == [
        "received SIGINT: already stopping (a third signal stops at once)"
    ]
    stopping.deliver(signal.SIGHUP)
    assert released == [True]  # before the exit
    assert exits.statuses == [128 + signal.SIGHUP]
    assert len(messages(caplog, "finishing the current step")) == 1


def test_the_stop_is_asked_for_by_the_time_the_log_says_so(
    stopping: Stopping, caplog: pytest.LogCaptureFixture
) -> None:
    """Whoever reads "received ...: finishing the current step" (a person, a test waiting on
    the log) finds the stop already asked for: a step that starts then does not run."""
    seen: list[bool] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(stopping.requested.is_set())

    logger = logging.getLogger("patchdesk.engine.signals")
    spy = Spy()
    logger.addHandler(spy)
    caplog.set_level(logging.INFO, logger=logger.name)
    try:
        stopping.deliver(signal.SIGTERM)
    finally:
        logger.removeHandler(spy)
    assert seen == [True]


def test_a_forced_stop_exits_even_when_the_lease_cannot_be_released(
    stopping: Stopping, exits: Exits, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable() -> None:
        raise OSError("connection refused")

    stopping.release = unreachable
    for signum in (signal.SIGTERM, signal.SIGTERM, signal.SIGTERM):
        stopping.deliver(signum)
    assert exits.statuses == [128 + signal.SIGTERM]
    assert messages(caplog, "could not release the lease") == [
        "could not release the lease (connection refused): it expires by itself"
    ]


def test_a_stop_before_the_scheduler_started_steps_nothing(
    reconciler: GatedReconciler, stopping: Stopping, caplog: pytest.LogCaptureFixture
) -> None:
    runner = engine_for(reconciler, stopping)
    caplog.set_level(logging.INFO, logger="patchdesk")
    stopping.deliver(signal.SIGTERM)
    stopping.deliver(signal.SIGINT)
    runner.run()  # returns at once
    assert runner.steps == 0
    assert runner.scheduler.state == STATE_STOPPED  # never started
    assert not reconciler.entered.is_set()
    assert lease_holders(reconciler.db) == []
    assert messages(caplog, "engine stopped") == ["engine stopped after 0 steps; lease released"]


def test_signals_during_a_step_let_it_finish_then_release_the_lease(
    reconciler: GatedReconciler, stopping: Stopping, exits: Exits, caplog: pytest.LogCaptureFixture
) -> None:
    runner = engine_for(reconciler, stopping)
    caplog.set_level(logging.INFO, logger="patchdesk")
    running = Running(runner)
    wait_for(reconciler.entered.is_set, "the first step")
    assert lease_holders(reconciler.db) == ["test-engine@here:1"]
    stopping.deliver(signal.SIGTERM)
    stopping.deliver(signal.SIGINT)
    assert running.thread.is_alive()  # the step is still running: nothing released yet
    assert lease_holders(reconciler.db) == ["test-engine@here:1"]
    reconciler.gate.set()
    running.join()
    assert runner.steps == 1
    assert lease_holders(reconciler.db) == []
    assert exits.statuses == []
    assert len(messages(caplog, "finishing the current step")) == 1
    assert len(messages(caplog, "already stopping")) == 1


def test_signals_between_steps_stop_it(
    reconciler: GatedReconciler, stopping: Stopping, exits: Exits
) -> None:
    reconciler.gate.set()
    runner = engine_for(reconciler, stopping)
    running = Running(runner)
    wait_for(lambda: runner.steps >= 2, "two steps")
    stopping.deliver(signal.SIGINT)
    stopping.deliver(signal.SIGINT)
    running.join()
    assert lease_holders(reconciler.db) == []
    assert exits.statuses == []


def test_signals_while_the_scheduler_shuts_down(
    reconciler: GatedReconciler,
    stopping: Stopping,
    exits: Exits,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scheduler's shutdown waits for the running step; a second signal then is absorbed,
    a third releases the lease at once (the step still running) and exits. No job is left
    to fall due during the shutdown: the scheduler's thread would hand it to the stopped
    executor just after (APScheduler logs that as an error, with a traceback)."""
    runner = engine_for(reconciler, stopping, interval=0.05)
    scheduler = runner.scheduler
    shutting_down = threading.Event()
    jobs_at_shutdown: list[object] = []
    shutdown = scheduler.shutdown

    def watched_shutdown(wait: bool = True) -> None:
        jobs_at_shutdown.extend(scheduler.get_jobs())
        shutting_down.set()
        shutdown(wait)

    monkeypatch.setattr(scheduler, "shutdown", watched_shutdown)
    caplog.set_level(logging.INFO)
    running = Running(runner)
    wait_for(reconciler.entered.is_set, "the first step")
    stopping.deliver(signal.SIGTERM)
    wait_for(shutting_down.is_set, "the scheduler's shutdown")
    assert jobs_at_shutdown == []
    stopping.deliver(signal.SIGINT)
    assert exits.statuses == []
    stopping.deliver(signal.SIGTERM)
    assert exits.statuses == [128 + signal.SIGTERM]
    assert lease_holders(reconciler.db) == []  # released while the step still runs
    reconciler.gate.set()  # (a real forced exit would not get here)
    running.join()
    assert lease_holders(reconciler.db) == []
    assert runner.steps == 1
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == [], [r.getMessage() for r in problems]


def test_signals_after_the_engine_stopped(
    reconciler: GatedReconciler, stopping: Stopping, exits: Exits
) -> None:
    reconciler.gate.set()
    runner = engine_for(reconciler, stopping)
    running = Running(runner)
    wait_for(lambda: runner.steps >= 1, "a step")
    stopping.deliver(signal.SIGTERM)
    running.join()
    stopping.deliver(signal.SIGTERM)
    stopping.deliver(signal.SIGTERM)
    assert exits.statuses == [128 + signal.SIGTERM]
    assert lease_holders(reconciler.db) == []


def test_a_released_lease_is_not_taken_again(reconciler: GatedReconciler) -> None:
    """A forced stop releases the lease while a step may still run: no later step of that
    engine takes it back, so another engine may."""
    reconciler.gate.set()
    now = datetime.now(UTC)
    assert reconciler.step(now).dispatching
    reconciler.release_lease()
    assert lease_holders(reconciler.db) == []
    assert not reconciler.step(now + timedelta(seconds=40)).dispatching
    assert lease_holders(reconciler.db) == []
    reconciler.release_lease()  # again: nothing to do


# -- real signals, sent to this process


@pytest.fixture
def saved_handlers() -> Iterator[None]:
    """What the signals' handlers were, put back (a stopped watch may leave them ignored)."""
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    # Start from Python's defaults whatever an earlier test in this process left (a stopped
    # watch in an in-process engine run leaves its signals ignored).
    for signum in STOP_SIGNALS:
        default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, default)
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("saved_handlers")
def test_signal_watch_delivers_real_signals_and_restores_the_handlers(
    stopping: Stopping, exits: Exits
) -> None:
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    with SignalWatch(stopping):
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(stopping.requested.is_set, "the first signal delivered")
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGHUP)
        wait_for(lambda: bool(exits.statuses), "the third signal delivered")
    assert exits.statuses == [128 + signal.SIGHUP] or exits.statuses == [128 + signal.SIGINT]
    assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == before


@pytest.mark.usefixtures("saved_handlers")
def test_signal_watch_leaves_an_ignored_signal_ignored(stopping: Stopping, exits: Exits) -> None:
    """``nohup patchdesk engine``: SIGHUP was ignored when it started, and stays so."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with SignalWatch(stopping):
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(stopping.requested.is_set, "SIGTERM delivered")
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    assert exits.statuses == []


@pytest.mark.usefixtures("saved_handlers")
def test_once_stopped_the_signals_are_ignored_on_the_way_out(
    stopping: Stopping, exits: Exits
) -> None:
    with SignalWatch(stopping, ignore_after_stop=True):
        os.kill(os.getpid(), signal.SIGINT)
        wait_for(stopping.requested.is_set, "SIGINT delivered")
    for signum in STOP_SIGNALS:
        assert signal.getsignal(signum) == signal.SIG_IGN
    os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt, nothing delivered
    assert exits.statuses == []


@pytest.mark.usefixtures("saved_handlers")
def test_signal_watch_restores_the_handlers_when_no_signal_came(stopping: Stopping) -> None:
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    with SignalWatch(stopping, ignore_after_stop=True):
        pass
    assert {signum: signal.getsignal(signum) for signum in STOP_SIGNALS} == before
    assert not stopping.requested.is_set()


# -- patchdesk engine --once, real signals sent to this process


@pytest.fixture
def engine_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    for argv in (
        ["--db", url, "--operator", "alice", "policy", "apply", str(EXAMPLES / "policies")],
        ["--db", url, "inventory", "import", str(EXAMPLES / "inventory" / "harbour-dental.csv")],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    capsys.readouterr()
    return url


@pytest.fixture
def engine_logging() -> Iterator[None]:
    """The command adds its log handlers to the ``patchdesk`` logger: taken off after."""
    logger = logging.getLogger("patchdesk")
    handlers = list(logger.handlers)
    yield
    for handler in logger.handlers[len(handlers) :]:
        logger.removeHandler(handler)
        handler.close()


def holders_at(url: str) -> list[str]:
    db = open_database(url)
    try:
        return lease_holders(db)
    finally:
        db.dispose()


@pytest.mark.usefixtures("saved_handlers", "engine_logging")
def test_engine_once_finishes_its_step_on_signals_and_releases_the_lease(
    engine_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two signals (ctrl-c, then SIGTERM) during the one step of ``--once``: the step
    finishes, its summary is printed, the lease released, exit 0."""
    log = tmp_path / "engine.log"
    made: list[GatedReconciler] = []

    def gated(*args: Any, **kwargs: Any) -> GatedReconciler:
        made.append(GatedReconciler(*args, **kwargs))
        return made[0]

    def signal_during_the_step() -> None:
        try:
            wait_for(lambda: bool(made) and made[0].entered.is_set(), "the step")
            os.kill(os.getpid(), signal.SIGINT)
            wait_for(lambda: "received SIGINT" in log.read_text(), "SIGINT handled")
            os.kill(os.getpid(), signal.SIGTERM)
            wait_for(lambda: "already stopping" in log.read_text(), "SIGTERM handled")
        finally:
            if made:
                made[0].gate.set()

    monkeypatch.setattr(engine_command, "Reconciler", gated)
    sender = threading.Thread(target=signal_during_the_step, daemon=True)
    sender.start()
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", engine_db, "engine", "--once", "--log-file", str(log)])
    sender.join(TIMEOUT)
    assert exit_info.value.code == 0, log.read_text()
    assert capsys.readouterr().out.startswith("opened ")
    assert holders_at(engine_db) == []
    assert "already stopping" in log.read_text()


@pytest.mark.parametrize(
    "argv", [["engine", "--once"], ["engine", "--interval", "0.1"]], ids=["once", "run"]
)
@pytest.mark.usefixtures("saved_handlers", "engine_logging")
def test_engine_stopped_during_its_set_up_takes_no_step(
    engine_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    log = tmp_path / "engine.log"
    make_connector = engine_command.make_connector

    def signalled_during_set_up(*args: Any) -> Connector:
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(lambda: "received SIGTERM" in log.read_text(), "SIGTERM handled")
        return make_connector(*args)

    monkeypatch.setattr(engine_command, "make_connector", signalled_during_set_up)
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", engine_db, *argv, "--log-file", str(log)])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == ""
    assert "stopped before the first step" in log.read_text()
    assert "step at" not in log.read_text()
    assert holders_at(engine_db) == []
