"""What the Reports screen looks like at 120x40 and 80x24: the seeded demo at its launch
instant with two resolved exceptions and an emergency approval (``reports_fixtures``), a
frozen clock, no engine running, no animation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from patchdesk.store.db import open_database
from tests.screens.conftest import build_app
from tests.screens.reports_fixtures import add_history, open_reports, with_reports_dir


def _app(demo_template: Path, tmp_path: Path) -> Any:
    path = tmp_path / "snap.db"
    path.write_bytes(demo_template.read_bytes())
    database = open_database(f"sqlite:///{path}")
    add_history(database)
    return build_app(database)


async def _reports(pilot: Pilot[Any]) -> None:
    await open_reports(pilot)


async def _sorted_with_detail(pilot: Pilot[Any]) -> None:
    await open_reports(pilot)
    await pilot.press("s", "s", "s")  # failed installs, most first
    await pilot.press("down", "d")
    await pilot.pause()


def test_reports_120x40(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_reports)
    app.services.database.dispose()


def test_reports_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_reports)
    app.services.database.dispose()


def test_reports_detail_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = _app(demo_template, tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_sorted_with_detail)
    app.services.database.dispose()


# Where the form says it exports (nothing is written): the same on every machine.
FIXED_DIR = Path("/srv/patchdesk/reports")


async def _export_form(pilot: Pilot[Any]) -> None:
    await open_reports(pilot)
    await pilot.press("down", "w")
    await pilot.pause()


async def _export_form_internal(pilot: Pilot[Any]) -> None:
    await _export_form(pilot)
    await pilot.press("a")
    await pilot.pause()


def test_reports_export_form_80x24(snap_compare: Any, demo_template: Path, tmp_path: Path) -> None:
    app = with_reports_dir(_app(demo_template, tmp_path), FIXED_DIR)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_export_form)
    app.services.database.dispose()


def test_reports_export_form_internal_80x24(
    snap_compare: Any, demo_template: Path, tmp_path: Path
) -> None:
    app = with_reports_dir(_app(demo_template, tmp_path), FIXED_DIR)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_export_form_internal)
    app.services.database.dispose()
