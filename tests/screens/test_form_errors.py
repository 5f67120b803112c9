"""A form's refusal is on screen wherever the focus is, at 80x24 and larger.

A form taller than the terminal scrolls its body to the focused field; its error line and its
key hints stay below the body, always on screen (``FormScreen``'s footer). Seen in tmux at
80x24: the remediation form's reboot time refused by the store, a required note missing, a
bad date in the defer form, each showed its reason below the visible part of the form, and
ctrl+s looked as if it did nothing. The line before a write to the remediation log is read
whole, however long the note. Keys are posted in one burst, as a paste or fast typing over
SSH delivers them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static, TextArea

from patchdesk.screens.approval_forms import ApprovalForm, BlockForm, DeferForm
from patchdesk.screens.form_screen import FormScreen
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.log_confirm import KEYS, READ_ON, LogConfirm
from patchdesk.store.db import Database
from patchdesk.store.models import Patch, RemediationRecord
from tests.screens.approvals_world import SimWorld
from tests.screens.queue_fixtures import QueueApp, burst, seed_queue, services, settle, until
from tests.screens.test_approvals import KB, make_app, open_approvals, select_patch
from tests.screens.test_approvals import settle as settle_approvals
from tests.screens.test_remediation_effects import nightly_window

SMALL = (80, 24)


def on_screen(widget: Widget) -> bool:
    """Every row of ``widget`` is inside the screen and shows ``widget`` itself: not below
    the terminal, not clipped by a scrolled body, not covered by another widget."""
    screen = widget.screen
    region = widget.region
    if not region or not screen.region.contains_region(region):
        return False
    return all(
        screen.get_widget_at(region.x, y)[0] is widget for y in range(region.y, region.bottom)
    )


def error_line(app: Any) -> Static:
    form = app.screen
    assert isinstance(form, FormScreen), form
    return form.query_one(".form-error", Static)


def focused_id(app: Any) -> str | None:
    return None if app.focused is None else app.focused.id


async def assert_refusal_shown(pilot: Pilot[Any], text: str) -> None:
    """The refusal ``text``, literally, on screen with the key hints (waits for it: a save
    refused by the store reports from a worker)."""
    app = pilot.app
    await until(pilot, lambda: str(error_line(app).render()) == text, f"the refusal {text!r}")
    await pilot.pause()
    line = error_line(app)
    assert on_screen(line), (line.region, app.screen.region, app.focused)
    keys = app.screen.query_one(".form-keys", Static)
    assert on_screen(keys), keys.region


# --- the remediation form --------------------------------------------------------------------


@pytest.fixture
def queue_db(database: Database) -> Database:
    seed_queue(database)
    nightly_window(database)
    return database


async def open_remediation(pilot: Pilot[None], app: QueueApp, row: int) -> RemediationScreen:
    await settle(pilot)
    await pilot.press("home", *["down"] * row, "r")
    await until(pilot, lambda: isinstance(app.screen, RemediationScreen), "the form")
    await settle(pilot)
    form = app.screen
    assert isinstance(form, RemediationScreen)
    return form


async def test_remediation_reboot_time_refused_by_the_store_is_on_screen(
    queue_db: Database,
) -> None:
    """Schedule reboot at a time outside the device's windows: the store refuses it after
    the line before the write; focus stays on the reboot time, near the top."""
    app = QueueApp(services(queue_db))
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        form = await open_remediation(pilot, app, 1)  # APP02's reboot exception
        burst(app, "2", "tab", *"2026-11-28 12:00", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, LogConfirm), "the line before")
        burst(app, "enter")
        await until(pilot, lambda: app.screen is form, "back on the form")
        await assert_refusal_shown(
            pilot,
            "reboot time: Sat 28 Nov 12:00 EST is outside the device's windows; the next one "
            "is nightly Sat 28 Nov 22:00–02:00 EST",
        )
        assert focused_id(app) == "reboot-at"


async def test_remediation_missing_reason_is_on_screen_with_focus_on_the_list(
    queue_db: Database,
) -> None:
    """Block a regression's patch with no reason: refused before the write; focus stays on
    the action list at the top of the form (with its patch field, taller than 24 rows)."""
    app = QueueApp(services(queue_db))
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await open_remediation(pilot, app, 2)  # FRONTDESK's regression: two patches
        burst(app, "2", "ctrl+s")
        await assert_refusal_shown(pilot, "a note is required (it is the block's reason)")
        assert focused_id(app) == "actions"


async def test_remediation_refusal_with_focus_in_the_note(queue_db: Database) -> None:
    """Resolve ticked, the note left blank, focus in the note at the bottom: the refusal
    shows, and the note stays in view above it."""
    app = QueueApp(services(queue_db))
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        form = await open_remediation(pilot, app, 2)
        burst(app, "4", "tab", "tab", "tab", "tab", "space", "shift+tab", "ctrl+s")
        await assert_refusal_shown(pilot, "a note is required (for resolve)")
        assert focused_id(app) == "note"
        note = form.query_one("#note", TextArea)
        assert on_screen(note), note.region


async def test_a_long_refusal_keeps_the_focused_field_in_view(queue_db: Database) -> None:
    """A refusal quoting a long typed value (a note typed into the reboot time) takes at most
    8 rows, starting with the field it names; the focused field stays in view above it."""
    typed = " ".join(f"step {n}: checked the service and the event log." for n in range(20))
    app = QueueApp(services(queue_db))
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        form = await open_remediation(pilot, app, 1)
        burst(app, "2", "tab", *typed, "ctrl+s")
        await until(
            pilot,
            lambda: str(error_line(app).render()).startswith(f"reboot at: '{typed[:40]}"),
            "the refusal",
        )
        await pilot.pause()
        line = error_line(app)
        assert line.region.height == 8
        assert on_screen(line), line.region
        assert focused_id(app) == "reboot-at"
        assert on_screen(form.query_one("#reboot-at")), form.query_one("#reboot-at").region
        assert on_screen(app.screen.query_one(".form-keys", Static))


async def test_a_long_note_is_read_whole_before_the_write(queue_db: Database) -> None:
    """A pasted note of many lines: the line before the write scrolls between its title and
    its keys (both on screen); ``end`` shows its end; ``enter`` writes the whole note."""
    note = " ".join(
        f"step {n}: checked the service and the event log, nothing new." for n in range(40)
    )
    app = QueueApp(services(queue_db))
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        form = await open_remediation(pilot, app, 2)
        burst(app, "4")  # open a vendor case: you do it
        await until(pilot, lambda: form.chosen is not None, "the action chosen")
        form.query_one("#note", TextArea).load_text(note)  # as pasted
        burst(app, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, LogConfirm), "the line before")
        await pilot.pause()
        confirm = app.screen
        line = confirm.query_one("#log-confirm-line", Static)
        assert str(line.render()).endswith(f"note “{note}”")
        keys = confirm.query_one("#log-confirm-keys", Static)
        assert on_screen(keys), keys.region
        assert on_screen(confirm.query_one(".log-confirm-title", Static))
        assert line.region.bottom > confirm.region.bottom  # longer than the screen
        assert str(keys.render()) == f"{KEYS}{READ_ON}"
        burst(app, "y", "end")  # a "y" is no answer; end scrolls to the line's end
        await until(pilot, lambda: not app.keys_waiting, "the keys handled")
        await until(pilot, lambda: str(keys.render()) == f"not written yet: {KEYS}", "the end")
        assert app.screen is confirm
        last_row = line.region.bottom - 1
        assert confirm.region.contains(line.region.x, last_row)
        assert confirm.get_widget_at(line.region.x, last_row)[0] is line
        assert on_screen(keys), keys.region
        burst(app, "enter")
        await until(pilot, lambda: not isinstance(app.screen, (LogConfirm, FormScreen)), "saved")
    with queue_db.session() as session:
        notes = session.scalars(select(RemediationRecord.note)).all()
    assert note in notes


# --- the approvals' forms --------------------------------------------------------------------

# A patch's title comes from the RMM: untrusted text of any length (some catalogues put the
# release notes in it). This one wraps to ten lines at 80x24: the block and defer forms are
# taller than the terminal, with the first fields near the top and the error line far below.
LONG_TITLE = (
    "2026-11 Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB5112300). "
    "This update includes the servicing stack update, the .NET Framework 3.5 and 4.8.1 "
    "security and quality rollup and the Microsoft Defender platform update. A restart is "
    "required. Known issues: USB label printers may print blank labels until their driver is "
    "reinstalled; some devices prompt for the BitLocker recovery key after the update when "
    "Secure Boot is off; the Remote Desktop client may disconnect on machines joined to a "
    "domain with a legacy trust; Windows Hello face sign-in may be unavailable for a few "
    "minutes after the first restart; the printing of PDF files from some legacy "
    "applications may stall until the print spooler restarts."
)


@pytest.fixture
def world(approvals_world: SimWorld) -> SimWorld:
    with approvals_world.db.writer() as session:
        patch = session.scalars(select(Patch).where(Patch.vendor_id == KB)).one()
        patch.title = LONG_TITLE
    return approvals_world


async def open_approval_form(pilot: Pilot[None], key: str) -> ApprovalForm:
    await open_approvals(pilot)
    await select_patch(pilot, KB)
    await pilot.press(key)
    await settle_approvals(pilot)
    form = pilot.app.screen
    assert isinstance(form, ApprovalForm), form
    return form


async def test_block_without_a_reason_is_refused_on_screen(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        form = await open_approval_form(pilot, "b")
        assert isinstance(form, BlockForm)
        burst(app, "shift+tab", "ctrl+s")  # focus on the scope, at the top
        await assert_refusal_shown(pilot, "Reason: required: say why, for the log")
        assert focused_id(app) == "scope"


async def test_defer_with_a_bad_date_is_refused_on_screen(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        form = await open_approval_form(pilot, "d")
        assert isinstance(form, DeferForm)
        typed = "2026-12-04 once the vendor has re-released a fixed build"
        burst(app, *typed, "ctrl+s")  # focus on the date, the first field
        await assert_refusal_shown(pilot, f"Until: '{typed}' is not a date or an ISO time")
        assert focused_id(app) == "until"
        burst(app, "ctrl+a", "ctrl+k", *"2026-12-04", "tab", *"vendor re-release", "ctrl+s")
        # saved once the date is right
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "the form saved")
        await settle_approvals(pilot)
