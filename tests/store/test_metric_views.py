"""Health metrics from the store (store.metric_views, store.compliance_facts) on a hand-built
client, on SQLite and PostgreSQL; every answer worked out by hand in the docstrings."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from fractions import Fraction

from patchdesk.domain import (
    ApprovalDecisionKind,
    DeploymentState,
    ExceptionState,
    FailureClass,
    MissingPatchState,
    RebootPolicy,
    RecurrenceKind,
    RuleAction,
    TargetState,
    Tier,
)
from patchdesk.rules.metrics import Cycle
from patchdesk.store import exception_ops as ops
from patchdesk.store.db import Database
from patchdesk.store.metric_views import metrics_summary
from patchdesk.store.models import (
    ApprovalDecision,
    ApprovalRule,
    Client,
    Deployment,
    DevicePatch,
    MaintenanceWindow,
    Target,
)
from patchdesk.store.report_views import cycle_report
from tests.conftest import NOW
from tests.exception_seed import Seeded, add_exception, seed_fleet

NOV = Cycle(2026, 11)
AFTER_WINDOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # the 28th's window ended 10:00 UTC
DURING_WINDOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def seed(database: Database) -> Seeded:
    """acme (New York): DC01, APP02, FRONTDESK, LAPTOP-ANNA (created 27 Nov 14:00 UTC).

    - a daily window 02:00-05:00 New York (07:00-10:00 UTC) for every device;
    - one rule: auto-approve everything on release (10 Nov) -> approved from 10 Nov 05:00 UTC;
    - DC01 misses KB5044281; APP02 had it and installed it at NOW; LAPTOP-ANNA misses
      7zip-24.08, which a technician blocked; FRONTDESK misses nothing;
    - an emergency approval of KB5044999 for DC01 on the 28th;
    - one deployment (26 Nov): DC01 install_failed, APP02 verified, LAPTOP-ANNA missed for
      capacity (not a failure), FRONTDESK missed while offline (an offline failure).
    """
    seeded = seed_fleet(database)
    with database.session() as session:
        session.add(
            MaintenanceWindow(
                client_id="acme",
                name="Nightly",
                recurrence=RecurrenceKind.WEEKLY,
                weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                start_time=time(2, 0),
                duration_minutes=180,
                reboot_policy=RebootPolicy.IF_REQUIRED,
                checkin_timeout_minutes=30,
                max_concurrent=5,
                updated_at=NOW,
            )
        )
        session.add(ApprovalRule(client_id="acme", position=0, name="All", action=RuleAction.AUTO))
        kb, seven_zip = seeded.patches["KB5044281"], seeded.patches["7zip-24.08"]
        dc01, app02 = seeded.devices["DC01"], seeded.devices["APP02"]
        anna, frontdesk = seeded.devices["LAPTOP-ANNA"], seeded.devices["FRONTDESK"]
        for device, patch, state in (
            (dc01, kb, MissingPatchState.MISSING),
            (app02, kb, MissingPatchState.INSTALLED),
            (anna, seven_zip, MissingPatchState.MISSING),
        ):
            session.add(
                DevicePatch(
                    device_id=device,
                    patch_id=patch,
                    state=state,
                    detected_at=NOW - timedelta(days=1),
                    installed_at=NOW if state is MissingPatchState.INSTALLED else None,
                    updated_at=NOW,
                )
            )
        session.add(
            ApprovalDecision(
                client_id="acme",
                patch_id=seven_zip,
                decision=ApprovalDecisionKind.BLOCK,
                reason="breaks the imaging software",
                operator="sam",
                decided_at=NOW - timedelta(days=2),
            )
        )
        session.add(
            ApprovalDecision(
                client_id="acme",
                patch_id=seeded.patches["KB5044999"],
                decision=ApprovalDecisionKind.EMERGENCY,
                reason="exploited in the wild",
                device_ids=[dc01],
                operator="sam",
                decided_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
            )
        )
        start = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
        deployment = Deployment(
            client_id="acme",
            window_id=None,
            occurrence_start=start,
            occurrence_end=start + timedelta(hours=3),
            state=DeploymentState.CLOSED,
            opened_at=start,
        )
        session.add(deployment)
        session.flush()
        for device, state, message in (
            (dc01, TargetState.INSTALL_FAILED, "0x80070005"),
            (app02, TargetState.VERIFIED, None),
            (anna, TargetState.MISSED, "window closed before dispatch (capacity); carried over"),
            (frontdesk, TargetState.MISSED, "missed: offline for the whole window"),
        ):
            session.add(
                Target(
                    deployment_id=deployment.id,
                    device_id=device,
                    state=state,
                    error_message=message,
                    updated_at=start,
                )
            )
    return seeded


def test_compliance_failures_and_emergencies(database: Database) -> None:
    """After the 28th's window: DC01 misses an approved patch a window has passed since
    (due) -> 3 of 4 devices compliant. Approved pairs: DC01's and APP02's KB5044281 (ANNA's
    7-Zip is blocked) -> 1 installed of 2. At the cycle's start the devices did not exist.
    Failed targets: DC01 (install) and FRONTDESK (offline); ANNA's capacity miss is not a
    failure. One emergency approval in the cycle."""
    seed(database)
    with database.session() as session:
        summary = metrics_summary(session, NOV, AFTER_WINDOW)
    (acme,) = summary.clients
    after = acme.compliance_end
    assert after.at == AFTER_WINDOW
    assert (after.devices, after.compliant_devices) == (4, 3)
    assert after.device_rate == Fraction(3, 4)
    assert (after.approved_pairs, after.installed_pairs) == (2, 1)
    # At the cycle's start (10 Nov 05:00 UTC) the devices did not exist yet.
    assert acme.compliance_start.devices == 0
    assert acme.compliance_start.device_rate is None
    assert acme.failures == {
        FailureClass.INSTALL: 1,
        FailureClass.REBOOT: 0,
        FailureClass.REGRESSION: 0,
        FailureClass.OFFLINE: 1,
    }
    assert acme.failed_total == 2
    assert [e.patch for e in acme.emergencies] == ["KB5044999"]
    assert summary.emergencies == 1


def test_due_waits_for_a_window_after_the_approval(database: Database) -> None:
    """A technician approves a pending patch during the 28th's window: not due until the
    29th's window has ended (07:00-10:00 UTC on the 29th)."""
    seeded = seed(database)
    with database.writer() as session:
        rule = session.query(ApprovalRule).one()
        rule.action = RuleAction.MANUAL  # nothing is approved by the rules any more
        session.add(
            ApprovalDecision(
                client_id="acme",
                patch_id=seeded.patches["KB5044281"],
                decision=ApprovalDecisionKind.APPROVE,
                operator="sam",
                decided_at=DURING_WINDOW,
            )
        )
    with database.session() as session:
        during = metrics_summary(session, NOV, AFTER_WINDOW).clients[0].compliance_end
        next_day = metrics_summary(session, NOV, datetime(2026, 11, 29, 10, 0, tzinfo=UTC)).clients[
            0
        ]
    assert during.compliant_devices == 4  # approved, not due yet
    assert during.approved_pairs == 2
    assert next_day.compliance_end.compliant_devices == 3


