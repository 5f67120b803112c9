"""Per-device patch exclusions and scheduled reboots in the store, on every backend: the
remediation that asks for them (validated, with its engine command), the exclusion the
engine writes, lifting it (logged), and what reads them (approvals, compliance)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from patchdesk.domain import (
    FailureClass,
    MissingPatchState,
    RebootPolicy,
    RecurrenceKind,
    RequestKind,
    RequestState,
    Role,
    RuleAction,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.requests import run_requests
from patchdesk.engine.step import Step
from patchdesk.store import exception_ops as ops
from patchdesk.store import exclusions
from patchdesk.store.approval_inputs import load_client
from patchdesk.store.compliance_facts import compliance_facts
from patchdesk.store.db import Database
from patchdesk.store.models import (
    ApprovalRule,
    DevicePatch,
    Event,
    MaintenanceWindow,
    OperatorRequest,
    PatchExclusion,
    RemediationRecord,
)
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW
from tests.connectors.fakefleet import FakeFleet
from tests.exception_seed import Seeded, add_exception, counts, seed_fleet

# The seeded client is in New York: a 22:00-02:00 window is 03:00-07:00 UTC in November.
TONIGHT_23 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # Fri 27 Nov 23:00 EST


@pytest.fixture
def fleet(database: Database) -> Seeded:
    seeded = seed_fleet(database)
    with database.session() as session:
        for hostname in ("DC01", "FRONTDESK"):
            for vendor_id in ("KB5044281", "KB5044999"):
                session.add(
                    DevicePatch(
                        device_id=seeded.devices[hostname],
                        patch_id=seeded.patches[vendor_id],
                        state=MissingPatchState.MISSING,
                        detected_at=NOW - timedelta(days=3),
                        updated_at=NOW - timedelta(days=3),
                    )
                )
    return seeded


def add_window(
    database: Database,
    name: str,
    *,
    reboot: RebootPolicy = RebootPolicy.IF_REQUIRED,
    roles: tuple[Role, ...] = (),
) -> None:
    with database.session() as session:
        session.add(
            MaintenanceWindow(
                client_id="acme",
                name=name,
                applies_roles=[role.value for role in roles],
                recurrence=RecurrenceKind.WEEKLY,
                weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                start_time=time(22, 0),
                duration_minutes=240,
                reboot_policy=reboot,
                checkin_timeout_minutes=30,
                max_concurrent=5,
                updated_at=NOW,
            )
        )


def install_exception(database: Database, fleet: Seeded, *patches: str) -> int:
    return add_exception(
        database,
        fleet.devices["DC01"],
        FailureClass.INSTALL,
        patch_ids=[fleet.patches[p] for p in patches or ("KB5044281",)],
    )


def run_engine_commands(database: Database, now: datetime) -> None:
    with database.writer() as session:
        run_requests(Step(session, FakeFleet(lambda: now), now, EngineConfig(), StepCounts()))


def exclude(database: Database, fleet: Seeded, vendor_id: str = "KB5044281") -> int:
    """Exclude ``vendor_id`` on DC01 as the engine does it; the exclusion's id."""
    with database.writer() as session:
        row, made = exclusions.exclude(
            session,
            device_id=fleet.devices["DC01"],
            patch_id=fleet.patches[vendor_id],
            reason="breaks the EHR agent",
            operator="alice",
            now=NOW,
        )
        assert made
        return row.id


# --- asking for an exclusion ----------------------------------------------------------------


def test_exclude_patch_queues_its_command_and_the_engine_writes_the_exclusion(
    database: Database, fleet: Seeded
) -> None:
    exception_id = install_exception(database, fleet)
    result = ops.log_remediation(
        database, exception_id, "alice", "exclude_patch", now=NOW, note="breaks the EHR agent"
    )
    assert result.command_id is not None
    with database.session() as session:
        command = session.get_one(OperatorRequest, result.command_id)
        assert (command.kind, command.patch_id, command.args) == (
            RequestKind.EXCLUDE_PATCH,
            fleet.patches["KB5044281"],
            {"reason": "breaks the EHR agent"},
        )
        assert exclusions.list_exclusions(session) == ()  # not before the engine runs it
    run_engine_commands(database, NOW + timedelta(seconds=15))
    with database.session() as session:
        command = session.get_one(OperatorRequest, result.command_id)
        (view,) = exclusions.list_exclusions(session)
        records = session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
        assert verify_chain(session).ok
    assert command.state is RequestState.DONE
    assert (view.hostname, view.vendor_id, view.reason, view.excluded_by, view.exception_id) == (
        "DC01",
        "KB5044281",
        "breaks the EHR agent",
        "alice",
        exception_id,
    )
    assert [(r.actor, r.operator, r.action, r.outcome) for r in records] == [
        ("alice", "alice", "remediate:exclude_patch", "queued"),
        ("engine", "alice", "command.exclude_patch", "done"),
    ]
    # Asking again is refused: it is excluded already.
    with pytest.raises(ops.Conflict, match="KB5044281 is excluded on this device already"):
        ops.log_remediation(database, exception_id, "alice", "exclude_patch", now=NOW, note="again")


