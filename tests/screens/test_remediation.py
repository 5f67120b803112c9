"""The remediation form, by keys only: number keys pick the action (in the list, before a
note is typed), tab moves between the outcome, the patch, the note and the resolve box (the
same stops whatever the action), ctrl+s shows the line to be logged and enter writes it,
esc cancels (asking when something was picked or typed). Engine actions queue their
command; the engine runs it and the queue shows the result. Keys are also posted in one
burst, as a paste or fast typing over SSH delivers them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select
from textual import events
from textual.pilot import Pilot
from textual.widgets import RadioSet, Static, TextArea

from patchdesk.connectors.sim.config import SimulatorConfig, SimulatorRates
from patchdesk.domain import ExceptionState, FailureClass, RequestKind, RequestState
from patchdesk.engine.clock import VirtualClock
from patchdesk.engine.reconcile import Reconciler
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.log_confirm import LogConfirm
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.simulation.builder import build_msp, load_msp
from patchdesk.store.db import Database
from patchdesk.store.exception_views import exception_detail
from patchdesk.store.models import OperatorRequest, PatchException
from tests.conftest import NOW
from tests.exception_seed import counts, get_exception
from tests.screens.queue_fixtures import (
    QueueApp,
    burst,
    queue_screen,
    seed_queue,
    services,
    settle,
    until,
)


def form(app: QueueApp) -> RemediationScreen:
    screen = app.screen
    assert isinstance(screen, RemediationScreen), screen
    return screen


def form_error(app: QueueApp) -> str:
    return str(form(app).query_one("#remediation-error", Static).render())


def confirmation(app: QueueApp) -> LogConfirm:
    screen = app.screen
    assert isinstance(screen, LogConfirm), screen
    return screen


def confirm_line(app: QueueApp) -> str:
    return str(confirmation(app).query_one("#log-confirm-line", Static).render())


async def confirming(pilot: Pilot[None]) -> LogConfirm:
    """The confirmation ctrl+s shows, once it is up."""
    await until(pilot, lambda: isinstance(pilot.app.screen, LogConfirm), "the confirmation")
    return confirmation(pilot.app)  # type: ignore[arg-type]


async def write(pilot: Pilot[None], *, closes: bool = True) -> None:
    """Answer the confirmation ctrl+s showed: enter writes (``closes``: and the save is
    expected to close the form; it runs in a worker, and settle() returns at once while a
    form is in front)."""
    await confirming(pilot)
    await pilot.press("enter")
    if closes:
        await until(
            pilot, lambda: not isinstance(pilot.app.screen, RemediationScreen), "the form to close"
        )
    await settle(pilot)


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
        await write(pilot)
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
        await write(pilot)
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
        await write(pilot)
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
        await write(pilot)
        current = str(queue_screen(app).query_one("#queue-current", Static).render())
        assert "engine: retry_install queued" in current
    with database.session() as session:
        command = session.scalars(select(OperatorRequest)).one()
        detail = exception_detail(session, queue.install)
    assert (command.kind, command.state, command.requested_by, command.requested_at) == (
        RequestKind.RETRY_INSTALL,
        RequestState.QUEUED,
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
        assert form(app).query_one("#patches").display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "a note is required" in form_error(app)
        before = counts(database)
        # tab, tab: the outcome (the engine's: queued), the patch choice; right + enter: the
        # second patch; tab: the note
        await pilot.press("tab", "tab", "right", "enter", "tab", *"breaks the kiosk printer")
        await pilot.press("ctrl+s")
        await write(pilot)
        assert not isinstance(app.screen, RemediationScreen)
        assert counts(database).commands == before.commands + 1
    with database.session() as session:
        command = session.scalars(select(OperatorRequest)).one()
    assert (command.kind, command.patch_id, command.args) == (
        RequestKind.BLOCK_PATCH,
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
        await write(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("1", "ctrl+s")  # ... and another while the first is queued
        await write(pilot, closes=False)
        await until(pilot, lambda: "already queued" in form_error(app), "the refusal")
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
            command = session.scalars(select(OperatorRequest)).one()
        assert (command.kind, command.state) == (RequestKind.RETRY_INSTALL, RequestState.QUEUED)
        clock.now += timedelta(minutes=1)
        engine.step(clock.now)  # the engine carries out the operator's command
        queue_screen(app)._poll()
        await settle(pilot)
        current = table.current
        assert current is not None
        assert current.row.id == exception_id
        assert current.command is not None
        assert current.command.state is RequestState.DONE
        shown = str(queue_screen(app).query_one("#queue-current", Static).render())
        assert "engine: retry_install done: install retried now (attempt " in shown
        assert "retry_install: done" in table.render_line(1).text


# --- keys in bursts: nothing misrouted, nothing dropped ------------------------------------


SLOTS = {
    "actions": "action",
    "outcome": "outcome",
    "engine-outcome": "outcome",
    "patches": "patch",
    "patch-fixed": "patch",
    "note": "note",
    "resolve": "resolve",
    "resolve-fixed": "resolve",
}


def focused_slot(app: QueueApp) -> str:
    focused = app.focused
    assert focused is not None
    assert focused.id is not None, focused
    return SLOTS[focused.id]


async def test_engine_action_tab_tab_and_a_typed_note_in_one_burst(database: Database) -> None:
    """The shift walk's offline exception: 1 (Wake-on-LAN), tab, tab, the note, ctrl+s in one
    burst. The note lands in the note, the action stays Wake-on-LAN (its digits are the
    note's), and the line shown before the write says so; enter writes exactly that."""
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        # LAPTOP-ANNA: offline, and bob's: y takes it over before the form opens
        await pilot.press("down", "down", "down", "r", "y")
        await settle(pilot)
        assert form(app).detail.exception.id == queue.offline
        burst(app, "1", "tab", "tab", *"called site ext 214", "ctrl+s")
        await confirming(pilot)
        assert confirm_line(app) == ("Wake-on-LAN · outcome queued · note “called site ext 214”")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: not isinstance(app.screen, (RemediationScreen, LogConfirm)),
            "the remediation written",
        )
        await settle(pilot)
    with database.session() as session:
        detail = exception_detail(session, queue.offline)
    assert detail is not None
    last = detail.history[-1]
    assert (last.action, last.outcome, last.note) == (
        "remediate:wake_on_lan",
        "queued",
        "called site ext 214",
    )


