"""The engine's garbage-collector thresholds: set for engine work, put back after it."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patchdesk.cli import main
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.gc_tuning import ENGINE_THRESHOLDS, engine_collection
from patchdesk.engine.reconcile import Reconciler
from patchdesk.simulation.run import run_simulation
from tests.databases import open_migrated

OTHER = (700, 10, 10)  # CPython's defaults; what a process has before the engine runs


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*OTHER)
    yield
    gc.set_threshold(*before)


def test_engine_collection_sets_the_thresholds_and_puts_them_back() -> None:
    assert ENGINE_THRESHOLDS[0] > OTHER[0]
    with engine_collection():
        assert gc.get_threshold() == ENGINE_THRESHOLDS
        assert gc.isenabled()  # cycles are still collected, only less often
    assert gc.get_threshold() == OTHER


def test_engine_collection_puts_them_back_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), engine_collection():
        raise RuntimeError("step failed")
    assert gc.get_threshold() == OTHER


def _record_thresholds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    seen: list[tuple[int, int, int]] = []
    original = Reconciler.step

    def step(self: Reconciler, now: datetime) -> StepCounts:
        seen.append(gc.get_threshold())
        return original(self, now)

    monkeypatch.setattr(Reconciler, "step", step)
    return seen


def test_simulate_command_steps_at_the_engine_thresholds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The thresholds are set at the process's entry point (``patchdesk simulate``)."""
    seen = _record_thresholds(monkeypatch)
    argv = ["--db", f"sqlite:///{tmp_path / 'gc.db'}", "simulate", "--seed", "3"]
    argv += ["--clients", "2", "--devices", "20", "--days", "0.5", "--json"]
    argv += ["--start", "2026-11-10T00:00:00+00:00"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert steps == len(seen) > 0
    assert set(seen) == {ENGINE_THRESHOLDS}
    assert gc.get_threshold() == OTHER


def test_the_simulation_library_leaves_the_thresholds_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Library code never sets them: only entry points do."""
    seen = _record_thresholds(monkeypatch)
    db = open_migrated(tmp_path / "gc.db")
    result = run_simulation(
        db, seed=3, clients=2, devices=20, start=datetime(2026, 11, 10, tzinfo=UTC), days=0.5
    )
    db.dispose()
    assert result.steps == len(seen) > 0
    assert set(seen) == {OTHER}
