"""The approvals screen (mode ``4``), by keys only: approve, block with a reason (this client
or every client), defer until a date, emergency deploy; the global block list's add and
remove. Each decision is written through the store as ``alice`` at the app's clock and
audited; bad input is refused naming the field, writing nothing. End to end through the
engine on the simulator: an emergency deploys outside any window to the devices chosen, and
a block made before the later ring's window keeps the patch from that ring."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.widgets._toast import Toast

from patchdesk.app import PatchdeskApp
from patchdesk.domain import ApprovalDecisionKind, TargetState
from patchdesk.rules.approval import StateFilter
from patchdesk.screens import approval_forms
from patchdesk.screens import approvals as approvals_screen
from patchdesk.screens.approval_forms import ApprovalForm, BlockForm, EmergencyForm
from patchdesk.screens.approvals import PROGRESS_SECONDS, ApprovalsScreen
from patchdesk.screens.command_grammar import Command
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store.approval_ops import DecisionRequest, record_decision
from patchdesk.store.db import Database
from patchdesk.store.models import (
    ApprovalDecision,
    BlockedPatch,
    Device,
    Event,
    Patch,
    RemediationRecord,
    Target,
)
from patchdesk.store.remediation_log import verify_chain
from tests import factories
from tests.screens.approvals_world import BROAD, CLIENT, MORNING, PILOT, SimWorld
from tests.screens.conftest import OPERATOR
from tests.screens.queue_fixtures import burst, until

KB = "KB5112300"  # a cumulative update all four devices miss
MSRT = "KB890830 v5.154"  # the malicious software removal tool, also on all four


@pytest.fixture
def world(approvals_world: SimWorld) -> SimWorld:
    return approvals_world


def make_app(world: SimWorld, *, readonly: bool = False) -> PatchdeskApp:
    return factories.app(factories.services(world.db, clock=world.clock, readonly=readonly))


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the screen's reads and writes are done and their messages handled."""
    app = pilot.app
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, ApprovalsScreen):
            if screen.read is not None and not screen.workers_busy():
                return
        elif not any(w.is_running for w in app.workers):
            return
    raise AssertionError("the approvals screen did not settle")


async def open_approvals(pilot: Pilot[None]) -> ApprovalsScreen:
    await pilot.pause()
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ApprovalsScreen), screen
    return screen


async def select_patch(pilot: Pilot[None], patch_id: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ApprovalsScreen)
    index = [line.patch_id for line in screen.shown].index(patch_id)
    await pilot.press("ctrl+home", *(["down"] * index))
    current = screen.current_line()
    assert current is not None
    assert current.patch_id == patch_id


def form(app: PatchdeskApp) -> ApprovalForm:
    assert isinstance(app.screen, ApprovalForm), app.screen
    return app.screen


def form_error(app: PatchdeskApp) -> str:
    return str(form(app).query_one("#form-error", Static).render())


def decisions(db: Database) -> list[ApprovalDecision]:
    with db.session() as session:
        return list(session.scalars(select(ApprovalDecision).order_by(ApprovalDecision.id)))


def log(db: Database) -> list[tuple[str, str, str, datetime, str]]:
    """(action, actor, operator, at, note) of the remediation log's technician records."""
    with db.session() as session:
        rows = session.execute(
            select(
                RemediationRecord.action,
                RemediationRecord.actor,
                RemediationRecord.operator,
                RemediationRecord.at,
                RemediationRecord.note,
            )
            .where(RemediationRecord.actor == OPERATOR)
            .order_by(RemediationRecord.seq)
        ).all()
        assert verify_chain(session).ok
    return [(a, actor, op, at.astimezone(UTC), note) for a, actor, op, at, note in rows]


def written(db: Database) -> tuple[int, int, int, int]:
    """Decisions, block-list entries, events and log records: nothing else may change."""
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(ApprovalDecision)) or 0,
            session.scalar(select(func.count()).select_from(BlockedPatch)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
            session.scalar(select(func.count()).select_from(RemediationRecord)) or 0,
        )


