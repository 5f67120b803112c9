"""Whose exception it is, in the queue: acting on someone else's asks "take over from NAME?"
(its own log record when yes), acting on an unowned one takes it; ``A`` assigns, with
completion from the names in the log; ``o`` reopens with a note."""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import Input, Static

from patchdesk.domain import ExceptionState
from patchdesk.screens.exception_forms import AssignModal
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.models import RemediationRecord
from tests.conftest import NOW
from tests.exception_seed import get_exception
from tests.screens.queue_fixtures import QueueApp, queue_screen, seed_queue, services
from tests.screens.test_device_detail import device_screen, settle_device
from tests.screens.typing import burst, drained, quiet, told, typed


def question(app: QueueApp) -> str:
    assert isinstance(app.screen, ConfirmModal), app.screen
    return str(app.screen.query(Static).first().render())


def history(database: Database, exception_id: int) -> list[tuple[str, str, str]]:
    with database.session() as session:
        records = session.scalars(
            select(RemediationRecord)
            .where(RemediationRecord.exception_id == exception_id)
            .order_by(RemediationRecord.seq)
        ).all()
        return [(r.action, r.operator, r.note) for r in records]


async def test_resolving_someone_elses_asks_to_take_over(database: Database) -> None:
    queue = seed_queue(database)  # LAPTOP-ANNA's offline exception is bob's, the last row
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        await pilot.press("end", "x")
        await pilot.pause()
        assert "Exception 4 (LAPTOP-ANNA) is owned by bob. Take over from bob?" in question(app)
        await pilot.press("n")
        await drained(pilot)
        assert history(database, queue.offline) == []
        burst(app, typed("xyuser back from leave, laptop checked in"))  # x, y, the note
        burst(app, ["ctrl+s"])
        await drained(pilot)
        row = get_exception(database, queue.offline)
        assert (row.state, row.owner) == (ExceptionState.RESOLVED, "alice")
        assert history(database, queue.offline) == [
            ("take_over", "alice", "from bob"),
            ("resolve", "alice", "user back from leave, laptop checked in"),
        ]
        assert any("resolved (taken over from bob)" in t for t in notes)


async def test_acknowledge_takes_over_and_an_unowned_one_is_taken_silently(
    database: Database,
) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        await pilot.press("t")  # DC01: nobody owns it, no question
        await drained(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert get_exception(database, queue.install).owner == "alice"
        assert [h[0] for h in history(database, queue.install)] == ["remediate:retry_install"]
        await pilot.press("end", "a")
        await pilot.pause()
        assert "Take over from bob?" in question(app)
        await pilot.press("y")
        await drained(pilot)
        assert get_exception(database, queue.offline).owner == "alice"
        assert history(database, queue.offline) == [("take_over", "alice", "from bob")]
        assert any("taken over from bob: yours now" in t for t in notes)


async def test_remediate_carries_the_take_over_into_the_form(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        await pilot.press("end", "r")
        await drained(pilot)
        assert "Take over from bob?" in question(app)
        await pilot.press("n")
        await drained(pilot)
        burst(app, ["r", "y"])
        await drained(pilot)  # the form opens once its worker has read the exception
        assert isinstance(app.screen, RemediationScreen)
        assert app.screen.take_over_from == "bob"
        burst(app, ["1", "ctrl+s", "enter"])  # Wake-on-LAN, save, write the line shown
        await drained(pilot)
        assert [(a, o) for a, o, _ in history(database, queue.offline)] == [
            ("take_over", "alice"),
            ("remediate:wake_on_lan", "alice"),
        ]


async def test_taken_meanwhile_is_told_and_asked_the_next_time(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        screen = queue_screen(app)
        if screen._timer is not None:
            screen._timer.stop()  # the screen has not seen carol take DC01 yet
        ops.acknowledge(database, queue.install, "carol", now=NOW)
        await pilot.press("t")
        await drained(pilot)
        assert any(
            "exception 1 is owned by carol now: press the key again to take it over" in t
            for t in notes
        )
        assert history(database, queue.install) == [("acknowledge", "carol", "")]
        await pilot.press("t")
        await pilot.pause()
        assert "Take over from carol?" in question(app)


async def test_assign_completes_names_from_the_log(database: Database) -> None:
    queue = seed_queue(database)
    ops.acknowledge(database, queue.regression, "carol", now=NOW)  # carol is in the log
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        await pilot.press("A")
        await drained(pilot)
        assert isinstance(app.screen, AssignModal)
        assert "seen in the log: carol" in str(app.screen.query_one("#form-seen").render())
        burst(app, typed("root"))
        burst(app, ["ctrl+s"])
        await pilot.pause()
        error = str(app.screen.query_one("#form-error").render())
        assert "'root' is a shared login, not a person" in error
        app.screen.query_one("#form-who", Input).value = ""
        burst(app, typed("ca"))
        await pilot.pause()
        await pilot.press("right")  # takes the completion shown
        assert app.screen.query_one("#form-who", Input).value == "carol"
        await pilot.press("ctrl+s")
        await drained(pilot)
        row = get_exception(database, queue.install)
        assert (row.owner, row.state) == ("carol", ExceptionState.ACKNOWLEDGED)
        assert history(database, queue.install) == [
            ("assign", "alice", "to carol (was unassigned)")
        ]


async def test_reopen_needs_a_resolved_exception_and_a_note(database: Database) -> None:
    queue = seed_queue(database)
    ops.resolve(database, queue.install, "bob", "rebooted", now=NOW)
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        await pilot.press("o")  # APP02: open
        await pilot.pause()
        assert any("o reopens a resolved exception" in t for t in notes)
        await pilot.press(*"SSSSS")  # state filter: resolved
        await drained(pilot)
        current = queue_screen(app).query_one(QueueTable).current
        assert current is not None
        assert current.row.id == queue.install
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, NoteModal)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "A note is required" in str(app.screen.query_one("#note-error").render())
        burst(app, typed("failed again at 15:10"))
        burst(app, ["ctrl+s"])
        await drained(pilot)
        row = get_exception(database, queue.install)
        assert (row.state, row.owner) == (ExceptionState.OPEN, None)
        assert history(database, queue.install)[-1] == ("reopen", "alice", "failed again at 15:10")


async def test_the_device_screen_asks_too(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        burst(app, ["end", "enter"])  # LAPTOP-ANNA's device screen
        await settle_device(pilot)
        assert device_screen(app).selected == queue.offline
        burst(app, ["r"])
        await drained(pilot)
        assert "Take over from bob?" in question(app)
        burst(app, ["y"])
        await drained(pilot)
        assert isinstance(app.screen, RemediationScreen)
        assert app.screen.take_over_from == "bob"
        burst(app, ["1", "ctrl+s", "enter"])
        await quiet(pilot)  # the form's save done (settle_device returns while it is in front)
        await settle_device(pilot)
        assert [(a, o) for a, o, _ in history(database, queue.offline)] == [
            ("take_over", "alice"),
            ("remediate:wake_on_lan", "alice"),
        ]
