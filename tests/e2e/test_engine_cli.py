"""`patchdesk engine` and `patchdesk simulate` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from patchdesk.cli import main
from patchdesk.simulation.run import run_simulation
from patchdesk.store.db import open_database
from patchdesk.store.models import EngineLease
from tests.databases import migrated_sqlite, open_migrated

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    db_url = migrated_sqlite(tmp_path / "engine.db")
    assert (
        run(["--db", db_url, "--operator", "alice", "policy", "apply", str(EXAMPLES / "policies")])
        == 0
    )
    csv = EXAMPLES / "inventory" / "harbour-dental.csv"
    assert run(["--db", db_url, "inventory", "import", str(csv)]) == 0
    capsys.readouterr()
    return db_url


def lease_rows(db_url: str) -> list[str]:
    db = open_database(db_url)
    with db.session() as session:
        holders = [lease.holder for lease in session.query(EngineLease)]
    db.dispose()
    return holders


def test_engine_once_steps_and_releases_the_lease(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "engine.log"
    assert run(["--db", url, "engine", "--once", "--log-file", str(log)]) == 0
    assert capsys.readouterr().out.startswith("opened ")
    assert lease_rows(url) == []


def test_engine_stops_cleanly_on_sigterm(url: str, tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    env = {**os.environ, "PATCHDESK_OPERATOR": "night-shift"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "patchdesk",
            "--db",
            url,
            "engine",
            "--interval",
            "0.3",
            "--log-file",
            str(log),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if log.exists() and "step at" in log.read_text():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the engine never stepped")
        holders = lease_rows(url)
        assert len(holders) == 1
        assert holders[0].startswith("night-shift@")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "received SIGTERM" in stderr
    assert "lease released" in stderr
    assert "Traceback" not in stderr
    assert lease_rows(url) == []


def test_simulate_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--devices", "60", "--clients", "3", "--seed", "7"]
    argv += ["--start", "2026-11-10T00:00:00Z", "--days", "1", "--json"]
    assert run(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert run(argv) == 0
    second = json.loads(capsys.readouterr().out)
    first.pop("wall_seconds")
    second.pop("wall_seconds")
    assert first == second
    assert first["devices"] == 60
    assert first["targets"] > 0
    assert first["verified"] > 0
    assert first["install_calls"] == first["dispatches"]


def test_simulate_text_summary(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--devices", "30", "--clients", "2", "--seed", "3"]
    argv += ["--start", "2026-11-10", "--days", "0.5"]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("simulated 2026-11-10 00:00 to 2026-11-10 12:00 UTC (seed 3)")
    assert "install calls" in out


def test_simulate_skips_only_ticks_where_nothing_happens(tmp_path: Path) -> None:
    """Skipping quiet ticks (the default) writes exactly what taking every tick writes."""

    def written(skip: bool) -> tuple[int, dict[str, list[Any]]]:
        db = open_migrated(tmp_path / f"skip-{skip}.db")
        result = run_simulation(
            db,
            seed=5,
            clients=3,
            devices=90,
            start=datetime(2026, 11, 10, tzinfo=UTC),
            days=3,
            skip_quiet=skip,
        )
        queries = {
            "targets": "SELECT * FROM targets ORDER BY id",
            "target_patches": "SELECT * FROM target_patches ORDER BY id",
            "deployments": "SELECT * FROM deployments ORDER BY id",
            "exceptions": "SELECT * FROM exceptions ORDER BY id",
            "checkins": "SELECT * FROM checkins ORDER BY id",
            "device_patches": "SELECT * FROM device_patches ORDER BY id",
            "events": "SELECT at, kind, entity_id, payload FROM events "
            "WHERE kind NOT LIKE 'lease.%' ORDER BY id",
        }
        with db.session() as session:
            rows = {name: list(map(tuple, session.execute(text(q)))) for name, q in queries.items()}
        db.dispose()
        return result.steps, rows

    every_steps, every = written(False)
    skipping_steps, skipping = written(True)
    assert skipping_steps < every_steps
    assert len(every["targets"]) > 20
    for name in every:
        assert skipping[name] == every[name], name


def test_engine_runs_at_the_engine_gc_thresholds(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from patchdesk.cli import engine as engine_command
    from patchdesk.engine.gc_tuning import ENGINE_THRESHOLDS

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(
        engine_command.EngineRunner, "run", lambda self: seen.append(gc.get_threshold())
    )
    before = gc.get_threshold()
    log = tmp_path / "engine.log"
    assert run(["--db", url, "engine", "--interval", "1", "--log-file", str(log)]) == 0
    assert seen == [ENGINE_THRESHOLDS]
    assert gc.get_threshold() == before


def test_engine_log_shows_spoofing_characters_as_code_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An RMM's error string in a log line (stderr and the log file) reaches neither raw."""
    import logging

    from patchdesk.cli.engine import setup_logging

    root = logging.getLogger("patchdesk")
    before, level = list(root.handlers), root.level
    log = tmp_path / "engine.log"
    try:
        setup_logging(log)
        logging.getLogger("patchdesk.engine.reconcile").warning(
            "connector unreachable: %s", "HTTP 502 from srv\u202egpj.exe\x1b[2J"
        )
    finally:
        for handler in root.handlers[len(before) :]:
            handler.close()
        root.handlers[:] = before
        root.setLevel(level)
    for logged in (capsys.readouterr().err, log.read_text(encoding="utf-8")):
        assert logged.endswith("connector unreachable: HTTP 502 from srv<U+202E>gpj.exe[2J\n")