# --- the list -------------------------------------------------------------------------------


async def test_key_4_lists_the_patches_awaiting_approval(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_approvals(pilot)
        assert app.current_mode == "approvals"
        patches = [line.patch_id for line in screen.shown]
        assert len(patches) == 9
        assert {KB, MSRT} <= set(patches)
        table = screen.query_one("#approvals-table", DataTable)
        assert table.row_count == 9
        first = table.get_row_at(0)
        assert str(first[0]) == CLIENT  # the client on its first line only
        assert str(table.get_row_at(1)[0]) == ""
        bar = str(screen.query_one("#approvals-filters", Static).render())
        assert bar.startswith("9 lines awaiting approval")
        await select_patch(pilot, KB)
        current = str(screen.query_one("#approvals-current", Static).render())
        assert "acme (Acme Dental) · America/New_York · KB5112300 · critical security" in current
        assert 'pending_manual: waits for a technician (rule 1 "Everything by hand"' in current
        assert "4 devices: ACME-PILOT1, ACME-PILOT2, ACME-WS1, ACME-WS2" in current
        header = screen.query_one(ClockHeader)
        status = (
            "operator alice  ·  9 patches awaiting approval in 1 client  ·  global block list 0"
        )
        assert header._status.plain == status
        # S shows the other states (the header keeps counting those awaiting approval);
        # C narrows to a client; esc clears.
        await pilot.press("S", "S")
        await settle(pilot)
        assert (screen.view.state, screen.shown) == (StateFilter.APPROVED, [])
        assert header._status.plain == status
        await pilot.press("S", "S", "S")  # ... deferred, blocked, all
        await settle(pilot)
        assert screen.view.state is None
        assert len(screen.shown) == 9
        await pilot.press("C")
        assert screen.view.client == CLIENT
        await pilot.press("escape")
        await settle(pilot)
        assert (screen.view.state, screen.view.client) == (StateFilter.PENDING, None)
        assert app.current_mode == "approvals"
        await pilot.press("escape")  # nothing left to clear: back to the board
        await pilot.pause()
        assert app.current_mode == "board"


async def test_colon_approvals_opens_the_screen(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "approvals" in app.command_names()
        await pilot.press("colon", *"approvals", "enter")
        await settle(pilot)
        assert app.current_mode == "approvals"
        assert isinstance(app.screen, ApprovalsScreen)


# --- decisions ------------------------------------------------------------------------------


async def test_approve_is_recorded_audited_and_leaves_the_list(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        await select_patch(pilot, KB)
        await pilot.press("a")
        await pilot.pause()
        header = str(form(app).query_one(".form-header", Static).render())
        assert header.startswith("Approve KB5112300 for acme (Acme Dental)")
        await pilot.press(*"tested on two PCs", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        assert KB not in [line.patch_id for line in screen.shown]
    [decision] = decisions(world.db)
    assert (decision.decision, decision.operator, decision.reason, decision.client_id) == (
        ApprovalDecisionKind.APPROVE,
        OPERATOR,
        "tested on two PCs",
        CLIENT,
    )
    assert decision.decided_at.astimezone(UTC) == MORNING
    assert log(world.db) == [
        ("approval.approve", OPERATOR, OPERATOR, MORNING, f"approved {KB}: tested on two PCs")
    ]


async def test_block_needs_a_reason_and_can_be_global(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_approvals(pilot)
        await select_patch(pilot, KB)
        before = written(world.db)
        await pilot.press("b", "ctrl+s")
        await pilot.pause()
        assert "Reason: required: say why, for the log" in form_error(app)
        await pilot.press(*"   ", "ctrl+s")
        await pilot.pause()
        assert "Reason: required" in form_error(app)
        assert written(world.db) == before
        await pilot.press(*"breaks the imaging bridge", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        # The other patch, for every client: the global block list.
        await select_patch(pilot, MSRT)
        await pilot.press("b", "shift+tab", "down", "enter", "tab")  # scope: every client
        await pilot.press(*"MSRT hangs on boot", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
    [decision] = decisions(world.db)
    assert (decision.decision, decision.reason) == (
        ApprovalDecisionKind.BLOCK,
        "   breaks the imaging bridge".strip(),
    )
    with world.db.session() as session:
        entry = session.scalars(select(BlockedPatch)).one()
    assert (entry.patch_vendor_id, entry.reason, entry.blocked_by) == (
        MSRT,
        "MSRT hangs on boot",
        OPERATOR,
    )
    assert [(action, note) for action, _, _, _, note in log(world.db)] == [
        ("approval.block", f"blocked {KB}: breaks the imaging bridge"),
        ("blocklist.add", f"added {MSRT} to the global block list: MSRT hangs on boot"),
    ]


async def test_defer_takes_a_future_date_in_the_clients_zone(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_approvals(pilot)
        await select_patch(pilot, KB)
        await pilot.press("d")
        await pilot.pause()
        label = " ".join(str(s.render()) for s in form(app).query(".label"))
        assert "from 00:00 client time (America/New_York, EST)" in label
        before = written(world.db)
        for typed, problem in (
            ("", "Until: required: the date the patch may go (YYYY-MM-DD)"),
            ("2026-13-01", "Until: '2026-13-01' is not a date: month must be in 1..12"),
            ("soon", "Until: 'soon' is not a date or an ISO time"),
            ("2026-11-26", "Until: 2026-11-26 00:00 EST (America/New_York) is not in the future"),
        ):
            form(app).query_one("#until").value = typed  # type: ignore[attr-defined]
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert problem in form_error(app), form_error(app)
        assert written(world.db) == before
        form(app).query_one("#until").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"2026-12-04", "tab", *"vendor re-release due", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
    [decision] = decisions(world.db)
    assert decision.decision is ApprovalDecisionKind.DEFER
    assert decision.until is not None
    assert decision.until.astimezone(UTC) == datetime(2026, 12, 4, 5, tzinfo=UTC)  # NY midnight
    [(action, actor, _, at, note)] = log(world.db)
    assert (action, actor, at) == ("approval.defer", OPERATOR, MORNING)
    assert note == f"deferred {KB} until 2026-12-04T05:00:00+00:00: vendor re-release due"


async def test_escape_asks_before_losing_what_was_typed(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_approvals(pilot)
        await pilot.press("b", "escape")  # nothing typed: closes at once
        await pilot.pause()
        assert isinstance(app.screen, ApprovalsScreen)
        await pilot.press("b", *"half a reason", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await pilot.pause()
        assert form(app).value("reason") == "half a reason"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, ApprovalsScreen)
    assert decisions(world.db) == []


async def test_read_only_refuses_every_decision(world: SimWorld) -> None:
    app = make_app(world, readonly=True)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_approvals(pilot)
        before = written(world.db)
        for key in ("a", "b", "d", "E"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ApprovalsScreen), key
        await pilot.press("g", "n")
        await pilot.pause()
        assert isinstance(app.screen, ApprovalsScreen)
    assert written(world.db) == before


# --- end to end through the engine ----------------------------------------------------------


async def test_emergency_deploy_runs_outside_any_window_on_the_chosen_devices(
    world: SimWorld,
) -> None:
    assert not world.window_open_at(MORNING)
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_approvals(pilot)
        await select_patch(pilot, KB)
        await pilot.press("E")
        await settle(pilot)
        emergency = app.screen
        assert isinstance(emergency, EmergencyForm)
        assert emergency.chosen == ["ACME-PILOT1", "ACME-PILOT2", "ACME-WS1", "ACME-WS2"]
        before = written(world.db)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Reason: required for an emergency" in form_error(app)
        await pilot.press(*"exploited in the wild", "tab", "ctrl+a")  # all → none
        assert emergency.chosen == []
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Devices: choose at least one" in form_error(app)
        await pilot.press("ctrl+a")  # none → all
        assert len(emergency.chosen) == 4
        # The devices: leave out the second pilot PC and the second workstation.
        await pilot.press("down", "space", "down", "down")
        await pilot.press("space")
        assert emergency.chosen == ["ACME-PILOT1", "ACME-WS1"]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)  # asked first
        question = str(app.screen.query_one(Static).render())
        assert "Deploy KB5112300 now to 2 devices of acme, outside maintenance windows?" in (
            question
        )
        assert written(world.db) == before
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
    [decision] = decisions(world.db)
    assert (decision.decision, decision.reason, decision.operator) == (
        ApprovalDecisionKind.EMERGENCY,
        "exploited in the wild",
        OPERATOR,
    )
    with world.db.session() as session:
        chosen = session.scalars(
            select(Device.hostname).where(Device.id.in_(decision.device_ids))
        ).all()
    assert sorted(chosen) == ["ACME-PILOT1", "ACME-WS1"]
    [(action, _, _, at, note)] = log(world.db)
    assert (action, at) == ("approval.emergency", MORNING)
    assert note == f"emergency approval of {KB} for ACME-PILOT1, ACME-WS1: exploited in the wild"

    # The engine, at its next steps: one emergency deployment, outside every window.
    world.run_until(MORNING + timedelta(hours=2))
    [_first_window, deployment] = world.deployments()
    assert deployment.emergency
    assert deployment.window_id is None
    assert deployment.approval_decision_id == decision.id
    assert deployment.occurrence_start.astimezone(UTC) == MORNING
    assert not world.window_open_at(deployment.occurrence_start.astimezone(UTC))
    with world.db.session() as session:
        states = dict(
            session.execute(
                select(Device.hostname, Target.state)
                .join(Target, Target.device_id == Device.id)
                .where(Target.deployment_id == deployment.id)
            ).all()
        )
    assert states == {"ACME-PILOT1": TargetState.VERIFIED, "ACME-WS1": TargetState.VERIFIED}
    assert world.installs() == {"ACME-PILOT1": 1, "ACME-PILOT2": 0, "ACME-WS1": 1, "ACME-WS2": 0}
    with world.db.session() as session:
        assert session.scalar(select(Patch.vendor_id).where(Patch.id == decision.patch_id)) == KB


async def test_a_block_before_the_later_rings_window_keeps_the_patch_from_it(
    world: SimWorld,
) -> None:
    """Both cumulative patches approved; the pilot ring gets them in Friday's window; then
    one is blocked; in Saturday's window the broad ring gets the other one only."""
    friday = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 02:00 in New York
    saturday = friday + timedelta(days=1)
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        for patch_id in (KB, MSRT):
            await select_patch(pilot, patch_id)
            await pilot.press("a", "ctrl+s")
            await settle(pilot)

        world.run_until(friday + timedelta(hours=3))  # the pilot ring's window, and its soak
        assert {h: world.targeted()[h] & {KB, MSRT} for h in (*PILOT, *BROAD)} == {
            "ACME-PILOT1": {KB, MSRT},
            "ACME-PILOT2": {KB, MSRT},
            "ACME-WS1": set(),
            "ACME-WS2": set(),
        }
        # The broad ring may go next: S to "approved" shows it (soaked, 100 % success).
        await pilot.press("S", "S")
        screen._read_now()
        await settle(pilot)
        broad = [
            line for line in screen.shown if line.patch_id in (KB, MSRT) and line.ring == "broad"
        ]
        assert {line.patch_id for line in broad} == {KB, MSRT}
        assert all(line.hostnames == BROAD for line in broad)

        await select_patch(pilot, KB)
        await pilot.press("b", *"pilot PCs lost the scanner driver", "ctrl+s")
        await settle(pilot)
        assert KB not in {line.patch_id for line in screen.shown}  # no longer approved

    world.run_until(saturday + timedelta(hours=3))
    targeted = world.targeted()
    assert MSRT in targeted["ACME-WS1"]
    assert MSRT in targeted["ACME-WS2"]
    assert KB not in targeted["ACME-WS1"]
    assert KB not in targeted["ACME-WS2"]
    kinds = [d.decision for d in decisions(world.db)]
    assert kinds == [
        ApprovalDecisionKind.APPROVE,
        ApprovalDecisionKind.APPROVE,
        ApprovalDecisionKind.BLOCK,
    ]
    assert [action for action, *_ in log(world.db)] == [
        "approval.approve",
        "approval.approve",
        "approval.block",
    ]


# --- the global block list ------------------------------------------------------------------


async def test_global_block_list_add_and_remove(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        await pilot.press("a")  # not here: a decides approvals, not on the block list
        await pilot.pause()
        assert isinstance(app.screen, ApprovalForm)
        await pilot.press("escape")
        await pilot.press("g")
        await settle(pilot)
        assert screen.view.blocklist
        current = str(screen.query_one("#approvals-current", Static).render())
        assert "the global block list is empty: n adds a patch" in current
        await pilot.press("a", "b", "d", "E")  # approval keys do nothing here
        await pilot.pause()
        assert isinstance(app.screen, ApprovalsScreen)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Patch: required" in form_error(app)
        assert "Reason: required" in form_error(app)
        await pilot.press(*"KB-A", "tab", *"first", "ctrl+s")
        await settle(pilot)
        await pilot.press("n", *KB.lower(), "tab", *"boot loop on Dell 7420", "ctrl+s")
        await settle(pilot)
        assert [line.patch_id for line in screen.shown_blocks] == ["KB-A", KB]
        current_block = screen.current_block()
        assert current_block is not None
        assert current_block.patch_id == KB  # the cursor is on the entry just added
        assert "2026-11 Cumulative Update for Windows 11" in str(
            screen.query_one("#approvals-current", Static).render()
        )
        # ... blocked for every client now: in the approvals, it says so
        with world.db.session() as session:
            assert session.scalars(select(BlockedPatch.blocked_by)).all() == [OPERATOR, OPERATOR]
        await pilot.press("n", *KB, "tab", *"again", "ctrl+s")
        await settle(pilot)
        assert f"Patch: {KB} is already on the global block list" in form_error(app)
        await pilot.press("escape", "y")
        await pilot.pause()
        await pilot.press("x", "ctrl+s")
        await pilot.pause()
        assert "Reason: required" in form_error(app)
        await pilot.press(*"Dell fixed the BIOS", "ctrl+s")
        await settle(pilot)
        assert [line.patch_id for line in screen.shown_blocks] == ["KB-A"]
        await pilot.press("g")
        await settle(pilot)
        assert not screen.view.blocklist
        assert KB in [line.patch_id for line in screen.shown]
    assert [(action, note.split(":")[0]) for action, _, _, _, note in log(world.db)] == [
        ("blocklist.add", "added KB-A to the global block list"),
        ("blocklist.add", f"added {KB} to the global block list"),
        ("blocklist.remove", f"removed {KB} from the global block list"),
    ]
    with world.db.session() as session:
        assert session.scalars(select(BlockedPatch.patch_vendor_id)).all() == ["KB-A"]


# --- live -----------------------------------------------------------------------------------


async def test_decisions_made_elsewhere_show_at_the_next_poll_progress_at_most_every_15s(
    world: SimWorld,
) -> None:
    """Another technician's decision (the CLI, another terminal) is read at the next poll;
    the engine's progress alone waits until the last read is 15 s old."""
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_approvals(pilot)
        assert KB in [line.patch_id for line in screen.shown]
        with world.db.writer() as session:
            record_decision(
                session,
                DecisionRequest(CLIENT, KB, ApprovalDecisionKind.BLOCK, "bob", "from the CLI"),
                now=MORNING,
            )
        screen._read_now(force=False)  # what the poll timer does
        await settle(pilot)
        assert KB not in [line.patch_id for line in screen.shown]

        # Engine progress only: an emergency deployment's targets. Not read while recent ...
        with world.db.writer() as session:
            record_decision(
                session,
                DecisionRequest(
                    CLIENT, MSRT, ApprovalDecisionKind.EMERGENCY, "bob", "now", None, ("ACME-WS1",)
                ),
                now=MORNING,
            )
        screen._read_now(force=False)
        await settle(pilot)
        msrt = next(line for line in screen.shown if line.patch_id == MSRT)
        assert "ACME-WS1" not in msrt.hostnames  # the decision itself is read at once
        world.clock.now += timedelta(minutes=1)
        world.engine.step(world.clock.now)  # opens the emergency deployment: progress only
        read_before = screen.read
        screen._read_at = time.monotonic()  # (the last read was just now, however slow CI is)
        screen._read_now(force=False)
        await settle(pilot)
        assert screen.read is read_before
        assert screen._progress_pending
        screen._read_at -= PROGRESS_SECONDS  # ... and once the last read is old enough
        screen._read_now(force=False)
        await settle(pilot)
        assert screen.read is not read_before
        assert not screen._progress_pending


async def test_slash_filters_by_text_once_typing_pauses(world: SimWorld) -> None:
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_approvals(pilot)
        assert len(screen.shown) == 9
        await pilot.press("slash", *KB.lower())
        assert screen.view.search == ""  # not yet: the filter waits for a pause
        await pilot.pause(0.5)
        await settle(pilot)
        assert screen.view.search == KB.lower()
        assert [line.patch_id for line in screen.shown] == [KB]
        await pilot.press("escape")
        await settle(pilot)
        assert screen.view.search == ""
        assert len(screen.shown) == 9


# --- the forms: focus, typing, staying in front ---------------------------------------------


def focused_id(app: PatchdeskApp) -> str | None:
    return None if app.focused is None else app.focused.id


async def test_forms_open_on_the_field_to_fill_and_tab_then_typing_reaches_the_reason(
    world: SimWorld,
) -> None:
    """b opens on the reason (the scope has its default), d on the date, E on the reason,
    the block list's n on the patch. "tab, type the reason" in one burst: the text is the
    reason's, wherever tab went (the block form's scope takes no letters)."""
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_approvals(pilot)
        await select_patch(pilot, KB)
        for key, first in (("b", "reason"), ("d", "until"), ("E", "reason")):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ApprovalForm), key
            assert focused_id(app) == first, key
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("g", "n")
        await settle(pilot)
        assert focused_id(app) == "patch"
        await pilot.press("escape", "g")
        await settle(pilot)

        await pilot.press("b")
        await settle(pilot)
        reason = "KB5112300 breaks 2 label printers (case 4711)"
        await pilot.press("tab")
        assert focused_id(app) == "scope"
        await pilot.press(*reason)  # typing at the scope: the reason's, and focus goes there
        assert focused_id(app) == "reason"
        assert form(app).value("reason") == reason
        assert isinstance(app.screen, BlockForm)
        await pilot.press("ctrl+a", "ctrl+k")  # (the reason's own keys: to the start, cut)
        burst(app, "tab", *reason)  # the same in one burst
        await until(pilot, lambda: form(app).value("reason") == reason, "the whole reason")
        assert isinstance(app.screen, BlockForm)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        await select_patch(pilot, MSRT)
        await pilot.press("d")
        await settle(pilot)
        burst(app, *"2026-12-04", "tab", *"vendor re-release 2", "ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    assert [(d.decision, d.reason) for d in decisions(world.db)] == [
        (ApprovalDecisionKind.BLOCK, reason),
        (ApprovalDecisionKind.DEFER, "vendor re-release 2"),
    ]


async def test_a_form_stays_in_front_while_reads_finish_under_it(
    world: SimWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen under load (before keys waited for E's form): E (its devices read slowly), b
    meanwhile, ctrl+s with no reason (an error), then the devices read finished and the
    emergency form covered the block form, taking the keys typed for it. Now the block form
    stays in front through that result and a refresh of the list, and keeps every key; the
    emergency form is not opened, saying why."""
    held = threading.Event()
    read_devices = approvals_screen.devices_needing

    def slow_devices(*args: Any, **kwargs: Any) -> Any:
        held.wait(timeout=60)
        return read_devices(*args, **kwargs)

    monkeypatch.setattr(approvals_screen, "devices_needing", slow_devices)
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        try:
            screen = await open_approvals(pilot)
            await select_patch(pilot, KB)
            # The devices are read in a worker ... (started here, not by the key `E`: keys
            # after `E` wait for its form, so `b` would go to the emergency form)
            screen.action_emergency()
            await pilot.press("b")  # ... the block form opens meanwhile
            await until(pilot, lambda: isinstance(app.screen, BlockForm), "the block form")
            block = app.screen
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Reason: required" in form_error(app), "the error")
        finally:
            held.set()
        await settle(pilot)  # the devices read finished: its result arrived
        screen._read_now()  # and the list's refresh
        await settle(pilot)
        assert app.screen is block
        assert any(
            "the emergency form not opened: a form is open" in str(toast.render())
            for toast in app.screen.query(Toast)
        )
        reason = "breaks the 3 imaging bridges"
        burst(app, *reason)
        await until(pilot, lambda: form(app).value("reason") == reason, "every key")
        assert app.screen is block
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    [decision] = decisions(world.db)
    assert (decision.decision, decision.reason) == (ApprovalDecisionKind.BLOCK, reason)


async def test_a_saving_form_leaves_from_the_top_once_saved(
    world: SimWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """esc while the save runs does not put a question over the form (whose result would
    then close the question and leave the form up, saved, stuck "saving"): it says the save
    runs; the saved form then closes, back to the list."""
    held = threading.Event()
    decide = approval_forms.record_decision

    def slow_decision(*args: Any, **kwargs: Any) -> Any:
        held.wait(timeout=60)
        return decide(*args, **kwargs)

    monkeypatch.setattr(approval_forms, "record_decision", slow_decision)
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        try:
            screen = await open_approvals(pilot)
            await select_patch(pilot, KB)
            await pilot.press("b", *"breaks the imaging bridge", "ctrl+s")
            await until(pilot, lambda: "saving" in form_error(app), "saving")
            await pilot.press("escape")
            assert isinstance(app.screen, BlockForm)
            await until(pilot, lambda: "esc cannot stop it" in form_error(app), "told")
        finally:
            held.set()
        await settle(pilot)
        assert app.screen is screen
    [decision] = decisions(world.db)
    assert decision.reason == "breaks the imaging bridge"


async def test_no_mode_or_page_opens_over_a_form(world: SimWorld) -> None:
    """The palette opens over a form; what it runs (a mode, a page) would hide the form
    while it still takes keys: refused, saying why."""
    app = make_app(world)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await open_approvals(pilot)
        await pilot.press("b", *"half")
        await settle(pilot)
        block = app.screen
        app.run_command(Command("board"))
        app.run_command(Command("device", "ACME-WS1"))
        await settle(pilot)
        assert (app.current_mode, app.screen) == ("approvals", block)
        assert any(
            "a form is open: save it (ctrl+s) or cancel it (esc) first" in str(toast.render())
            for toast in app.screen.query(Toast)
        )
        assert form(app).value("reason") == "half"
