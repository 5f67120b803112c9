"""The window schedule kept between steps answers as a fresh reading of the windows would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from patchdesk.engine.schedule import WindowSchedule
from patchdesk.rules.calendar import next_occurrences
from patchdesk.simulation.builder import build_msp, load_msp
from patchdesk.store.db import Database
from patchdesk.store.models import MaintenanceWindow
from patchdesk.store.window_views import ClientWindow, load_windows
from tests.databases import open_migrated

START = datetime(2026, 11, 10, tzinfo=UTC)


def _db(tmp_path: Path) -> Database:
    db = open_migrated(tmp_path / "schedule.db")
    with db.writer() as session:  # clients in several zones, weekly and monthly windows
        load_msp(session, build_msp(4, clients=6, devices=60, start=START), now=START)
    return db


def _boundary(windows: list[ClientWindow], now: datetime) -> datetime | None:
    instants = (
        instant
        for window in windows
        for occurrence in next_occurrences(window.spec, window.zone, now, 2)
        for instant in (occurrence.start_utc, occurrence.end_utc)
        if instant > now
    )
    return min(instants, default=None)


def _open(windows: list[ClientWindow], now: datetime) -> list[tuple[int, datetime]]:
    return [
        (window.window_id, occurrence.start_utc)
        for window in windows
        for occurrence in next_occurrences(window.spec, window.zone, now, 2)
        if occurrence.start_utc <= now < occurrence.end_utc
    ]


def test_boundaries_and_open_windows_as_read_afresh_at_every_instant(tmp_path: Path) -> None:
    db = _db(tmp_path)
    schedule = WindowSchedule()
    with db.session() as session:
        schedule.refresh(session)
        windows = load_windows(session)
    assert windows
    rng = random.Random(9)
    now, crossed = START, 0
    while now < START + timedelta(days=12):
        expected = _boundary(windows, now)
        assert schedule.next_boundary(now) == expected, now
        assert schedule.next_boundary(now) == expected, now  # asked again: the same
        opened = [(w.window_id, o.start_utc) for w, o in schedule.open_at(now)]
        assert opened == _open(windows, now), now
        if expected is not None and rng.random() < 0.3:
            now, crossed = expected, crossed + 1  # exactly at a boundary
        else:
            now += timedelta(minutes=rng.choice((1, 2, 7, 30, 90, 300)))
    assert crossed > 10
    db.dispose()


def test_a_changed_window_is_seen_at_the_next_refresh(tmp_path: Path) -> None:
    db = _db(tmp_path)
    schedule = WindowSchedule()
    with db.session() as session:
        schedule.refresh(session)
        before = schedule.next_boundary(START)
    assert before is not None
    with db.writer() as session:  # every window an hour later, stamped as policy apply does
        for window in session.query(MaintenanceWindow):
            start = window.start_time
            window.start_time = start.replace(hour=(start.hour + 1) % 24)
        session.execute(update(MaintenanceWindow).values(updated_at=START + timedelta(days=1)))
    assert schedule.next_boundary(START) == before  # not re-read yet: as of the last refresh
    with db.session() as session:
        schedule.refresh(session)
        windows = load_windows(session)
    assert schedule.next_boundary(START) == _boundary(windows, START) != before
    db.dispose()
