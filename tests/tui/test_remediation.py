"""The remediation form, by keys only: number keys pick the action, tab moves between the
outcome, the note and the resolve box, ctrl+s saves, esc cancels (asking when something was
picked or typed). Engine actions queue their command; the engine runs it and the queue shows
the result."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select
from textual import events
from textual.widgets import Static

from patchdesk.domain import CommandKind, CommandState, ExceptionState, FailureClass
from patchdesk.engine.connectors.sim.config import SimulatorConfig, SimulatorRates
from patchdesk.engine.reconcile import Reconciler
from patchdesk.engine.simulation.builder import build_msp, load_msp
from patchdesk.engine.simulation.run import VirtualClock
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store.db import Database
from patchdesk.store.exception_views import exception_detail
from patchdesk.store.models import OperatorCommand, PatchException
from tests.conftest import NOW
from tests.exception_seed import counts, get_exception
from tests.tui.queue_fixtures import QueueApp, queue_screen, seed_queue, services, settle


def form(app: QueueApp) -> RemediationScreen:
    screen = app.screen
    assert isinstance(screen, RemediationScreen), screen
    return screen


def form_error(app: QueueApp) -> str:
    return str(form(app).query_one("#remediation-error", Static).render())


async def test_remediate_by_keys_only(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("a")  # take it first: the remediation moves it to in progress
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        offered = str(form(app).query_one("#actions").render_line(0).text)
        assert "1  Retry install" in offered
        await pilot.press("3")  # free disk space
        assert form(app).chosen is not None
        assert form(app).chosen.id == "free_disk"
        await pilot.press("tab", "down", "down", "enter")  # outcome: failed
        await pilot.press("tab", *"only 200 MB freed", "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, RemediationScreen)
        row = get_exception(database, queue.install)
        assert (row.state, row.last_action) == (ExceptionState.IN_PROGRESS, "free_disk: failed")
        assert "free_disk: failed" in queue_screen(app).query_one(QueueTable).render_line(1).text
    with database.session() as session:
        detail = exception_detail(session, queue.install)
    assert detail is not None
    last = detail.history[-1]
    assert (last.at, last.operator, last.action, last.outcome, last.note) == (
        NOW,
        "alice",
        "remediate:free_disk",
        "failed",
        "only 200 MB freed",
    )
    assert detail.commands == ()  # a manual action queues nothing


async def test_manual_action_and_resolve_in_one_go(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("4", "tab", "tab", *"installed from the MSU", "tab", "space")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert get_exception(database, queue.install).state is ExceptionState.RESOLVED


async def test_ctrl_s_right_after_a_pasted_note_keeps_all_of_it(database: Database) -> None:
    """ctrl+s (a priority binding) arriving in the same burst as the note's keys saves the
    whole note, not the part typed in before ctrl+s was dispatched."""
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("4", "tab", "tab")  # install manually; into the note
        note = "installed from the MSU after clearing the cache. Rebooted at 14:10"
        for char in note:
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("ctrl+s", None))
        await settle(pilot)
        assert not isinstance(app.screen, RemediationScreen)
    with database.session() as session:
        detail = exception_detail(session, queue.install)
    assert detail is not None
    assert detail.history[-1].note == note


async def test_engine_action_queues_its_command(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("1", "ctrl+s")
        await settle(pilot)
        current = str(queue_screen(app).query_one("#queue-current", Static).render())
        assert "engine: retry_install queued" in current
    with database.session() as session:
        command = session.scalars(select(OperatorCommand)).one()
        detail = exception_detail(session, queue.install)
    assert (command.kind, command.state, command.requested_by, command.requested_at) == (
        CommandKind.RETRY_INSTALL,
        CommandState.QUEUED,
        "alice",
        NOW,
    )
    assert detail is not None
    assert detail.history[-1].outcome == "queued"


async def test_block_needs_a_reason_and_a_chosen_patch(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # FRONTDESK: a regression with two patches
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("2")  # block for this client
        assert form(app).query_one("#patch-row").display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "a note is required" in form_error(app)
        before = counts(database)
        # tab: the patch choice (the outcome is the engine's), right + enter: the second patch
        await pilot.press("tab", "right", "enter", "tab", *"breaks the kiosk printer")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, RemediationScreen)
        assert counts(database).commands == before.commands + 1
    with database.session() as session:
        command = session.scalars(select(OperatorCommand)).one()
    assert (command.kind, command.patch_id, command.args) == (
        CommandKind.BLOCK_PATCH,
        queue.seeded.patches["7zip-24.08"],
        {"reason": "breaks the kiosk printer", "scope": "client"},
    )
    assert command.exception_id == queue.regression


async def test_escape_asks_before_losing_what_was_typed(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("escape")  # nothing picked or typed: closes at once
        await pilot.pause()
        assert not isinstance(app.screen, RemediationScreen)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("2", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await pilot.pause()
        assert form(app).chosen is not None  # still there, still picked
        await pilot.press("escape", "y")
        await pilot.pause()
        assert not isinstance(app.screen, (RemediationScreen, ConfirmModal))
    assert get_exception(database, queue.install).last_action == "opened by engine"


async def test_a_refusal_keeps_the_form_open(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("1", "ctrl+s")  # a retry ...
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("1", "ctrl+s")  # ... and another while the first is queued
        await settle(pilot)
        assert "already queued" in form_error(app)
    assert queue.install


async def test_retry_reaches_the_engine_and_the_queue_shows_its_result(
    database: Database,
) -> None:
    """A simulated MSP whose installs all fail: the engine opens an install exception; `t`
    queues a retry; the engine's next step runs it; the queue shows the result."""
    msp = build_msp(1, clients=2, devices=12, start=NOW, demo=True)
    with database.writer() as session:
        load_msp(session, msp, now=NOW)
    clock = VirtualClock(NOW)
    rates = dataclasses.replace(
        SimulatorRates.none(), install_failure=1.0, repeat_install_failure=1.0
    )
    engine = Reconciler(database, msp.simulator(clock, SimulatorConfig(rates=rates)), holder="t")
    for _ in range(60):
        engine.step(clock.now)
        with database.session() as session:
            opened = session.scalars(select(PatchException.id)).first()
        if opened is not None:
            break
        clock.now += timedelta(minutes=2)
    assert opened is not None, "the simulator never failed an install"
    app = QueueApp(services(database, clock=clock))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        table = queue_screen(app).query_one(QueueTable)
        current = table.current
        assert current is not None
        assert current.row.failure_class is FailureClass.INSTALL
        exception_id = current.row.id
        await pilot.press("t")
        await settle(pilot)
        with database.session() as session:
            command = session.scalars(select(OperatorCommand)).one()
        assert (command.kind, command.state) == (CommandKind.RETRY_INSTALL, CommandState.QUEUED)
        clock.now += timedelta(minutes=1)
        engine.step(clock.now)  # the engine carries out the operator's command
        queue_screen(app)._poll()
        await settle(pilot)
        current = table.current
        assert current is not None
        assert current.row.id == exception_id
        assert current.command is not None
        assert current.command.state is CommandState.DONE
        shown = str(queue_screen(app).query_one("#queue-current", Static).render())
        assert "engine: retry_install done: install retried now (attempt " in shown
        assert "retry_install: done" in table.render_line(1).text