def test_exclude_patch_needs_a_reason_and_the_patch_when_there_are_several(
    database: Database, fleet: Seeded
) -> None:
    exception_id = install_exception(database, fleet, "KB5044281", "KB5044999")
    before = counts(database)
    with pytest.raises(ops.Refused, match="note: required for exclude_patch"):
        ops.log_remediation(
            database,
            exception_id,
            "alice",
            "exclude_patch",
            now=NOW,
            patch_id=fleet.patches["KB5044999"],
        )
    with pytest.raises(ops.Refused, match="has 2 patches: choose the one for exclude_patch"):
        ops.log_remediation(database, exception_id, "alice", "exclude_patch", now=NOW, note="x")
    with database.session() as session:  # one of them installed fine: excluding it is no use
        installed = session.scalars(
            select(DevicePatch).where(
                DevicePatch.device_id == fleet.devices["DC01"],
                DevicePatch.patch_id == fleet.patches["KB5044281"],
            )
        ).one()
        installed.state = MissingPatchState.INSTALLED
    with pytest.raises(ops.Refused, match="KB5044281 is installed on this device: nothing to"):
        ops.log_remediation(
            database,
            exception_id,
            "alice",
            "exclude_patch",
            now=NOW,
            note="x",
            patch_id=fleet.patches["KB5044281"],
        )
    assert counts(database) == before


def test_one_active_exclusion_per_device_and_patch(database: Database, fleet: Seeded) -> None:
    first = exclude(database, fleet)
    with database.writer() as session:  # the engine asked twice: the same one comes back
        row, made = exclusions.exclude(
            session,
            device_id=fleet.devices["DC01"],
            patch_id=fleet.patches["KB5044281"],
            reason="again",
            operator="bob",
            now=NOW,
        )
        assert (row.id, made) == (first, False)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            PatchExclusion(
                client_id="acme",
                device_id=fleet.devices["DC01"],
                patch_id=fleet.patches["KB5044281"],
                reason="a second active row",
                excluded_by="bob",
                excluded_at=NOW,
                lift_note="",
            )
        )
    exclusions.lift(database, first, "bob", now=NOW + timedelta(hours=1))
    exclude(database, fleet)  # lifted: it may be excluded again


# --- lifting --------------------------------------------------------------------------------


def test_lifting_is_logged_and_refused_twice(database: Database, fleet: Seeded) -> None:
    exclusion_id = exclude(database, fleet)
    later = NOW + timedelta(hours=2)
    result = exclusions.lift(database, exclusion_id, "bob", now=later, note="vendor fixed it")
    assert result.message == (
        "exclusion lifted: KB5044281 is targeted on DC01 again from its next window (when still "
        "approved and missing)"
    )
    with database.session() as session:
        record = session.scalars(
            select(RemediationRecord).order_by(RemediationRecord.seq.desc()).limit(1)
        ).one()
        event = session.scalars(select(Event).where(Event.kind == "exclusion.lifted")).one()
        (view,) = exclusions.list_exclusions(session, include_lifted=True)
        assert exclusions.list_exclusions(session) == ()
    assert (record.at, record.actor, record.action, record.outcome, record.note) == (
        later,
        "bob",
        "exclusion.lift",
        "KB5044281 targeted again",
        "vendor fixed it",
    )
    assert (record.device_id, record.exception_id) == (fleet.devices["DC01"], None)
    assert (event.entity, event.entity_id) == ("device", str(fleet.devices["DC01"]))
    assert (view.lifted_by, view.lifted_at, view.lift_note) == ("bob", later, "vendor fixed it")
    before = counts(database)
    with pytest.raises(ops.Refused, match="was lifted already, by bob"):
        exclusions.lift(database, exclusion_id, "carol", now=later)
    with pytest.raises(ops.Refused, match="no exclusion with id 999"):
        exclusions.lift(database, 999, "carol", now=later)
    assert counts(database) == before


# --- what reads them ------------------------------------------------------------------------


def test_an_excluded_device_does_not_need_the_patch_for_the_approvals(
    database: Database, fleet: Seeded
) -> None:
    exclude(database, fleet, "KB5044281")
    with database.session() as session:
        loaded = load_client(session, "acme")
    assert loaded is not None
    needing = {
        need.patch.vendor_id: sorted(d.hostname for d in need.devices) for need in loaded.needs
    }
    assert needing == {"KB5044281": ["FRONTDESK"], "KB5044999": ["DC01", "FRONTDESK"]}