async def test_tab_stops_are_the_same_whatever_action_is_chosen(database: Database) -> None:
    """Each action of an install exception (one patch) and of a regression with two patches:
    tab walks the same fields in the same order; a field the action fixes (an engine action's
    outcome, a patch for an action on no patch, resolve) is still a stop, saying so."""
    queue = seed_queue(database)
    app = QueueApp(services(database))
    walks: dict[tuple[int, int], list[str]] = {}
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        for row, exception_id, actions in ((0, queue.install, 5), (2, queue.regression, 4)):
            for number in range(1, actions + 1):
                await pilot.press("home", *["down"] * row, "r")
                await settle(pilot)
                assert form(app).detail.exception.id == exception_id
                await pilot.press(str(number))
                chosen = form(app).chosen
                assert chosen is not None
                assert chosen.id == form(app).actions[number - 1].id
                walk = [focused_slot(app)]
                for _ in range(5):
                    await pilot.press("tab")
                    walk.append(focused_slot(app))
                walks[(row, number)] = walk
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "discard?")
                await pilot.press("y")
                await settle(pilot)
    one_patch = ["action", "outcome", "note", "resolve", "action", "outcome"]
    two_patches = ["action", "outcome", "patch", "note", "resolve", "action"]
    assert {key: walk for key, walk in walks.items() if key[0] == 0} == {
        (0, n): one_patch for n in range(1, 6)
    }
    assert {key: walk for key, walk in walks.items() if key[0] == 2} == {
        (2, n): two_patches for n in range(1, 5)
    }


async def test_numbers_pick_only_in_the_list_and_never_once_the_note_is_typed(
    database: Database,
) -> None:
    """A number typed at another field, or at the list once the note was typed into, is
    text for the note: the action picked stays picked."""
    app = QueueApp(services(database))
    seed_queue(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        burst(app, "3", "tab", *"2 GB freed")  # free disk space; at the outcome: typing
        await until(pilot, lambda: form(app).query_one("#note", TextArea).text == "2 GB freed", "")
        assert app.focused is form(app).query_one("#note")
        burst(app, "shift+tab", "shift+tab", "4")  # back to the list: 4 is the note's now
        await until(pilot, lambda: form(app).query_one("#note", TextArea).text.endswith("4"), "")
        chosen = form(app).chosen
        assert chosen is not None
        assert chosen.id == "free_disk"
        assert form(app).query_one("#note", TextArea).text == "2 GB freed4"


async def test_letters_typed_at_the_list_go_into_the_note(database: Database) -> None:
    seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert focused_slot(app) == "action"  # the form opens on the action list
        burst(app, *"cache cleared by hand")
        await until(pilot, lambda: form(app).query_one("#note", TextArea).text != "", "typed")
        await until(
            pilot,
            lambda: form(app).query_one("#note", TextArea).text == "cache cleared by hand",
            "the whole note",
        )
        assert form(app).chosen is None
        assert focused_slot(app) == "note"


async def test_the_line_before_the_write_and_esc_back_to_the_form(database: Database) -> None:
    """ctrl+s shows the action, the outcome and the note on one line; other keys are not an
    answer; esc goes back to the form with everything as it was; enter writes it."""
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("3", "tab", "down", "enter", "tab")  # free disk; partly done
        burst(app, *"C: 1 GB left", "enter", *"WinSxS next", "ctrl+s")
        confirm = await confirming(pilot)
        assert confirm_line(app) == (
            "Free disk space · outcome partly done · note “C: 1 GB left ⏎ WinSxS next”"
        )
        before = counts(database)
        await pilot.press("y")  # not an answer here: it says which keys are
        assert app.screen is confirm
        keys = str(confirm.query_one("#log-confirm-keys", Static).render())
        assert keys == "not written yet: enter  write it     esc  back to the form"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RemediationScreen), "the form")
        assert counts(database) == before
        chosen = form(app).chosen
        assert chosen is not None
        assert chosen.id == "free_disk"
        assert form(app).query_one("#outcome", RadioSet).pressed_index == 1
        assert form(app).query_one("#note", TextArea).text == "C: 1 GB left\nWinSxS next"
        assert focused_slot(app) == "note"
        await pilot.press("ctrl+s")
        await write(pilot)
        assert not isinstance(app.screen, RemediationScreen)
    with database.session() as session:
        detail = exception_detail(session, queue.install)
    assert detail is not None
    last = detail.history[-1]
    assert (last.action, last.outcome, last.note) == (
        "remediate:free_disk",
        "partly done",
        "C: 1 GB left\nWinSxS next",
    )
