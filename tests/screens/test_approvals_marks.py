"""Marked lines in the approvals list: ``space`` marks (a glyph column), ``a``, ``b``, ``d``
decide every marked patch in one form naming how many, each patch its own decision and log
record; the marks survive the live refresh and go with ``esc`` or once decided."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.screens.approval_bulk import BulkBlockForm, BulkDeferForm
from patchdesk.screens.approvals import ApprovalsScreen
from patchdesk.store.models import BlockedPatch
from tests.screens.approvals_world import CLIENT, SimWorld
from tests.screens.conftest import OPERATOR
from tests.screens.test_approvals import (
    KB,
    MSRT,
    decisions,
    form_error,
    log,
    make_app,
    open_approvals,
    select_patch,
    settle,
    written,
)
from tests.screens.typing import burst, quiet, told, typed


@pytest.fixture
def world(approvals_world: SimWorld) -> SimWorld:
    return approvals_world


def marked_rows(screen: ApprovalsScreen) -> list[str]:
    """The patch of each row whose mark cell shows the glyph."""
    table = screen.query_one("#approvals-table", DataTable)
    return [
        screen.shown[index].patch_id
        for index in range(table.row_count)
        if str(table.get_row_at(index)[0]) == "✓"
    ]


async def mark(pilot: Pilot[None], screen: ApprovalsScreen, *patch_ids: str) -> None:
    for patch_id in patch_ids:
        await select_patch(pilot, patch_id)
        burst(screen.app, ["space"])
        await quiet(pilot)
        await settle(pilot)


async def test_space_marks_lines_and_they_survive_the_refresh(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_approvals(pilot)
        await mark(pilot, screen, KB, MSRT)
        assert marked_rows(screen) == sorted(
            [KB, MSRT], key=[x.patch_id for x in screen.shown].index
        )
        assert str(screen.query_one("#approvals-filters", Static).render()).startswith(
            " ✓ 2 marked "
        )
        screen._read_now()  # the live refresh reads the list again
        await settle(pilot)
        assert set(marked_rows(screen)) == {KB, MSRT}
        burst(app, ["escape"])  # the marks go first, the screen stays
        await quiet(pilot)
        await settle(pilot)
        assert marked_rows(screen) == []
        assert not screen.marks
        assert isinstance(app.screen, ApprovalsScreen)
        table = screen.query_one("#approvals-table", DataTable)
        assert str(table.get_row_at(0)[0]) == CLIENT  # no mark column without marks


async def test_a_approves_every_marked_patch_each_its_own_record(world: SimWorld) -> None:
    app = make_app(world)
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        await mark(pilot, screen, KB, MSRT)
        burst(app, ["a", *typed("tested on the pilot ring"), "ctrl+s"])
        await quiet(pilot)
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        assert not screen.marks
        assert {KB, MSRT}.isdisjoint(line.patch_id for line in screen.shown)
    made = decisions(world.db)
    assert [(d.decision, d.operator) for d in made] == [
        (ApprovalDecisionKind.APPROVE, OPERATOR),
        (ApprovalDecisionKind.APPROVE, OPERATOR),
    ]
    assert len({d.patch_id for d in made}) == 2
    assert sorted(note for action, _, _, _, note in log(world.db)) == sorted(
        [
            f"approved {KB}: tested on the pilot ring",
            f"approved {MSRT}: tested on the pilot ring",
        ]
    )
    assert any("approved 2 patches: each decision is in the log" in n for n in notes)


async def test_b_and_d_decide_the_marked_patches_and_check_the_form_first(
    world: SimWorld,
) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        await mark(pilot, screen, KB, MSRT)
        before = written(world.db)
        burst(app, ["b", "ctrl+s"])
        await quiet(pilot)
        await settle(pilot)
        assert isinstance(app.screen, BulkBlockForm)
        header = str(app.screen.query_one(".form-header", Static).render())
        assert header.startswith("Block 2 marked patches")
        assert "Reason: required" in form_error(app)
        assert written(world.db) == before
        burst(app, ["escape"])
        await quiet(pilot)
        await settle(pilot)
        burst(app, ["d", *typed("2020-01-01"), "ctrl+s"])
        await quiet(pilot)
        await settle(pilot)
        assert isinstance(app.screen, BulkDeferForm)
        assert "is not in the future" in form_error(app)
        assert written(world.db) == before
        app.screen.query_one("#until", Input).value = ""
        burst(app, [*typed("2026-12-20"), "tab", *typed("vendor re-release"), "ctrl+s"])
        await quiet(pilot)
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
    made = decisions(world.db)
    midnight = datetime(2026, 12, 20, 5, 0, tzinfo=UTC)  # 00:00 in New York, the client's
    assert [(d.decision, d.reason, d.until) for d in made] == [
        (ApprovalDecisionKind.DEFER, "vendor re-release", midnight),
        (ApprovalDecisionKind.DEFER, "vendor re-release", midnight),
    ]
    assert len({d.patch_id for d in made}) == 2
    notes = [note for _, _, _, _, note in log(world.db)]
    assert len(notes) == 2
    assert all(KB in note or MSRT in note for note in notes)


async def test_b_can_block_the_marked_patches_for_every_client(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        await mark(pilot, screen, KB, MSRT)
        # the scope: every client (the global block list), then the reason, in one burst
        burst(app, ["b", "shift+tab", "down", "enter", "tab", *typed("bad build"), "ctrl+s"])
        await quiet(pilot)
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen), form_error(app)
    with world.db.session() as session:
        listed = session.scalars(select(BlockedPatch.patch_vendor_id)).all()
    assert sorted(listed) == sorted([KB, MSRT])
    assert sorted(action for action, *_ in log(world.db)) == ["blocklist.add", "blocklist.add"]
