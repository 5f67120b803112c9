"""Every binding has an id and can be remapped from the config file; ``--readonly`` refuses
every state-changing action and says so in the header; the bundled themes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patchdesk.screens.bindings import all_binding_ids, patchdesk_bindings
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.themes import bundled_themes
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.settings import Settings
from patchdesk.store.db import Database
from patchdesk.store.models import PatchException
from tests.screens.conftest import AppFactory


def test_every_binding_has_an_id() -> None:
    bindings = patchdesk_bindings()
    assert len(bindings) > 40  # the walk found the screens
    assert [f"{owner}: {b.key}" for owner, b in bindings if not b.id] == []
    assert {"app.quit", "queue.acknowledge", "queue.last", "remediation.save"} <= (
        all_binding_ids()
    )


def test_config_keys_are_checked() -> None:
    assert Settings(keys={"queue.acknowledge": " a , ctrl+a "}).keys == {
        "queue.acknowledge": "a,ctrl+a"
    }
    with pytest.raises(ValidationError, match=r"keys\.queue\.acknowledge: give one or more keys"):
        Settings(keys={"queue.acknowledge": " , "})


async def test_a_binding_remapped_in_the_config_answers_to_its_new_key(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    app.user_keymap = {"app.queue": "f2", "no.such.binding": "f9"}
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("2")  # no longer the queue's key
        await pilot.pause()
        assert app.current_mode == "board"
        await pilot.press("f2")
        await pilot.pause()
        assert app.current_mode == "queue"
        warnings = [n.message for n in app._notifications]
        assert any("no binding has the id no.such.binding" in m for m in warnings)


async def test_readonly_refuses_changes_and_says_so(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db, readonly=True)
    with demo_db.session() as session:
        before = {e.id: (e.state, e.owner) for e in session.query(PatchException)}
    assert before  # the demo has exceptions to act on
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        header = app.screen.query_one(ClockHeader)
        assert isinstance(app.screen, BoardScreen)
        assert "READ-ONLY" in str(header.clock_text())
        await pilot.press("2")
        await pilot.pause(0.5)
        assert isinstance(app.screen, QueueScreen)
        for key in ("a", "r", "x", "e", "n", "t", "b"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen), key  # nothing opened
        messages = [n.message for n in app._notifications]
        assert any("read-only" in m for m in messages)
    with demo_db.session() as session:
        after = {e.id: (e.state, e.owner) for e in session.query(PatchException)}
    assert after == before


def test_the_three_bundled_themes() -> None:
    themes = {theme.name: theme for theme in bundled_themes()}
    assert set(themes) == {"noc-dark", "noc-light", "noc-contrast"}
    assert themes["noc-contrast"].background == "#000000"
    assert themes["noc-light"].dark is False
