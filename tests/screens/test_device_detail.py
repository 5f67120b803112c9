"""The device screen, driven by keys (Pilot), on SQLite and PostgreSQL: opened from the
queue with ``enter`` and by hostname (``open_device``, with a pick list when the name is
ambiguous), each action (remediate, maintenance mode confirmed or cancelled, retry, force
reboot), following changes made elsewhere, ``esc`` back; each checked in the store too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import OptionList, Static
from textual.widgets._toast import Toast

from patchdesk.domain import FailureClass, RequestKind, RequestState
from patchdesk.screens.device_detail import DeviceDetailScreen
from patchdesk.screens.device_lookup import DevicePickScreen, open_device
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.queue_detail import detail_text
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.log_confirm import LogConfirm
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.device_ops import set_maintenance_mode
from patchdesk.store.exception_views import exception_detail
from patchdesk.store.models import Device, OperatorRequest, RemediationRecord
from tests.conftest import NOW
from tests.exception_seed import add_exception, seed_fleet
from tests.screens.queue_fixtures import QueueApp, seed_queue, services, settle


class DeviceApp(App[None]):
    """An app with nothing on screen but what the test opens (``open_device``)."""

    def __init__(self, database: Database, *, readonly: bool = False) -> None:
        super().__init__()
        self.services = services(database, readonly=readonly)


def device_screen(app: App[Any]) -> DeviceDetailScreen:
    screen = app.screen
    assert isinstance(screen, DeviceDetailScreen), screen
    return screen


async def settle_device(pilot: Pilot[Any]) -> None:
    """Wait until the device screen has read its device and its workers are done."""
    app = pilot.app
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if not isinstance(screen, DeviceDetailScreen):
            return
        if screen.detail is not None and not screen.workers_busy():
            return
    raise AssertionError("the device screen did not settle")


def section(app: App[Any], name: str) -> str:
    return str(device_screen(app).query_one(f"#device-{name}", Static).render())


def toasts(app: App[Any]) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def device_id(database: Database, hostname: str, client_id: str = "acme") -> int:
    with database.session() as session:
        return session.scalars(
            select(Device.id).where(Device.hostname == hostname, Device.client_id == client_id)
        ).one()


async def test_enter_in_the_queue_opens_the_device_and_esc_goes_back(database: Database) -> None:
    queue = seed_queue(database)
    ops.log_remediation(database, queue.install, "bob", "free_disk", now=NOW, note="C: had 1 GB")
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # DC01's install exception
        await settle_device(pilot)
        screen = device_screen(app)
        assert screen.device_id == queue.seeded.devices["DC01"]
        assert screen.selected == queue.install
        facts = section(app, "facts")
        for expected in (
            "DC01",
            "acme (Acme Dental) · America/New_York",
            "Main St",
            "server, critical · tier 1 (critical server)",
            "Windows Server 2022 (windows)",
            "off · as the RMM reports it",
            "online",
            f"exception #{queue.install} (install): r remediates it",
        ):
            assert expected in facts, expected
        # last seen 13:55 UTC, shown in UTC, the client's zone and the operator's
        assert "Fri 27 Nov 13:55 UTC · 08:55 EST client · 14:55 CET you · 5m ago" in facts
        exceptions = section(app, "exceptions")
        # bob's remediation made it his (acting on an unowned exception takes it)
        assert f"▶ #{queue.install} install · in progress · owner bob" in exceptions
        assert "bob: remediate:free_disk → done" in exceptions
        assert "C: had 1 GB" in exceptions
        assert "no active window of the client applies" in section(app, "windows")
        assert "never targeted by a deployment" in section(app, "targets")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)


async def test_r_remediates_the_selected_exception_and_s_selects_another(
    database: Database,
) -> None:
    queue = seed_queue(database)
    dc01 = queue.seeded.devices["DC01"]
    reboot = add_exception(database, dc01, FailureClass.REBOOT, summary="reboot hung")
    app = QueueApp(services(database))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the top row: DC01's reboot exception (before install)
        await settle_device(pilot)
        assert device_screen(app).selected == reboot  # the queue's row
        await pilot.press("s")  # the next open one
        assert device_screen(app).selected == queue.install
        assert f"▶ #{queue.install} install" in section(app, "exceptions")
        await pilot.press("s")  # and round again
        assert device_screen(app).selected == reboot
        assert f"▶ #{reboot} reboot" in section(app, "exceptions")
        await pilot.press("r")
        await settle_device(pilot)
        assert isinstance(app.screen, RemediationScreen)
        assert app.screen.detail.exception.id == reboot
        await pilot.press("3")  # contact user (reboot's response path: force, schedule, contact)
        await pilot.press("tab", "tab", *"called the user")
        await pilot.press("ctrl+s")  # shows the line to be logged; enter writes it
        await settle_device(pilot)
        assert isinstance(app.screen, LogConfirm)
        await pilot.press("enter")
        await settle_device(pilot)
        device_screen(app)
        assert any(f"exception {reboot}: contact_user logged" in t for t in toasts(app))
        with database.session() as session:
            records = session.scalars(
                select(RemediationRecord).where(RemediationRecord.exception_id == reboot)
            ).all()
        assert [(r.action, r.operator) for r in records] == [("remediate:contact_user", "alice")]
        assert "alice: remediate:contact_user → done" in section(app, "exceptions")


async def test_r_without_an_open_exception_says_so(database: Database) -> None:
    seeded = seed_fleet(database)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "LAPTOP-ANNA")
        await settle_device(pilot)
        assert device_screen(app).detail is not None
        assert "none: this device has never failed a patch" in section(app, "exceptions")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, DeviceDetailScreen)
        assert any("LAPTOP-ANNA has no open exception to remediate" in t for t in toasts(app))
        await pilot.press("t")
        await pilot.pause()
        assert any("LAPTOP-ANNA has no open install exception" in t for t in toasts(app))
        assert device_screen(app).device_id == seeded.devices["LAPTOP-ANNA"]


async def test_maintenance_mode_is_confirmed_or_cancelled(database: Database) -> None:
    seeded = seed_fleet(database)
    dc01 = seeded.devices["DC01"]
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        question = str(app.screen.question)
        assert "Put DC01 (acme, server) in maintenance mode?" in question
        assert "The RMM reports off: this overrides it" in question
        await pilot.press("n")  # cancelled: nothing written
        await settle_device(pilot)
        with database.session() as session:
            device = session.get(Device, dc01)
            assert device is not None
            assert device.maintenance_mode is False
            assert session.scalars(select(RemediationRecord)).all() == []

        await pilot.press("m")
        await pilot.pause()
        await pilot.press("y")
        await settle_device(pilot)
        with database.session() as session:
            device = session.get(Device, dc01)
            assert device is not None
            assert (device.maintenance_mode, device.maintenance_override) == (True, True)
            assert device.maintenance_override_by == "alice"
            [record] = session.scalars(select(RemediationRecord)).all()
            assert (record.action, record.device_id) == ("device.maintenance_on", dc01)
        assert "ON · set by alice Fri 27 Nov 14:00 UTC; overrides the RMM (off)" in section(
            app, "facts"
        )
        assert "alice: device.maintenance_on" in section(app, "log")
        assert any("DC01 is now in maintenance mode" in t for t in toasts(app))

        # And out again: back to what the RMM says.
        await pilot.press("m")
        await pilot.pause()
        assert "Take DC01 (acme, server) out of maintenance mode?" in str(app.screen.question)
        await pilot.press("y")
        await settle_device(pilot)
        with database.session() as session:
            device = session.get(Device, dc01)
            assert device is not None
            assert (device.maintenance_mode, device.maintenance_override) == (False, None)
        assert "off · as the RMM reports it" in section(app, "facts")


async def test_retry_and_force_reboot_queue_engine_commands(database: Database) -> None:
    queue = seed_queue(database)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")  # an install exception
        await settle_device(pilot)
        await pilot.press("b")  # no reboot exception: told, nothing asked
        await pilot.pause()
        assert isinstance(app.screen, DeviceDetailScreen)
        assert any("DC01 has no open reboot exception" in t for t in toasts(app))
        await pilot.press("t")
        await settle_device(pilot)
        assert "engine #1 retry_install: queued, asked by alice" in section(app, "exceptions")
        await pilot.press("escape")
        await pilot.pause()

        open_device(app, "APP02")  # a reboot exception
        await settle_device(pilot)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "Force a reboot of APP02 (acme) now?" in str(app.screen.question)
        await pilot.press("n")
        await settle_device(pilot)
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("y")
        await settle_device(pilot)
        assert "engine #2 force_reboot: queued" in section(app, "exceptions")
    with database.session() as session:
        commands = session.execute(
            select(OperatorRequest.exception_id, OperatorRequest.kind, OperatorRequest.state)
            .order_by(OperatorRequest.id)
        ).all()  # fmt: skip
    assert [tuple(c) for c in commands] == [
        (queue.install, RequestKind.RETRY_INSTALL, RequestState.QUEUED),
        (queue.reboot, RequestKind.FORCE_REBOOT, RequestState.QUEUED),
    ]


async def test_an_ambiguous_hostname_opens_a_pick_list(database: Database) -> None:
    seed_fleet(database)
    seed_fleet(database, client_id="globex", extra=False)  # the same hostnames
    globex_dc01 = device_id(database, "DC01", "globex")
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "dc01")
        await settle_device(pilot)
        assert isinstance(app.screen, DevicePickScreen)
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(2)]
        assert prompts[0].startswith("DC01@acme  Acme Dental · server · Main St")
        assert prompts[1].startswith("DC01@globex")
        await pilot.press("down", "enter")
        await settle_device(pilot)
        assert device_screen(app).device_id == globex_dc01
        await pilot.press("escape")
        await pilot.pause()

        open_device(app, "DC01")  # esc in the list: nothing opens
        await settle_device(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DevicePickScreen | DeviceDetailScreen)

        open_device(app, "DC01@globex")  # one client's: no question
        await settle_device(pilot)
        assert device_screen(app).device_id == globex_dc01
        await pilot.press("escape")
        await pilot.pause()

        open_device(app, "LAPTOP")  # part of a name: the devices containing it
        await settle_device(pilot)
        assert isinstance(app.screen, DevicePickScreen)
        title = str(app.screen.query(Static).first().render())
        assert "No device is named “LAPTOP”; devices whose name contains it" in title
        await pilot.press("escape")
        await pilot.pause()

        open_device(app, "nowhere")
        await settle_device(pilot)
        assert any("no device named “nowhere”" in t for t in toasts(app))


async def test_follows_changes_made_elsewhere(database: Database) -> None:
    seeded = seed_fleet(database)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "FRONTDESK")
        await settle_device(pilot)
        assert "none: this device has never failed a patch" in section(app, "exceptions")
        # Another technician, and the engine, write meanwhile.
        set_maintenance_mode(database, seeded.devices["FRONTDESK"], "bob", True, now=NOW)
        exception_id = add_exception(database, seeded.devices["FRONTDESK"], FailureClass.OFFLINE)
        ops.acknowledge(database, exception_id, "bob", now=NOW)  # an event for the exception
        for _ in range(40):
            await pilot.pause(0.1)
            if "set by bob" in section(app, "facts") and f"#{exception_id}" in section(
                app, "exceptions"
            ):
                break
        assert "ON · set by bob" in section(app, "facts")
        assert f"▶ #{exception_id} offline · acknowledged · owner bob" in section(app, "exceptions")


async def test_read_only_session_changes_nothing(database: Database) -> None:
    seed_queue(database)
    app = DeviceApp(database, readonly=True)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        for key in ("m", "t", "r"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DeviceDetailScreen)
        assert any("read-only session" in t for t in toasts(app))
    with database.session() as session:
        assert session.scalars(select(OperatorRequest)).all() == []
        device = session.scalars(select(Device).where(Device.hostname == "DC01")).one()
        assert device.maintenance_mode is False


async def test_ages_and_countdowns_move_on_with_the_clock(database: Database) -> None:
    seed_fleet(database)
    now = [NOW]
    app = DeviceApp(database)
    app.services = services(database, clock=lambda: now[0])
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        assert "14:55 CET you · 5m ago" in section(app, "facts")
        now[0] = NOW + timedelta(minutes=3)  # nothing about the device changes
        for _ in range(40):
            await pilot.pause(0.1)
            if "8m ago" in section(app, "facts"):
                break
        assert "14:55 CET you · 8m ago" in section(app, "facts")


async def test_a_device_that_is_not_there_is_said_so(database: Database) -> None:
    seed_fleet(database)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.push_screen(DeviceDetailScreen(999_999))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("that device is not in the database" in t for t in toasts(app))
        assert "no such device" in section(app, "facts")
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, DeviceDetailScreen)


async def test_an_online_device_not_seen_for_hours_is_shown_stale(database: Database) -> None:
    seed_fleet(database)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.hostname == "DC01")).one()
        device.online, device.last_seen = True, NOW - timedelta(hours=8)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        lines = section(app, "facts").splitlines()
        status = next(line for line in lines if line.strip().startswith("status"))
        assert "stale (no check-in for over 30m)" in status
        assert "online" not in status
        seen = next(line for line in lines if line.strip().startswith("last seen"))
        assert "8h00m ago" in seen


async def test_a_device_seen_recently_is_shown_online(database: Database) -> None:
    seed_fleet(database)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        lines = section(app, "facts").splitlines()
        status = next(line for line in lines if line.strip().startswith("status"))
        assert status.split() == ["status", "online"]


def test_the_exception_summary_says_stale_too(database: Database) -> None:
    seeded = seed_fleet(database)
    exception_id = add_exception(database, seeded.devices["DC01"], FailureClass.INSTALL)
    with database.session() as session:
        detail = exception_detail(session, exception_id)
    assert detail is not None
    status = [line for line in detail_text(detail, NOW).plain.splitlines() if "status" in line]
    assert status == ["status        online"]
    later = detail_text(detail, NOW + timedelta(hours=8)).plain.splitlines()
    assert [line for line in later if "status" in line] == ["status        stale"]