def test_compliance_does_not_count_a_pair_excluded_at_the_instant(
    database: Database, fleet: Seeded
) -> None:
    with database.session() as session:  # every patch approved at once
        session.add(
            ApprovalRule(client_id="acme", position=1, name="all", match={}, action=RuleAction.AUTO)
        )
    exclusion_id = exclude(database, fleet, "KB5044281")
    lifted = NOW + timedelta(days=1)
    exclusions.lift(database, exclusion_id, "bob", now=lifted)
    dc01, patch = fleet.devices["DC01"], fleet.patches["KB5044281"]

    def due_at(at: datetime) -> dict[tuple[int, int], bool]:
        """(device, patch) -> approved (due) at ``at``, for the two patches of DC01 and
        FRONTDESK."""
        with database.session() as session:
            facts = compliance_facts(session, "acme", at)
        return {
            (device.device_id, pair.patch_id): pair.approved_from is not None
            for device in facts.devices
            for pair in device.pairs
        }

    while_excluded = due_at(NOW + timedelta(hours=1))
    assert while_excluded[(dc01, patch)] is False
    assert sum(while_excluded.values()) == 3  # the device's other patch, the other device's
    assert due_at(lifted - timedelta(seconds=1))[(dc01, patch)] is False
    assert due_at(lifted)[(dc01, patch)] is True
    with database.session() as session:
        assert exclusions.pairs_at(session, "acme", NOW - timedelta(seconds=1)) == frozenset()
        assert exclusions.pairs_at(session, "acme", NOW) == {(dc01, patch)}
        assert exclusions.pairs_at(session, "acme", lifted) == frozenset()


# --- scheduled reboots ----------------------------------------------------------------------


def reboot_exception(database: Database, fleet: Seeded) -> int:
    return add_exception(database, fleet.devices["DC01"], FailureClass.REBOOT)


def test_schedule_reboot_queues_a_command_that_waits_for_its_time(
    database: Database, fleet: Seeded
) -> None:
    add_window(database, "nightly")
    exception_id = reboot_exception(database, fleet)
    result = ops.log_remediation(
        database,
        exception_id,
        "alice",
        "schedule_reboot",
        now=NOW,
        reboot_at=TONIGHT_23,
        note="agreed with the office manager",
    )
    assert result.message == (
        f"exception {exception_id}: schedule_reboot logged (scheduled for 2026-11-28 04:00 UTC)"
        f"; command {result.command_id}: the engine reboots it then (yours now)"
    )
    with database.session() as session:
        command = session.get_one(OperatorRequest, result.command_id)
        record = session.scalars(
            select(RemediationRecord).order_by(RemediationRecord.seq.desc()).limit(1)
        ).one()
    assert (command.kind, command.state, command.not_before, command.args) == (
        RequestKind.SCHEDULE_REBOOT,
        RequestState.QUEUED,
        TONIGHT_23,
        {"at": "2026-11-28T04:00:00+00:00"},
    )
    assert (record.action, record.outcome, record.note) == (
        "remediate:schedule_reboot",
        "scheduled for 2026-11-28 04:00 UTC",
        "agreed with the office manager",
    )
    # The engine leaves it queued until its time.
    run_engine_commands(database, TONIGHT_23 - timedelta(minutes=1))
    with database.session() as session:
        assert session.get_one(OperatorRequest, result.command_id).state is RequestState.QUEUED


def test_schedule_reboot_only_inside_a_window_that_allows_a_reboot(
    database: Database, fleet: Seeded
) -> None:
    add_window(database, "no-reboots", reboot=RebootPolicy.NEVER)
    add_window(database, "workstations", roles=(Role.SHARED_WORKSTATION,))
    exception_id = reboot_exception(database, fleet)  # DC01, a server
    before = counts(database)
    with pytest.raises(ops.Refused, match="the device has no window that allows a reboot"):
        ops.log_remediation(
            database, exception_id, "alice", "schedule_reboot", now=NOW, reboot_at=TONIGHT_23
        )
    add_window(database, "servers", roles=(Role.SERVER,))
    noon = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # Sat 12:00 EST
    with pytest.raises(
        ops.Refused,
        match="reboot time: Sat 28 Nov 12:00 EST is outside the device's windows; the next "
        "one is servers Sat 28 Nov 22:00–02:00 EST",
    ):
        ops.log_remediation(
            database, exception_id, "alice", "schedule_reboot", now=NOW, reboot_at=noon
        )
    with pytest.raises(ops.Refused, match="a reboot time is only given for schedule_reboot"):
        ops.log_remediation(
            database, exception_id, "alice", "contact_user", now=NOW, reboot_at=TONIGHT_23
        )
    assert counts(database) == before
    ops.log_remediation(
        database, exception_id, "alice", "schedule_reboot", now=NOW, reboot_at=TONIGHT_23
    )
    with pytest.raises(ops.Conflict, match="schedule_reboot is already queued"):
        ops.log_remediation(
            database,
            exception_id,
            "alice",
            "schedule_reboot",
            now=NOW,
            reboot_at=TONIGHT_23 + timedelta(hours=1),
        )