def test_no_devices_nothing_due(database: Database) -> None:
    with database.session() as session:
        session.add(
            Client(
                id="empty",
                name="Empty",
                timezone="Europe/London",
                sla_tier="bronze",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    with database.session() as session:
        (empty,) = metrics_summary(session, NOV, AFTER_WINDOW).clients
        report = cycle_report(session, "empty", NOV, AFTER_WINDOW)
    assert empty.compliance_end.devices == 0
    assert empty.compliance_end.device_rate is None
    assert empty.failed_total == 0
    assert empty.mttr.count == 0
    assert report is not None
    assert report.targets == ()


def test_mttr_with_a_reopened_exception(database: Database) -> None:
    """APP02: opened 27 Nov 12:00, resolved 13:00, reopened 14:00, resolved 20:00 -> one
    resolution of 8 h. FRONTDESK: opened 12:00, resolved 14:00 -> 2 h. Mean 5 h, median 5 h,
    p90 (2nd of 2) 8 h. DC01: resolved, then reopened and still open -> not counted."""
    seeded = seed(database)
    opened = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    app = add_exception(database, seeded.devices["APP02"], FailureClass.INSTALL, opened_at=opened)
    front = add_exception(
        database, seeded.devices["FRONTDESK"], FailureClass.OFFLINE, opened_at=opened
    )
    dc = add_exception(database, seeded.devices["DC01"], FailureClass.INSTALL, opened_at=opened)
    hour = timedelta(hours=1)
    ops.resolve(database, app, "sam", "retried", now=opened + hour)
    ops.reopen(database, app, "kim", "failed again", now=opened + 2 * hour)
    ops.resolve(database, app, "kim", "manual install", now=opened + 8 * hour)
    ops.resolve(database, front, "sam", "woken", now=opened + 2 * hour)
    ops.resolve(database, dc, "sam", "looked fine", now=opened + hour)
    ops.reopen(database, dc, "sam", "not fine", now=opened + 3 * hour)
    with database.session() as session:
        (acme,) = metrics_summary(session, NOV, AFTER_WINDOW).clients
        report = cycle_report(session, "acme", NOV, AFTER_WINDOW)
    figures = acme.mttr
    assert figures.count == 2
    assert figures.mean == timedelta(hours=5)
    assert figures.median == timedelta(hours=5)
    assert figures.p90 == timedelta(hours=8)
    assert acme.mttr_by_tier[Tier.OTHER_SERVER].mean == timedelta(hours=8)
    assert acme.mttr_by_tier[Tier.SHARED_WORKSTATION].mean == timedelta(hours=2)
    assert report is not None
    states = {e.hostname: e.state for e in report.exceptions}
    assert states == {
        "APP02": ExceptionState.RESOLVED,
        "FRONTDESK": ExceptionState.RESOLVED,
        "DC01": ExceptionState.OPEN,
    }
    app_line = next(e for e in report.exceptions if e.id == app)
    assert [(h.operator, h.note) for h in app_line.history] == [
        ("sam", "retried"),
        ("kim", "failed again"),
        ("kim", "manual install"),
    ]
    assert app_line.reopened_count == 1
