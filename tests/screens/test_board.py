"""The board: open windows and their counts from the store, following new events, and
untrusted names shown literally. Its store queries also run on PostgreSQL."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from sqlalchemy import select, update
from textual.widgets import Static

from patchdesk.domain import DeploymentState, TargetState
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.widgets.window_list import OpenWindows
from patchdesk.simulation.demo import demo_engine, load_demo
from patchdesk.store.board_views import (
    read_engine,
    read_kpis,
    read_open_windows,
    read_upcoming,
)
from patchdesk.store.db import Database
from patchdesk.store.events import record_event
from patchdesk.store.models import Client, Deployment, Target
from tests.screens.conftest import DEMO_LAUNCH, DEMO_SEED, AppFactory


def _plain(widget: OpenWindows) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(widget.query_one("#open-windows-body", Static).content)
    return console.export_text()


async def _loaded(app: object, pilot: object, board: BoardScreen, at_least: int = 1) -> None:
    for _ in range(100):
        if board.updates >= at_least:
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError("the board did not update")


def _stored_counts(db: Database) -> dict[int, Counter[TargetState]]:
    with db.session() as session:
        open_ids = set(
            session.scalars(
                select(Deployment.id).where(
                    Deployment.state == DeploymentState.OPEN,
                    Deployment.occurrence_start <= DEMO_LAUNCH,
                )
            )
        )
        counts: dict[int, Counter[TargetState]] = {i: Counter() for i in open_ids}
        for deployment_id, state in session.execute(select(Target.deployment_id, Target.state)):
            if deployment_id in counts:
                counts[deployment_id][state] += 1
    return counts


async def test_board_shows_open_windows_and_counts_from_the_store(
    demo_db: Database, make_app: AppFactory
) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        await _loaded(app, pilot, board)
        await pilot.pause()
        panel = board.query_one(OpenWindows)
        stored = _stored_counts(demo_db)
        assert stored, "the demo has a window open at launch"
        assert set(panel.rows) == set(stored)
        for deployment_id, row in panel.rows.items():
            assert Counter(row.counts) == stored[deployment_id]
        text = _plain(panel)
        assert "Northwind Dental Partners" in text
        assert "Monthly catch-up" in text
        assert "%" in text  # the progress column


async def test_board_follows_new_events(demo_db: Database, make_app: AppFactory) -> None:
    app = make_app(demo_db)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        await _loaded(app, pilot, board)
        panel = board.query_one(OpenWindows)
        before_id = board.last_event_id
        with demo_db.writer() as session:
            target = session.scalars(
                select(Target)
                .join(Deployment)
                .where(Target.state != TargetState.VERIFIED, Deployment.id.in_(list(panel.rows)))
                .order_by(Target.id)
                .limit(1)
            ).one()
            deployment_id, state_before = target.deployment_id, target.state
            client_id = session.get(Deployment, deployment_id).client_id  # type: ignore[union-attr]
            session.execute(
                update(Target).where(Target.id == target.id).values(state=TargetState.VERIFIED)
            )
            record_event(
                session,
                at=DEMO_LAUNCH,
                kind="target.state",
                entity="target",
                entity_id=target.id,
                client_id=client_id,
                payload={"from": state_before.value, "to": "verified"},
            )
        verified_before = panel.rows[deployment_id].verified
        seen = board.updates
        await _loaded(app, pilot, board, seen + 2)
        assert board.last_event_id > before_id
        assert panel.rows[deployment_id].verified == verified_before + 1


async def test_untrusted_names_are_shown_literally(demo_db: Database, make_app: AppFactory) -> None:
    hostile = "[@click=app.quit]X[/] [bold red]HOST[/]\x1b[2J\x07"
    with demo_db.writer() as session:
        first_id = session.scalars(
            select(Deployment.client_id).where(Deployment.state == DeploymentState.OPEN).limit(1)
        ).one()
        session.execute(update(Client).where(Client.id == first_id).values(name=hostile))
    app = make_app(demo_db)
    async with app.run_test(size=(200, 40)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        await _loaded(app, pilot, board)
        await pilot.pause()
        text = _plain(board.query_one(OpenWindows))
        assert "[@click=app.quit]X[/] [bold red]HOST[/]" in text
        assert "\x1b" not in text
        assert "\x07" not in text
        await pilot.click("#open-windows")  # nothing to click: the app keeps running
        assert app.is_running


def test_board_queries_on_each_backend(database: Database) -> None:
    msp = load_demo(database, DEMO_SEED, DEMO_LAUNCH)
    engine = demo_engine(database, msp, launch=DEMO_LAUNCH, speed=60, holder="t")
    try:
        with database.session() as session:
            windows = read_open_windows(session, DEMO_LAUNCH)
            first = windows[0].client_id
            only_first = read_open_windows(session, DEMO_LAUNCH, {first})
            upcoming = read_upcoming(session, DEMO_LAUNCH)
            kpis = read_kpis(session, DEMO_LAUNCH)
            view = read_engine(session)
    finally:
        engine.stop()
    assert windows
    assert any(w.total > 0 for w in windows)  # overlapping windows leave a device to one
    assert {w.client_id for w in only_first} == {first}
    assert upcoming
    assert all(u.start > DEMO_LAUNCH for u in upcoming)
    assert len({u.client_id for u in upcoming}) == 5  # the other clients open within minutes
    assert kpis.open_total > 0
    assert kpis.verified > 0
    assert view.lease_holder == "t"
    assert view.last_step_at is not None
