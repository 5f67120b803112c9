"""Untrusted text (hostnames, client names, patch ids, RMM error strings, notes, owners,
command results) is shown literally: markup stays text, a click on it triggers nothing, and
terminal control characters never reach the screen."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from textual.widgets import OptionList, Static
from textual.widgets._toast import Toast

from patchdesk.app import PatchdeskApp
from patchdesk.domain import FailureClass, MissingPatchState, RequestState
from patchdesk.screens.approval_forms import ApprovalForm, EmergencyForm
from patchdesk.screens.approvals import ApprovalsScreen
from patchdesk.screens.handover import HandoverPanel
from patchdesk.screens.queue_detail import ExceptionDetailScreen
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable
from patchdesk.store import exception_ops as ops
from patchdesk.store.blocklist import add_to_blocklist
from patchdesk.store.db import Database
from patchdesk.store.handover import add_handover_note
from patchdesk.store.models import Client, Device, DevicePatch, OperatorRequest, Patch
from patchdesk.text import is_hidden
from tests.conftest import NOW
from tests.exception_seed import add_exception, seed_fleet
from tests.screens.queue_fixtures import QueueApp, queue_screen, services, settle
from tests.screens.test_approvals import settle as settle_approvals

MARKUP_HOST = "[bold red]HOST[/]"
CLICK_HOST = "[@click=app.quit]X"
ESCAPE_HOST = "EVIL\x1b[2J\x1b]0;pwned\x07"
CLIENT_NAME = "[reverse]Acme[/] [@click=app.quit]Dental"
RMM_ERROR = "error [link=https://evil.example]0x1[/link] \x1b[31mred\x1b[0m [@click=app.quit]q"
PATCH_ID = "[b]KB1[/b]"
NOTE = "[@click=app.quit]click me[/] \x1b[2J wiped?"
OWNER = "[@click=app.quit]eve"
COMMAND_RESULT = "rmm said: [blink]fail[/] \x1b[5m"


def seed(database: Database) -> dict[str, int]:
    seeded = seed_fleet(database)
    with database.session() as session:
        client = session.get(Client, seeded.client_id)
        assert client is not None
        client.name = CLIENT_NAME
        for hostname, device_id in list(seeded.devices.items())[:3]:
            device = session.get(Device, device_id)
            assert device is not None
            device.hostname = {"DC01": MARKUP_HOST, "APP02": CLICK_HOST}.get(hostname, ESCAPE_HOST)
        patch = session.get(Patch, seeded.patches["KB5044281"])
        assert patch is not None
        patch.vendor_id = PATCH_ID
        patch.title = "[italic]Cumulative[/] \x1b[2J"
    ids = {
        "markup": add_exception(
            database,
            seeded.devices["DC01"],
            FailureClass.INSTALL,
            patch_ids=[seeded.patches["KB5044281"]],
            summary=RMM_ERROR,
        ),
        "click": add_exception(
            database, seeded.devices["APP02"], FailureClass.REBOOT, summary=RMM_ERROR
        ),
        "escape": add_exception(
            database, seeded.devices["FRONTDESK"], FailureClass.REGRESSION, summary=RMM_ERROR
        ),
    }
    ops.log_remediation(database, ids["markup"], OWNER, "free_disk", now=NOW, note=NOTE)
    ops.log_remediation(database, ids["markup"], OWNER, "retry_install", now=NOW)
    with database.session() as session:
        for command in session.query(OperatorRequest):
            command.state = RequestState.FAILED
            command.result = COMMAND_RESULT
    add_handover_note(database, OWNER, NOTE, now=NOW - timedelta(minutes=1))
    return ids


def no_control(text: str) -> None:
    assert "\x1b" not in text
    assert "\x07" not in text
    assert [f"U+{ord(c):04X}" for c in text if is_hidden(c)] == []


async def test_untrusted_text_is_shown_literally_and_triggers_nothing(database: Database) -> None:
    ids = seed(database)
    app = QueueApp(services(database))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await settle(pilot)
        table = queue_screen(app).query_one(QueueTable)
        lines = [table.render_line(y).text for y in range(1, 4)]
        for line in lines:
            no_control(line)
        assert MARKUP_HOST in lines[0]
        assert PATCH_ID in lines[0]
        assert CLICK_HOST in lines[1]
        assert "EVIL[2J]0;pwned" in lines[2]  # the escapes are gone, the rest is text

        current = str(app.screen.query_one("#queue-current", Static).render())
        no_control(current)
        assert MARKUP_HOST in current
        assert CLIENT_NAME in current
        assert "error [link=https://evil.example]0x1[/link] [31mred[0m [@click=app.quit]q" in (
            current
        )
        assert "engine: retry_install failed: rmm said: [blink]fail[/] [5m" in current

        panel = str(app.screen.query_one(HandoverPanel).render())
        no_control(panel)
        assert "[@click=app.qui…  [@click=app.quit]click me[/] [2J wiped?" in panel  # clipped

        # Clicking the untrusted text (the table's row, the current row, the notes) does not
        # run the action it names.
        await pilot.click(QueueTable, offset=(20, 2))
        await pilot.click("#queue-current", offset=(10, 0))
        await pilot.click(HandoverPanel, offset=(12, 3))
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None

        # The exception summary: history notes, command results, patch titles.
        await pilot.press("home", "i")
        await settle(pilot)
        assert isinstance(app.screen, ExceptionDetailScreen)
        detail = str(app.screen.query_one("#detail-text", Static).render())
        no_control(detail)
        for literal in (MARKUP_HOST, CLIENT_NAME, PATCH_ID, "[italic]Cumulative[/] [2J", OWNER):
            assert literal in detail
        assert "[@click=app.quit]click me[/] [2J wiped?" in detail
        assert "rmm said: [blink]fail[/] [5m" in detail
        await pilot.click("#detail-text", offset=(2, 1))
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running

        # The take-over question (the remediation made OWNER its owner), then the remediation
        # form's header.
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        question = str(app.screen.query(Static).first().render())
        no_control(question)
        assert f"is owned by {OWNER}. Take over from {OWNER}?" in question
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RemediationScreen)
        header = str(app.screen.query_one("#remediation-header", Static).render())
        no_control(header)
        assert MARKUP_HOST in header
        assert PATCH_ID in header
        await pilot.press("escape")
        await pilot.pause()

        # A refusal naming an untrusted owner, in a notification.
        screen = queue_screen(app)
        if screen._timer is not None:
            screen._timer.stop()
        await pilot.press("down")  # CLICK_HOST's exception, unowned on screen
        ops.acknowledge(database, ids["click"], OWNER, now=NOW)
        await pilot.press("a")
        await settle(pilot)
        toasts = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert any(f"already acknowledged by {OWNER}" in toast for toast in toasts)
        for toast in app.screen.query(Toast):
            await pilot.click(toast)
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


async def test_approvals_show_patch_titles_ids_and_reasons_literally(database: Database) -> None:
    """The approvals screen: a patch title, id and client name full of markup and escapes
    are shown as text in the table, the panel below it and the forms; the block list's
    reason and author too."""
    title = "[@click=app.quit]Cumulative[/] \x1b[2J [link=https://evil.example]KB[/link]"
    seeded = seed_fleet(database)
    with database.session() as session:
        client = session.get(Client, seeded.client_id)
        assert client is not None
        client.name = CLIENT_NAME
        patch = session.get(Patch, seeded.patches["KB5044281"])
        assert patch is not None
        patch.vendor_id = PATCH_ID
        patch.title = title
        for device_id in seeded.devices.values():
            session.add(
                DevicePatch(
                    device_id=device_id,
                    patch_id=patch.id,
                    state=MissingPatchState.MISSING,
                    detected_at=NOW - timedelta(days=1),
                    updated_at=NOW,
                )
            )
        device = session.get(Device, seeded.devices["FRONTDESK"])
        assert device is not None
        device.hostname = ESCAPE_HOST
    with database.writer() as session:
        add_to_blocklist(session, "KB-OTHER", NOTE, OWNER, now=NOW)
    app = PatchdeskApp(services(database))
    app.animation_level = "none"
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await settle_approvals(pilot)
        screen = app.screen
        assert isinstance(screen, ApprovalsScreen)
        assert [line.patch_id for line in screen.shown] == [PATCH_ID]
        table_line = screen.query_one("#approvals-table").render_line(1).text
        no_control(table_line)
        assert PATCH_ID in table_line
        assert "[@click=app.quit]Cumulative[/]" in table_line
        current = str(screen.query_one("#approvals-current", Static).render())
        no_control(current)
        assert CLIENT_NAME in current
        assert "[@click=app.quit]Cumulative[/] [2J [link=https://evil.example]KB[/link]" in (
            current
        )
        assert "EVIL[2J]0;pwned" in current  # the hostname, escapes gone
        await pilot.click("#approvals-table", offset=(30, 1))
        await pilot.click("#approvals-current", offset=(10, 1))
        await pilot.pause()
        assert app.is_running

        await pilot.press("E")
        await settle_approvals(pilot)
        assert isinstance(app.screen, EmergencyForm)
        header = str(app.screen.query_one(".form-header", Static).render())
        no_control(header)
        assert PATCH_ID in header
        assert CLIENT_NAME in header
        assert "[@click=app.quit]Cumulative[/] [2J" in header
        devices = app.screen.query_one("#devices").render_line(2).text
        no_control(devices)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ApprovalForm)

        await pilot.press("g")
        await settle_approvals(pilot)
        panel = str(screen.query_one("#approvals-current", Static).render())
        no_control(panel)
        assert f"blocked by {OWNER}" in panel
        assert "[@click=app.quit]click me[/] [2J wiped?" in panel
        await pilot.click("#approvals-current", offset=(12, 0))
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


async def test_the_device_screen_shows_untrusted_text_literally(database: Database) -> None:
    from patchdesk.screens.device_detail import DeviceDetailScreen
    from patchdesk.screens.device_lookup import DevicePickScreen, open_device
    from patchdesk.store.device_ops import set_maintenance_mode
    from tests.screens.test_device_detail import DeviceApp, settle_device

    ids = seed(database)
    with database.session() as session:
        device = session.scalars(select(Device).where(Device.hostname == MARKUP_HOST)).one()
        device.tags = ["[b]pilot[/b]", "\x1b[31mred"]
        device.os_name = "[@click=app.quit]Windows"
        device_id = device.id
    set_maintenance_mode(database, device_id, "alice", True, now=NOW, note=NOTE)
    app = DeviceApp(database)
    async with app.run_test(size=(160, 60), notifications=True) as pilot:
        open_device(app, MARKUP_HOST)
        await settle_device(pilot)
        screen = app.screen
        assert isinstance(screen, DeviceDetailScreen)
        texts = {
            name: str(screen.query_one(f"#device-{name}", Static).render())
            for name in ("facts", "exceptions", "targets", "log")
        }
        header = screen.query_one("#device-header")
        texts["header"] = "".join(header.render_line(y).text for y in range(header.size.height))
        for text in texts.values():
            no_control(text)
        assert MARKUP_HOST in texts["header"]
        facts = texts["facts"]
        for literal in (MARKUP_HOST, CLIENT_NAME, "[b]pilot[/b], [31mred", "[@click=app.quit]"):
            assert literal in facts, literal
        exceptions = texts["exceptions"]
        assert f"#{ids['markup']} install" in exceptions
        assert PATCH_ID in exceptions
        assert RMM_ERROR.replace("\x1b", "") in exceptions
        assert "[@click=app.quit]click me[/] [2J wiped?" in exceptions
        assert "rmm said: [blink]fail[/] [5m" in exceptions
        assert "[@click=app.quit]click me[/] [2J wiped?" in texts["log"]
        # Clicking the text (the facts, the exceptions, the log) runs nothing.
        for name in ("facts", "exceptions", "log"):
            await pilot.click(f"#device-{name}", offset=(14, 0))
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None
        await pilot.press("escape")
        await pilot.pause()

        # A hostname that needs the pick list shows literally in it too.
        open_device(app, "[")
        await settle_device(pilot)
        assert isinstance(app.screen, DevicePickScreen)
        listed = [str(option.prompt) for option in app.screen.query_one(OptionList).options]
        assert any(MARKUP_HOST in line for line in listed)
        assert any(CLICK_HOST in line for line in listed)
        await pilot.press("escape")
        await pilot.pause()

        # The other hostile hostnames, each on its own screen.
        for host, shown in ((CLICK_HOST, CLICK_HOST), (ESCAPE_HOST, "EVIL[2J]0;pwned")):
            open_device(app, host)
            await settle_device(pilot)
            screen = app.screen
            assert isinstance(screen, DeviceDetailScreen)
            facts = str(screen.query_one("#device-facts", Static).render())
            no_control(facts)
            assert f"hostname    {shown}" in facts
            await pilot.click("#device-facts", offset=(14, 0))
            await pilot.press("escape")
            await pilot.pause()
        assert app.is_running
        assert app.return_code is None


SPOOF_HOST = "srv\u202egpj.exe"  # reads "srvexe.jpg" where bidi is honoured
SPOOF_TITLE = "Security\u200b Update\u2066 for\u00ad Windows"
SPOOF_NOTE = "called\u2028the\ufeff user\u200e"


async def test_bidi_and_zero_width_characters_are_shown_as_code_points(
    database: Database,
) -> None:
    """A hostname with U+202E (and a title, summary and notes with zero-width and bidi
    characters) shows as ``srv<U+202E>gpj.exe`` on the queue, the exception summary, the
    handover panel and the device page: never raw."""
    from patchdesk.screens.device_detail import DeviceDetailScreen
    from patchdesk.screens.device_lookup import open_device
    from tests.screens.test_device_detail import DeviceApp, settle_device

    seeded = seed_fleet(database)
    with database.session() as session:
        device = session.get(Device, seeded.devices["DC01"])
        assert device is not None
        device.hostname = SPOOF_HOST
        patch = session.get(Patch, seeded.patches["KB5044281"])
        assert patch is not None
        patch.title = SPOOF_TITLE
    eid = add_exception(
        database,
        seeded.devices["DC01"],
        FailureClass.INSTALL,
        patch_ids=[seeded.patches["KB5044281"]],
        summary="error\u202e 0x80070005",
    )
    ops.log_remediation(database, eid, "alice", "free_disk", now=NOW, note=SPOOF_NOTE)
    add_handover_note(database, "alice", SPOOF_NOTE, now=NOW - timedelta(minutes=1))

    app = QueueApp(services(database))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        table = queue_screen(app).query_one(QueueTable)
        line = table.render_line(1).text
        no_control(line)
        assert "srv<U+202E>gpj.exe" in line
        current = str(app.screen.query_one("#queue-current", Static).render())
        no_control(current)
        assert "srv<U+202E>gpj.exe" in current
        assert "error<U+202E> 0x80070005" in current
        panel = str(app.screen.query_one(HandoverPanel).render())
        no_control(panel)
        assert "called<U+2028>the<U+FEFF> user<U+200E>" in panel

        await pilot.press("home", "i")
        await settle(pilot)
        assert isinstance(app.screen, ExceptionDetailScreen)
        detail = str(app.screen.query_one("#detail-text", Static).render())
        no_control(detail)
        for shown in (
            "srv<U+202E>gpj.exe",
            "Security<U+200B> Update<U+2066> for<U+00AD> Windows",
            "called<U+2028>the<U+FEFF> user<U+200E>",
        ):
            assert shown in detail, shown

    app = DeviceApp(database)
    async with app.run_test(size=(160, 60)) as pilot:
        open_device(app, SPOOF_HOST)
        await settle_device(pilot)
        screen = app.screen
        assert isinstance(screen, DeviceDetailScreen)
        header = screen.query_one("#device-header")
        texts = {
            "header": "".join(header.render_line(y).text for y in range(header.size.height)),
            **{
                name: str(screen.query_one(f"#device-{name}", Static).render())
                for name in ("facts", "exceptions")
            },
        }
        for text in texts.values():
            no_control(text)
        assert "srv<U+202E>gpj.exe" in texts["header"]
        assert "hostname    srv<U+202E>gpj.exe" in texts["facts"]
        assert "error<U+202E> 0x80070005" in texts["exceptions"]
        assert "called<U+2028>the<U+FEFF> user<U+200E>" in texts["exceptions"]
