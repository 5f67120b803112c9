"""The exception queue screen, driven by keys (Pilot), on SQLite and PostgreSQL.

Each flow checks the screen and the store: what the queue shows must agree with
``patchdesk exceptions`` (the same ``exception_views`` queries)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from textual import events
from textual.widgets import Static
from textual.widgets._toast import Toast

from patchdesk.domain import ExceptionState, FailureClass, RequestKind, RequestState
from patchdesk.screens import queue_actions as queue_module
from patchdesk.screens.exception_forms import EscalateModal
from patchdesk.screens.handover import HandoverPanel, NoteModal
from patchdesk.screens.queue_detail import ExceptionDetailScreen
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.events import record_event
from patchdesk.store.exception_views import exception_detail, queue_rows
from patchdesk.store.models import HandoverNote, OperatorRequest
from tests.conftest import NOW
from tests.exception_seed import add_exception, get_exception
from tests.screens.queue_fixtures import (
    QueueApp,
    burst,
    queue_screen,
    rows,
    seed_queue,
    services,
    settle,
    until,
)
from tests.screens.typing import drained


def toasts(app: QueueApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def table(app: QueueApp) -> QueueTable:
    return queue_screen(app).query_one(QueueTable)


def static_text(app: QueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_rows_in_triage_order_as_the_cli_lists_them(database: Database) -> None:
    queue = seed_queue(database)
    with database.session() as session:
        expected = [row.id for row in queue_rows(session)]
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert rows(app) == ["DC01", "APP02", "FRONTDESK", "LAPTOP-ANNA"]
        shown = [line.row.id for i in range(4) if (line := table(app).line_at(i))]
        assert shown == expected == [queue.install, queue.reboot, queue.regression, queue.offline]
        header = table(app).render_line(0).text
        for title in ("ID", "T", "CLIENT", "DEVICE", "ROLE", "CLASS", "PATCHES", "AGE"):
            assert title in header
        for title in ("OWNER", "STATE", "LAST ACTION"):
            assert title in header
        first = table(app).render_line(1).text
        assert "DC01" in first
        assert "install" in first
        assert "KB5044281" in first
        assert "3h20m" in first
        assert "open" in first
        assert "4 exceptions" in static_text(app, "#queue-filters")
        assert "install failed (error 0x80070643)" in static_text(app, "#queue-current")
        panel = str(app.screen.query_one(HandoverPanel).render())
        assert "opened 2 · resolved 0" in panel  # the shift began at 14:00 Berlin, 13:00 UTC
        assert "unassigned 3: T1 1 T2 1 T3 1 T4 0" in panel
        assert "DC01 needs a hands-on look after 18:00" in panel


async def test_acknowledge_takes_ownership(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        row = get_exception(database, queue.install)
        assert (row.owner, row.state) == ("alice", ExceptionState.ACKNOWLEDGED)
        assert any("acknowledged: alice owns it" in t for t in toasts(app))
        current = table(app).current
        assert current is not None
        assert current.row.owner == "alice"
        assert "alice" in table(app).render_line(1).text
        # Owned now: the panel under the table names `u` (and `t`: an install exception).
        assert "t retry now · u release │" in static_text(app, "#queue-current")
        await pilot.press("u")
        await settle(pilot)
        row = get_exception(database, queue.install)
        assert (row.owner, row.state) == (None, ExceptionState.OPEN)


async def test_acknowledged_meanwhile_by_someone_else_is_told(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = queue_screen(app)
        if screen._timer is not None:
            screen._timer.stop()  # the screen has not seen bob's acknowledgement yet
        ops.acknowledge(database, queue.install, "bob", now=NOW)
        await pilot.press("a")
        await settle(pilot)
        assert any("already acknowledged by bob" in t for t in toasts(app))
        assert get_exception(database, queue.install).owner == "bob"
        current = table(app).current
        assert current is not None
        assert current.row.owner == "bob"


async def test_two_technicians_acknowledge_at_once_one_wins(database: Database) -> None:
    queue = seed_queue(database)
    alice = QueueApp(services(database, "alice"))
    bob = QueueApp(services(database, "bob"))
    async with (
        alice.run_test(size=(120, 40), notifications=True) as a,
        bob.run_test(size=(120, 40), notifications=True) as b,
    ):
        await settle(a)
        await settle(b)
        await asyncio.gather(a.press("a"), b.press("a"))
        await settle(a)
        await settle(b)
        owner = get_exception(database, queue.install).owner
        assert owner in ("alice", "bob")
        winner, loser = (alice, bob) if owner == "alice" else (bob, alice)
        assert any("owns it" in t for t in toasts(winner))
        assert any(f"already acknowledged by {owner}" in t for t in toasts(loser))
        for app in (alice, bob):
            current = table(app).current
            assert current is not None
            assert current.row.owner == owner
    with database.session() as session:
        detail = exception_detail(session, queue.install)
    assert detail is not None
    assert [h.action for h in detail.history] == ["acknowledge"]


async def test_filters_by_text_and_quick_keys(database: Database) -> None:
    seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"front", "enter")
        await settle(pilot)
        assert rows(app) == ["FRONTDESK"]
        assert "1 exception" in static_text(app, "#queue-filters")
        assert table(app).has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert len(rows(app)) == 4
        await pilot.press("T")  # tier 1
        await settle(pilot)
        assert rows(app) == ["DC01"]
        await pilot.press("T", "T")  # tier 3
        await settle(pilot)
        assert rows(app) == ["FRONTDESK"]
        await pilot.press("escape", "C")  # class offline (triage order of classes)
        await settle(pilot)
        assert rows(app) == ["LAPTOP-ANNA"]
        await pilot.press("escape", "U")
        await settle(pilot)
        assert rows(app) == ["DC01", "APP02", "FRONTDESK"]
        await pilot.press("M")  # mine: alice owns nothing yet
        await settle(pilot)
        assert rows(app) == []
        assert "no exceptions match" in table(app).render_line(1).text
        await pilot.press("escape", "S", "S")  # state: acknowledged
        await settle(pilot)
        assert rows(app) == ["LAPTOP-ANNA"]
        await pilot.press("escape", "slash", *"bob")  # the owner's name, typed live
        await settle(pilot)
        await asyncio.sleep(0.4)  # the text filter waits for typing to pause
        await settle(pilot)
        assert rows(app) == ["LAPTOP-ANNA"]
        # esc in the text filter clears the text only; the quick filters stay.
        await pilot.press("escape", "escape", "T", "T", "T", "slash", *"zzz", "enter")
        await settle(pilot)
        assert rows(app) == []
        await pilot.press("slash", "escape")
        await settle(pilot)
        assert rows(app) == ["FRONTDESK"]
        assert table(app).has_focus


async def test_resolve_needs_a_note(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, NoteModal)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NoteModal)  # refused: a note is required
        assert "required" in str(app.screen.query_one("#note-error", Static).render())
        await pilot.press(*"reinstalled by hand")
        await pilot.press("ctrl+s")
        await settle(pilot)
        row = get_exception(database, queue.install)
        assert (row.state, row.resolved_at) == (ExceptionState.RESOLVED, NOW)
        assert rows(app) == ["APP02", "FRONTDESK", "LAPTOP-ANNA"]
        assert "resolved 1" in str(app.screen.query_one(HandoverPanel).render())
    with database.session() as session:
        detail = exception_detail(session, queue.install)
    assert detail is not None
    assert [(h.operator, h.action, h.note) for h in detail.history] == [
        ("alice", "resolve", "reinstalled by hand")
    ]


async def test_escalate_names_a_target_and_an_optional_note(database: Database) -> None:
    """The target and the note typed in one burst (enter moves on, ctrl+s saves)."""
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EscalateModal)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Escalate to: required" in str(app.screen.query_one("#form-error", Static).render())
        burst(app, *"network team", "enter", *"switch port 12 dead", "ctrl+s")
        await drained(pilot)
        row = get_exception(database, queue.install)
        assert (row.state, row.owner) == (ExceptionState.ESCALATED, "alice")
        assert row.last_action == "escalated to network team"
        with database.session() as session:
            detail = exception_detail(session, queue.install)
        assert detail is not None
        assert detail.history[-1].note == "to network team: switch port 12 dead"
        await pilot.press("e", *"vendor", "ctrl+s")  # again: the store refuses, the form says why
        await settle(pilot)
        assert isinstance(app.screen, EscalateModal)
        assert "already escalated" in str(app.screen.query_one("#form-error", Static).render())


async def test_handover_note(database: Database) -> None:
    seed_queue(database, note=False)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        assert "No handover notes yet" in str(app.screen.query_one(HandoverPanel).render())
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteModal)
        await pilot.press(*"APP02 waits for the vendor", "enter", *"call back at 9")
        await pilot.press("ctrl+s")
        await settle(pilot)
        panel = str(app.screen.query_one(HandoverPanel).render())
        assert "alice  APP02 waits for the vendor call back at 9" in panel
    with database.session() as session:
        note = session.scalars(select(HandoverNote)).one()
    assert (note.author, note.text, note.at) == (
        "alice",
        "APP02 waits for the vendor\ncall back at 9",
        NOW,
    )


async def test_ctrl_s_right_after_a_burst_of_typing_keeps_every_key(database: Database) -> None:
    """A paste, or fast typing over SSH, arrives as a burst with ctrl+s at its end. ctrl+s
    is a priority binding, dispatched ahead of the keys still queued for the text box:
    the save waits for them, or the note would lose its end (seen in tmux)."""
    seed_queue(database, note=False)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteModal)
        text = "NDP-DC01 back after site power-on. Watch the Bluegum reception PCs"
        for char in text:  # posted at once, as a terminal delivers a burst
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("ctrl+s", None))
        await settle(pilot)
    with database.session() as session:
        note = session.scalars(select(HandoverNote)).one()
    assert note.text == text


async def test_escape_in_a_typed_note_asks_first(database: Database) -> None:
    seed_queue(database, note=False)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n", *"half a thought", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteModal)
        await pilot.press("escape", "y")
        await settle(pilot)
    with database.session() as session:
        assert session.scalars(select(HandoverNote)).all() == []


async def test_i_shows_the_exception_summary(database: Database) -> None:
    queue = seed_queue(database)
    ops.log_remediation(database, queue.install, "bob", "free_disk", now=NOW, note="C: had 1 GB")
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, ExceptionDetailScreen)
        text = str(app.screen.query_one("#detail-text", Static).render())
        for expected in (
            "Exception 1 · install · tier 1",
            "DC01",
            "Windows Server 2022",
            "Main St",
            "KB5044281",
            "Cumulative update 0",
            "bob: remediate:free_disk → done",
            "C: had 1 GB",
        ):
            assert expected in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExceptionDetailScreen)


async def test_force_reboot_asks_then_queues_the_command(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("b")  # DC01's is an install exception
        await pilot.pause()
        assert any("exception 1 is in class install: r lists" in t for t in toasts(app))
        await pilot.press("down")
        assert "b force reboot │" in static_text(app, "#queue-current")
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "APP02" in str(app.screen.query(Static).first().render())
        await pilot.press("y")
        await settle(pilot)
        assert any("command" in t and "queued for the engine" in t for t in toasts(app))
        assert "engine: force_reboot queued" in static_text(app, "#queue-current")
    with database.session() as session:
        command = session.scalars(select(OperatorRequest)).one()
    assert (command.kind, command.state, command.exception_id, command.requested_by) == (
        RequestKind.FORCE_REBOOT,
        RequestState.QUEUED,
        queue.reboot,
        "alice",
    )


async def test_read_only_session_changes_nothing(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database, readonly=True))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("a", "n")
        await settle(pilot)
        assert any("read-only" in t for t in toasts(app))
        assert get_exception(database, queue.install).owner is None


async def test_follows_changes_made_elsewhere(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # FRONTDESK
        # Another technician resolves DC01 (above the cursor) and takes APP02.
        ops.resolve(database, queue.install, "bob", "fixed", now=NOW)
        ops.acknowledge(database, queue.reboot, "bob", now=NOW)
        # The engine opens a new tier-1 exception (with its event, as the engine writes it).
        new = add_exception(
            database, queue.seeded.devices["DC01"], FailureClass.OFFLINE, opened_at=NOW
        )
        with database.session() as session:
            record_event(
                session, at=NOW, kind="exception.opened", entity="exception", entity_id=new
            )
        await asyncio.sleep(1.2)  # one poll
        await settle(pilot)
        assert rows(app) == ["DC01", "APP02", "FRONTDESK", "LAPTOP-ANNA"]
        lines = [table(app).line_at(i) for i in range(4)]
        assert [line.row.id for line in lines if line] == [
            new,
            queue.reboot,
            queue.regression,
            queue.offline,
        ]
        assert lines[1] is not None
        assert lines[1].row.owner == "bob"
        current = table(app).current
        assert current is not None
        assert current.row.id == queue.regression
        assert "resolved 1" in str(app.screen.query_one(HandoverPanel).render())


async def test_a_long_queue_is_read_a_window_at_a_time(database: Database) -> None:
    queue = seed_queue(database)
    device = queue.seeded.devices["LAPTOP-ANNA"]
    with database.session() as session:
        from patchdesk.store.models import Device

        template = session.get(Device, device)
        assert template is not None
        client_id = template.client_id
        extra = [
            Device(
                client_id=client_id,
                hostname=f"PC-{n:04d}",
                role=template.role,
                criticality=template.criticality,
                os_family=template.os_family,
                created_at=NOW,
                updated_at=NOW,
            )
            for n in range(600)
        ]
        session.add_all(extra)
        session.flush()
        ids = [d.id for d in extra]
    for n, device_id in enumerate(ids):
        add_exception(
            database, device_id, FailureClass.INSTALL, opened_at=NOW - timedelta(minutes=n)
        )
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        view = table(app)
        assert view.total == 604
        loaded = [i for i in range(view.total) if view.line_at(i) is not None]
        assert len(loaded) < 300  # a window, not the whole queue
        await pilot.press("end")
        await settle(pilot)
        current = view.current  # tier 4: the offline one first, then installs, oldest first
        assert current is not None
        assert current.row.hostname == "PC-0000"
        assert view.line_at(3) is None  # the window moved to the end
        await pilot.press("home")
        await settle(pilot)
        current = view.current
        assert current is not None
        assert current.row.hostname == "DC01"
        await pilot.press("pagedown", "pagedown")
        await settle(pilot)
        assert view.cursor > 40
        assert view.current is not None


async def test_a_form_read_in_a_worker_never_opens_over_another_form(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """r reads the exception in a worker (slow under load); n, meanwhile, opens the
    handover note. When the read finishes, the remediation form does not cover the note
    (taking the keys typed for it): the note stays in front, keeps every key, and the
    technician is told why the remediation form did not open."""
    seed_queue(database, note=False)
    held = threading.Event()
    read = queue_module.exception_detail

    def slow_read(*args: Any, **kwargs: Any) -> Any:
        held.wait(timeout=60)
        return read(*args, **kwargs)

    monkeypatch.setattr(queue_module, "exception_detail", slow_read)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        try:
            # The read started outside a key (keys after `r` wait for its form, so `n`
            # would go to the remediation form); `n` then opens the note meanwhile.
            queue_screen(app).action_remediate()
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, NoteModal), "the note")
            note = app.screen
            assert isinstance(note, NoteModal)
            assert app.focused is note.query_one("#note-text")  # opens on the text
            burst(app, *"DC01: site called")
            await until(pilot, lambda: note.text == "DC01: site called", "the first keys")
        finally:
            held.set()
        await until(pilot, lambda: not queue_screen_busy(app), "the read's result")
        assert app.screen is note
        assert any("the remediation form not opened: a form is open" in t for t in toasts(app))
        burst(app, *", back at 14:10", "ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, NoteModal), "the note saved")
        await settle(pilot)
    with database.session() as session:
        saved = session.scalars(select(HandoverNote)).one()
    assert saved.text == "DC01: site called, back at 14:10"


def queue_screen_busy(app: QueueApp) -> bool:
    return any(worker.group == "queue-detail" and worker.is_running for worker in app.workers)
