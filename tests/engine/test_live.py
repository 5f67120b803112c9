"""The live runner: virtual time moves in fixed steps, so a seed and a start reproduce a
demo run event for event; the time people see never runs past the next step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from patchdesk.engine.live import virtual_interval
from patchdesk.simulation.demo import HEAD_START, demo_engine, load_demo
from patchdesk.store.models import Event
from tests.databases import open_migrated

LAUNCH = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def _run(path: Path) -> list[tuple[str, str, str]]:
    db = open_migrated(path)
    msp = load_demo(db, 4, LAUNCH)
    engine = demo_engine(db, msp, launch=LAUNCH, speed=600, holder="h", warm_up=False)
    engine.run_until(LAUNCH - HEAD_START + timedelta(minutes=40))
    engine.stop()
    with db.session() as session:
        events = [
            (e.at.isoformat(), e.kind, e.entity_id)
            for e in session.scalars(select(Event).order_by(Event.id))
        ]
    db.dispose()
    return events


def test_same_seed_and_start_give_the_same_run(tmp_path: Path) -> None:
    first, second = _run(tmp_path / "a.db"), _run(tmp_path / "b.db")
    assert first == second
    assert any(kind == "deployment.opened" for _, kind, _ in first)


def test_display_time_runs_between_steps_but_not_past_the_next(tmp_path: Path) -> None:
    db = open_migrated(tmp_path / "c.db")
    msp = load_demo(db, 4, LAUNCH)
    engine = demo_engine(db, msp, launch=LAUNCH, speed=60, holder="h", warm_up=False)
    wall = [100.0]
    engine.time.wall = lambda: wall[0]
    engine.time.started()  # virtual time runs on from this wall instant
    engine._thread = object()  # type: ignore[assignment]  # seen as running
    start = engine.now()
    wall[0] += 0.25  # a quarter wall second at 60x: 15 virtual seconds
    assert engine.now() == start + timedelta(seconds=15)
    wall[0] += 10
    assert engine.now() == start + engine.interval  # capped at the next step
    engine._thread = None
    db.dispose()
    assert virtual_interval(60) == timedelta(seconds=30)
    assert virtual_interval(1) == timedelta(seconds=15)
