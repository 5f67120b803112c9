"""The device screen shows the patches excluded on the device and lifts one with ``l``
(a pick list when there are several, confirmed, logged as the operator), and a scheduled
reboot's time beside its command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from textual import events
from textual.pilot import Pilot

from patchdesk.domain import FailureClass, RequestKind, RequestState
from patchdesk.screens.burst import BurstApp
from patchdesk.screens.device_lookup import open_device
from patchdesk.screens.device_writes import ExclusionPickScreen
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store import exclusions
from patchdesk.store.db import Database
from patchdesk.store.models import OperatorRequest, RemediationRecord
from tests.conftest import NOW
from tests.exception_seed import Seeded, add_exception, seed_fleet
from tests.screens.queue_fixtures import services
from tests.screens.test_device_detail import device_screen, section, settle_device, toasts


class DeviceApp(BurstApp):
    """Nothing on screen but what the test opens; keys of a burst handled in turn."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self.services = services(database)


def exclude(database: Database, seeded: Seeded, vendor_id: str, reason: str) -> int:
    with database.writer() as session:
        row, _ = exclusions.exclude(
            session,
            device_id=seeded.devices["DC01"],
            patch_id=seeded.patches[vendor_id],
            reason=reason,
            operator="bob",
            now=NOW - timedelta(hours=1),
        )
        return row.id


async def drained(pilot: Pilot[None], app: DeviceApp) -> None:
    for _ in range(400):
        await pilot.pause()
        if not app.keys_waiting and not any(w.is_running for w in app.workers):
            await settle_device(pilot)
            return
    raise AssertionError("the burst was not handled")


async def test_exclusions_are_shown_and_l_lifts_the_one_picked(database: Database) -> None:
    seeded = seed_fleet(database)
    exclude(database, seeded, "KB5044281", "breaks the EHR agent")
    second = exclude(database, seeded, "KB5044999", "vendor says wait for the re-release")
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        shown = section(app, "exclusions")
        assert "Patch exclusions  not targeted on this device until lifted · l lifts one" in shown
        assert "  KB5044281  Cumulative update 0\n" in shown
        assert "    excluded by bob 11-27 13:00 UTC\n    breaks the EHR agent\n" in shown
        assert "  KB5044999  Cumulative update 1\n" in shown
        assert "excluded    KB5044281, KB5044999 (not targeted here; l lifts)" in section(
            app, "facts"
        )
        for key in ("l", "down", "enter"):  # one burst: the list, the second patch, pick it
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await drained(pilot, app)
        assert isinstance(app.screen, ConfirmModal)
        assert "Lift the exclusion of KB5044999 on DC01 (by bob: vendor says wait" in str(
            app.screen.question
        )
        app.post_message(events.Key("y", "y"))
        await drained(pilot, app)
        device_screen(app)
        with database.session() as session:
            (active,) = exclusions.list_exclusions(session)
            record = session.scalars(
                select(RemediationRecord).order_by(RemediationRecord.seq.desc()).limit(1)
            ).one()
        assert active.vendor_id == "KB5044281"
        assert (record.operator, record.action, record.device_id) == (
            "alice",
            "exclusion.lift",
            seeded.devices["DC01"],
        )
        assert any(
            "exclusion lifted: KB5044999 is targeted on DC01 again" in t for t in toasts(app)
        )
        shown = section(app, "exclusions")
        assert "lifted by alice 11-27 14:00 UTC" in shown
        assert "alice: exclusion.lift → KB5044999 targeted again" in section(app, "log")

        # One left: l asks about it at once; n changes nothing.
        app.post_message(events.Key("l", "l"))
        await drained(pilot, app)
        assert isinstance(app.screen, ConfirmModal)
        assert "KB5044281" in str(app.screen.question)
        app.post_message(events.Key("n", "n"))
        await drained(pilot, app)
        with database.session() as session:
            assert [e.vendor_id for e in exclusions.list_exclusions(session)] == ["KB5044281"]
    assert second


async def test_l_without_an_exclusion_says_so(database: Database) -> None:
    seed_fleet(database)
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        assert "none: the engine targets every approved patch here" in section(app, "exclusions")
        await pilot.press("l")
        await settle_device(pilot)
        assert not isinstance(app.screen, (ConfirmModal, ExclusionPickScreen))
        assert "no patch is excluded on DC01" in toasts(app)


async def test_a_scheduled_reboot_shows_its_time(database: Database) -> None:
    seeded = seed_fleet(database)
    exception_id = add_exception(database, seeded.devices["DC01"], FailureClass.REBOOT)
    with database.session() as session:
        session.add(
            OperatorRequest(
                kind=RequestKind.SCHEDULE_REBOOT,
                state=RequestState.QUEUED,
                exception_id=exception_id,
                device_id=seeded.devices["DC01"],
                client_id="acme",
                args={"at": "2026-11-28T04:30:00+00:00"},
                not_before=datetime(2026, 11, 28, 4, 30, tzinfo=UTC),
                requested_by="alice",
                requested_at=NOW,
                result="",
            )
        )
    app = DeviceApp(database)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        open_device(app, "DC01")
        await settle_device(pilot)
        shown = section(app, "exceptions")
        assert "schedule_reboot: queued, asked by alice at 11-27 14:00 UTC" in shown
        assert "schedule_reboot: queued, asked by alice at 11-27 14:00 UTC · reboots at " in shown
        assert "· reboots at 11-28 04:30 UTC\n" in shown
