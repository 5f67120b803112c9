"""The board at a glance and at 80x24: the KPI strip and ``o`` point to the most urgent
unacknowledged exception (triage order), the oldest one's age beside it; progress bars tell
failed from verified without colour."""

from __future__ import annotations

import math
import re
from datetime import UTC, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text
from sqlalchemy import select
from textual.widgets import Static

from patchdesk.domain import ExceptionState
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.device_detail import DeviceDetailScreen
from patchdesk.screens.widgets.kpi_strip import KpiStrip
from patchdesk.screens.widgets.window_list import FAILED, VERIFIED, OpenWindows, bar_cells
from patchdesk.store import exception_ops as ops
from patchdesk.store.board_views import read_kpis
from patchdesk.store.db import Database
from patchdesk.store.models import Device, PatchException
from tests.screens.conftest import DEMO_LAUNCH, AppFactory
from tests.triage_order import TriageItem, sort_queue


def _unacknowledged(db: Database) -> list[tuple[TriageItem, str]]:
    """The open (unacknowledged) exceptions in triage order, by ``tests.triage_order``, with
    their hostnames."""
    with db.session() as session:
        found = session.execute(
            select(PatchException, Device.hostname)
            .join(Device, Device.id == PatchException.device_id)
            .where(PatchException.state == ExceptionState.OPEN)
        ).all()
    items = {
        e.id: (TriageItem(e.id, e.tier, e.failure_class, e.opened_at), host) for e, host in found
    }
    return [items[item.id] for item in sort_queue(item for item, _ in items.values())]


def _plain(renderable: object, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def _loaded(pilot: object, board: BoardScreen, at_least: int = 1) -> None:
    for _ in range(200):
        if board.updates >= at_least:
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError("the board did not update")


def test_the_kpis_name_the_most_urgent_and_the_oldest(demo_db: Database) -> None:
    ordered = _unacknowledged(demo_db)
    oldest = min((item for item, _ in ordered), key=lambda i: (i.opened_at, i.id))
    assert ordered[0][0].id != oldest.id, "the demo's most urgent is not its oldest"
    with demo_db.session() as session:
        kpis = read_kpis(session, DEMO_LAUNCH)
    assert kpis.most_urgent is not None
    assert kpis.oldest is not None
    assert kpis.most_urgent.exception_id == ordered[0][0].id
    assert kpis.most_urgent.hostname == ordered[0][1]
    assert kpis.oldest.exception_id == oldest.id


async def test_the_strip_and_o_point_to_the_most_urgent(
    demo_db: Database, make_app: AppFactory
) -> None:
    ordered = _unacknowledged(demo_db)
    (urgent, urgent_host), (second, second_host) = ordered[0], ordered[1]
    oldest = min((item for item, _ in ordered), key=lambda i: (i.opened_at, i.id))
    opened = oldest.opened_at
    oldest_age = DEMO_LAUNCH - (opened if opened.tzinfo else opened.replace(tzinfo=UTC))
    assert oldest_age > timedelta(minutes=30)  # the demo's oldest, well before launch
    app = make_app(demo_db)
    async with app.run_test(size=(80, 24)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        await _loaded(pilot, board)
        await pilot.pause()
        strip = board.query_one(KpiStrip)
        text = _plain(strip.content, 76)
        minutes = int(oldest_age.total_seconds() // 60)
        assert (
            f"Most urgent T{urgent.tier.value} {urgent.failure_class.value} {urgent_host}" in text
        )
        assert f"oldest {minutes}m" in text, text  # the oldest's age, a second figure
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DeviceDetailScreen)
        with demo_db.session() as session:
            exception = session.get(PatchException, urgent.id)
            assert exception is not None
        assert screen.device_id == exception.device_id
        assert screen.selected == urgent.id
        await pilot.press("escape")
        assert app.screen is board
        assert isinstance(board, BoardScreen)
        # Acknowledged, it is no longer the one: the next in triage order is.
        seen = board.updates
        ops.acknowledge(demo_db, urgent.id, "alice", now=DEMO_LAUNCH)
        await _loaded(pilot, board, seen + 1)
        for _ in range(500):
            kpis = strip.kpis
            now_urgent = kpis.most_urgent if kpis is not None else None
            if now_urgent is not None and now_urgent.exception_id == second.id:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        assert strip.kpis is not None
        assert strip.kpis.most_urgent is not None
        assert strip.kpis.most_urgent.exception_id == second.id
        assert f" {second_host} " in _plain(strip.content, 76)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=5000), min_size=5, max_size=5),
    width=st.integers(min_value=6, max_value=30),
)
def test_every_part_of_a_bar_shows_in_proportion(counts: list[int], width: int) -> None:
    cells = bar_cells(counts, width)
    total = sum(counts)
    if total == 0:
        assert cells == [0] * 5
        return
    assert sum(cells) == width
    for n, c in zip(counts, cells, strict=True):
        assert (n > 0) == (c > 0)  # one failure among thousands still shows
        assert c <= math.ceil(width * n / total) or c == 1
    if counts[0] < total:  # a bar all verified means all targets are
        assert cells[0] < width


def _window_row(app: object) -> dict[int, str]:
    """Each open window's line as drawn without colour, by deployment id."""
    panel = app.screen.query_one(OpenWindows)  # type: ignore[attr-defined]
    text = _plain(panel.query_one("#open-windows-body", Static).content)
    lines = {}
    for deployment_id, row in panel.rows.items():
        [line] = [line for line in text.splitlines() if f"  {row.window_name} " in line]
        lines[deployment_id] = line
    return lines


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_bars_tell_failed_from_verified_without_colour(
    demo_db: Database, make_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=size) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        await _loaded(pilot, board)
        await pilot.pause()
        panel = board.query_one(OpenWindows)
        lines = _window_row(app)
        both = [r for r in panel.rows.values() if r.verified and r.failed]
        assert both, "the demo has a window with verified and failed targets"
        for deployment_id, row in panel.rows.items():
            line = lines[deployment_id]
            percent = 100 * row.verified // row.total if row.total else 0
            # The % is verified of all targets; the failures are counted right beside it.
            assert re.search(rf"\s{percent}%\s+{row.failed}\s+{row.verified}\s", line), line
            assert (VERIFIED in line) == (row.verified > 0), line
            assert (FAILED in line) == (row.failed > 0), line
        legend = Text.from_markup(panel.border_subtitle or "").plain
        assert f"{VERIFIED} verified {FAILED} failed" in legend
        assert "% verified of targets" in legend
        body = _plain(panel.query_one("#open-windows-body", Static).content)
        words = next(line for line in body.splitlines() if "Progress" in line).split()
        assert words[words.index("Progress") + 1] == "fail"
