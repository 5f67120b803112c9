"""The placeholder app (until the NOC terminal lands): it opens, reads counts in a worker, quits."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from patchdesk.app import PatchdeskApp
from patchdesk.store.db import open_database
from patchdesk.store.models import Client
from tests.conftest import NOW


async def test_shows_counts_and_quits_on_q(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.session() as session:
        session.add(
            Client(
                id="acme",
                name="[bold red]Acme[/]",
                timezone="UTC",
                sla_tier="gold",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    app = PatchdeskApp(database=db, operator="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        counts = app.query_one("#counts", Static)
        assert "1 clients, 0 devices, 0 open exceptions" in str(counts.render())
        placeholder = str(app.query_one("#placeholder", Static).render())
        assert "Operator: alice" in placeholder
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    db.dispose()


async def test_empty_database_explains_policy_apply(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    app = PatchdeskApp(database=db, operator="bob", demo=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "policy apply" in str(app.query_one("#counts", Static).render())
    db.dispose()
