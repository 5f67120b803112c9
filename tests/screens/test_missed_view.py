"""``:missed`` and ``N``: the devices not patched this cycle, in triage order, with the reason
and the next window that will carry each."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable

from patchdesk.app import PatchdeskApp
from patchdesk.domain import Role, TargetState
from patchdesk.screens.command_grammar import parse
from patchdesk.screens.missed import MissedScreen
from tests.engine.test_lifecycle import World, add_devices, world
from tests.screens.conftest import build_app

__all__ = ["world"]


async def _read(pilot: Pilot[None], app: PatchdeskApp) -> MissedScreen:
    for _ in range(200):
        screen = app.screen
        if isinstance(screen, MissedScreen) and screen.reads:
            return screen
        await pilot.pause(0.02)
    raise AssertionError("the not-patched view did not read")


async def test_colon_missed_lists_what_was_not_patched_with_the_next_window(
    world: World,
) -> None:
    assert parse(":missed").name == "missed"
    add_devices(world, *((f"SRV{n}", Role.SERVER) for n in range(3)), install_minutes=150)
    world.run(5 * 60)
    missed = [h for h in ("SRV0", "SRV1", "SRV2") if world.target(h).state is TargetState.MISSED]
    app = build_app(world.db, clock=world.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"missed", "enter")
        screen = await _read(pilot, app)
        assert [row.hostname for row in screen.rows] == missed
        table = screen.query_one("#missed-table", DataTable)
        first = table.render_line(1).text
        assert missed[0] in first
        assert "not reached" in first
        assert "nightly" in first
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MissedScreen)
        await pilot.press("2")  # the queue
        await pilot.pause()
        await pilot.press("N")
        screen = await _read(pilot, app)
        assert [row.hostname for row in screen.rows] == missed
