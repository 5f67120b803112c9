"""The remediation form's actions that promise an effect: "Schedule reboot" takes the time in
the client's zone (previewed in UTC and the operator's time, shown in the line before the
write) and queues a command that waits for it; "Exclude patch for this device" queues the
exclusion with its reason; the list says which actions are the engine's and which record the
technician's own work. Keys are posted in one burst, as a paste or fast typing over SSH
delivers them."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from patchdesk.domain import RebootPolicy, RecurrenceKind, RequestKind, RequestState
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.log_confirm import LogConfirm
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store.db import Database
from patchdesk.store.models import MaintenanceWindow, OperatorRequest
from tests.conftest import NOW
from tests.screens.queue_fixtures import QueueApp, burst, seed_queue, services, settle, until


def form(app: QueueApp) -> RemediationScreen:
    screen = app.screen
    assert isinstance(screen, RemediationScreen), screen
    return screen


def text_of(app: QueueApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def handled(pilot: Pilot[None], app: QueueApp) -> None:
    """Every key of the burst sent on and handled, and the workers they started done."""
    await until(pilot, lambda: not app.keys_waiting, "the burst handled")
    await settle(pilot)


async def confirming(pilot: Pilot[None], app: QueueApp) -> str:
    """The line ctrl+s shows before the write."""
    await until(pilot, lambda: isinstance(app.screen, LogConfirm), "the line before the write")
    return text_of(app, "#log-confirm-line")


def nightly_window(database: Database) -> None:
    """The seeded client (New York): every night 22:00-02:00, reboots allowed."""
    with database.session() as session:
        session.add(
            MaintenanceWindow(
                client_id="acme",
                name="nightly",
                recurrence=RecurrenceKind.WEEKLY,
                weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                start_time=time(22, 0),
                duration_minutes=240,
                reboot_policy=RebootPolicy.IF_REQUIRED,
                checkin_timeout_minutes=30,
                max_concurrent=5,
                updated_at=NOW,
            )
        )


async def open_form(pilot: Pilot[None], app: QueueApp, row: int) -> None:
    await settle(pilot)
    await pilot.press("home", *["down"] * row, "r")
    await settle(pilot)
    form(app)


async def test_schedule_reboot_at_a_time_typed_in_client_time(database: Database) -> None:
    queue = seed_queue(database)
    nightly_window(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_form(pilot, app, 1)  # APP02's reboot exception
        label = text_of(app, "#reboot-at-label")
        assert label == "Reboot at, for 2 Schedule reboot (client time, America/New_York)"
        burst(app, "2", "tab", *"23:30")
        await handled(pilot, app)
        chosen = form(app).chosen
        assert chosen is not None
        assert chosen.id == "schedule_reboot"
        assert form(app).query_one("#reboot-at", Input).value == "23:30"
        assert text_of(app, "#reboot-preview") == (
            "→ Fri 27 Nov 23:30 EST client · 04:30 UTC · 05:30 CET you"
        )
        burst(app, "ctrl+s")
        assert await confirming(pilot, app) == (
            "Schedule reboot at Fri 27 Nov 23:30 EST (04:30 UTC) · outcome queued · no note"
        )
        burst(app, "enter")
        await handled(pilot, app)
        assert not isinstance(app.screen, (RemediationScreen, LogConfirm))
    with database.session() as session:
        command = session.scalars(select(OperatorRequest)).one()
    assert (command.kind, command.state, command.exception_id, command.not_before) == (
        RequestKind.SCHEDULE_REBOOT,
        RequestState.QUEUED,
        queue.reboot,
        datetime(2026, 11, 28, 4, 30, tzinfo=UTC),
    )


async def test_a_reboot_time_outside_the_windows_keeps_the_form_open(database: Database) -> None:
    seed_queue(database)
    nightly_window(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_form(pilot, app, 1)
        burst(app, "2", "tab", *"2026-11-28 12:00", "ctrl+s")
        await confirming(pilot, app)
        burst(app, "enter")  # the store looks at the device's windows: refused
        await handled(pilot, app)
        assert text_of(app, "#remediation-error") == (
            "reboot time: Sat 28 Nov 12:00 EST is outside the device's windows; the next one "
            "is nightly Sat 28 Nov 22:00–02:00 EST"
        )
        form(app).query_one("#reboot-at", Input).value = ""
        burst(app, "ctrl+s")
        await handled(pilot, app)
        assert text_of(app, "#remediation-error").startswith(
            "reboot at: required (client time, America/New_York)"
        )
    with database.session() as session:
        assert session.scalars(select(OperatorRequest)).all() == []


async def test_the_reboot_time_is_a_tab_stop_whatever_the_action(database: Database) -> None:
    """A reboot exception's fields, in Tab order, for each of its actions: the reboot time
    after the list, "no reboot time" in its place for the actions that take none."""
    seed_queue(database)
    app = QueueApp(services(database))
    walks: dict[int, list[str]] = {}
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        for number in (1, 2, 3):
            await open_form(pilot, app, 1)
            burst(app, str(number))
            await handled(pilot, app)
            walk = []
            for _ in range(5):
                burst(app, "tab")
                await handled(pilot, app)
                focused = app.focused
                assert focused is not None
                walk.append(str(focused.id))
            walks[number] = walk
            burst(app, "escape")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "discard?")
            burst(app, "y")
            await handled(pilot, app)
    assert walks == {
        1: ["reboot-at-fixed", "engine-outcome", "note", "resolve-fixed", "actions"],
        2: ["reboot-at", "engine-outcome", "note", "resolve-fixed", "actions"],
        3: ["reboot-at-fixed", "outcome", "note", "resolve", "actions"],
    }


async def test_exclude_patch_from_the_form_needs_its_reason(database: Database) -> None:
    queue = seed_queue(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_form(pilot, app, 0)  # DC01's install exception
        options = form(app).query_one("#actions", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts == [
            "1  Retry install   engine: queues a command",
            "2  Clear update cache   you do it: logs what you did",
            "3  Free disk space   you do it: logs what you did",
            "4  Install manually   you do it: logs what you did",
            "5  Exclude patch for this device   engine: stops targeting it here",
        ]
        burst(app, "5", "ctrl+s")
        await handled(pilot, app)
        assert text_of(app, "#remediation-error") == (
            "a note is required (it is the exclusion's reason)"
        )
        burst(app, *"breaks the imaging driver", "ctrl+s")  # letters at the list: the note
        assert await confirming(pilot, app) == (
            "Exclude patch for this device · outcome queued · note “breaks the imaging driver”"
        )
        burst(app, "enter")
        await handled(pilot, app)
        assert not isinstance(app.screen, (RemediationScreen, LogConfirm))
    with database.session() as session:
        command = session.scalars(select(OperatorRequest)).one()
    assert (command.kind, command.exception_id, command.patch_id, command.args) == (
        RequestKind.EXCLUDE_PATCH,
        queue.install,
        queue.seeded.patches["KB5044281"],
        {"reason": "breaks the imaging driver"},
    )
