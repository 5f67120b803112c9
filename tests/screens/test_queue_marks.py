"""Marked rows in the queue: ``space`` marks (a glyph column, not colour alone), ``a``, ``t``,
``x``, ``e`` act on every marked row after one confirmation naming how many, each row with
its own log record; the marks survive the live refresh and go with ``esc`` or after acting."""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import Static

from patchdesk.domain import ExceptionState, RequestKind
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.models import OperatorRequest, RemediationRecord
from tests.conftest import NOW
from tests.exception_seed import get_exception
from tests.screens.queue_fixtures import QueueApp, queue_screen, rows, seed_queue, services
from tests.screens.typing import burst, drained, told, typed


def table(app: QueueApp) -> QueueTable:
    return queue_screen(app).query_one(QueueTable)


def drawn(app: QueueApp) -> list[str]:
    """The table's lines as drawn: the header, then the rows."""
    return [table(app).render_line(y).text for y in range(len(rows(app)) + 1)]


def bar(app: QueueApp) -> str:
    return str(queue_screen(app).query_one("#queue-filters", Static).render())


def question(app: QueueApp) -> str:
    assert isinstance(app.screen, ConfirmModal), app.screen
    return str(app.screen.query(Static).first().render())


def records(database: Database) -> list[tuple[int | None, str, str, str]]:
    with database.session() as session:
        found = session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
        return [(r.exception_id, r.action, r.operator, r.note) for r in found]


async def test_space_marks_rows_with_a_glyph_and_esc_clears(database: Database) -> None:
    seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        unmarked = drawn(app)
        burst(app, ["space", "space", "space", "up", "space"])
        await drained(pilot)
        # space marks and moves down: DC01 and APP02 marked; FRONTDESK marked then unmarked
        assert table(app).marked == {1, 2}
        lines = drawn(app)
        assert [line[:2] for line in lines] == ["  ", "✓ ", "✓ ", "  ", "  "]
        assert lines[0][2:].rstrip() == unmarked[0].rstrip()[: len(lines[0][2:].rstrip())]
        assert "2 marked" in bar(app)
        assert "a t x e A act on them" in bar(app)
        await pilot.press("escape")
        await drained(pilot)
        assert table(app).marked == frozenset()
        assert drawn(app) == unmarked
        assert "4 exceptions" in bar(app)


async def test_marks_survive_the_live_refresh(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        burst(app, ["space", "space"])
        await drained(pilot)
        ops.acknowledge(database, queue.reboot, "bob", now=NOW)  # someone else, elsewhere
        queue_screen(app).poll_now()
        await drained(pilot)
        lines = drawn(app)
        assert lines[2].startswith("✓ ")
        assert "bob" in lines[2]
        assert table(app).marked == {queue.install, queue.reboot}


async def test_a_acknowledges_every_marked_row_after_one_question(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        burst(app, ["space", "space", "end", "space", "a"])
        await drained(pilot)
        assert question(app) == (
            "Acknowledge 3 marked exceptions? 1 owned by bob is taken over (logged)."
        )
        await pilot.press("y")
        await drained(pilot)
        for exception_id in (queue.install, queue.reboot, queue.offline):
            assert get_exception(database, exception_id).owner == "alice"
        assert get_exception(database, queue.regression).owner is None
        assert records(database) == [
            (queue.install, "acknowledge", "alice", ""),
            (queue.reboot, "acknowledge", "alice", ""),
            (queue.offline, "take_over", "alice", "from bob"),
        ]
        assert any("acknowledged: 3 of 3 marked exceptions" in t for t in notes)
        assert table(app).marked == frozenset()


async def test_t_retries_the_marked_install_exceptions(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        burst(app, ["space", "space", "t"])  # DC01 (install) and APP02 (reboot)
        await drained(pilot)
        assert question(app) == (
            "Retry the install now on 1 marked exception (1 not an install exception: left out)?"
        )
        await pilot.press("n")
        await drained(pilot)
        assert table(app).marked == {queue.install, queue.reboot}  # no: the marks stay
        burst(app, ["t", "y"])
        await drained(pilot)
        with database.session() as session:
            commands = session.scalars(select(OperatorRequest)).all()
            assert [(c.kind, c.exception_id) for c in commands] == [
                (RequestKind.RETRY_INSTALL, queue.install)
            ]


async def test_x_resolves_the_marked_rows_with_one_note_each_its_own_record(
    database: Database,
) -> None:
    queue = seed_queue(database)
    ops.resolve(database, queue.reboot, "carol", "fixed elsewhere", now=NOW)
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        screen = queue_screen(app)
        if screen._timer is not None:
            screen._timer.stop()
        # APP02 is gone from the queue; mark DC01 and FRONTDESK, and LAPTOP-ANNA (bob's)
        burst(app, ["space", "space", "space", "x"])
        await drained(pilot)
        assert isinstance(app.screen, NoteModal)
        title = str(app.screen.query(Static).first().render())
        assert title.startswith("Resolve 3 marked exceptions")
        assert "1 owned by bob is taken over (logged)." in title
        await pilot.press("escape")
        await drained(pilot)
        assert table(app).marked == {queue.install, queue.regression, queue.offline}
        burst(app, ["x", *typed("site power restored"), "ctrl+s"])
        await drained(pilot)
        for exception_id in (queue.install, queue.regression, queue.offline):
            row = get_exception(database, exception_id)
            assert (row.state, row.owner) == (ExceptionState.RESOLVED, "alice")
        assert records(database)[1:] == [
            (queue.install, "resolve", "alice", "site power restored"),
            (queue.regression, "resolve", "alice", "site power restored"),
            (queue.offline, "take_over", "alice", "from bob"),
            (queue.offline, "resolve", "alice", "site power restored"),
        ]
        assert any("resolved: 3 of 3 marked exceptions" in t for t in notes), notes


async def test_a_refused_row_is_told_and_the_others_are_done(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    notes = told(app)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await drained(pilot)
        screen = queue_screen(app)
        burst(app, ["space", "space"])
        await drained(pilot)
        if screen._timer is not None:
            screen._timer.stop()
        ops.resolve(database, queue.install, "carol", "done meanwhile", now=NOW)
        burst(app, ["e", *typed("vendor"), "tab", *typed("no answer on site"), "ctrl+s"])
        await drained(pilot)
        assert get_exception(database, queue.reboot).state is ExceptionState.ESCALATED
        assert get_exception(database, queue.install).state is ExceptionState.RESOLVED
        assert any(
            "escalated: 1 of 2 marked exceptions; 1 not: #1: exception 1 is resolved" in t
            for t in notes
        )
