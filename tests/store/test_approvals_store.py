"""Approval inputs from the store, and recording technicians' decisions (both backends)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import combinations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.domain import (
    ApprovalDecisionKind,
    Classification,
    DeploymentState,
    ExceptionState,
    FailureClass,
    MissingPatchState,
    Role,
    RuleAction,
    Severity,
    TargetState,
    Tier,
)
from patchdesk.rules.approval import ApprovalState, DecidedBy
from patchdesk.rules.approval_rows import ApprovalRow, ClientApprovals, PatchNeed, client_rows
from patchdesk.rules.rings import WaitReason
from patchdesk.store.approval_inputs import load_approvals, load_client, load_for_devices
from patchdesk.store.approval_ops import DecisionError, DecisionRequest, record_decision
from patchdesk.store.approval_policy import load_blocklist
from patchdesk.store.db import Database
from patchdesk.store.models import (
    ApprovalDecision,
    ApprovalRule,
    BlockedPatch,
    ClientScope,
    Deployment,
    Device,
    DevicePatch,
    Event,
    Patch,
    PatchException,
    RemediationRecord,
    Ring,
    Target,
    TargetPatch,
)
from patchdesk.store.remediation_log import verify_chain
from tests.conftest import NOW
from tests.factories import add_client, add_device

CLIENT = "kessler-engineering"
OTHER_CLIENT = "harbour-dental"
KB = "KB5072033"
BLOCKED = "KB5034441"
CHROME = "Google.Chrome-143"


@dataclass
class Fleet:
    devices: dict[str, int]
    patches: dict[str, int]


def _client(session: Session, client_id: str) -> None:
    add_client(session, client_id, name=client_id, timezone="Europe/Berlin", sla_tier="silver")


def _device(session: Session, client_id: str, hostname: str, tags: list[str]) -> Device:
    return add_device(
        session, client_id, hostname, role=Role.SINGLE_USER, os_name="Windows 11 Pro", tags=tags
    )


def _patch(session: Session, vendor_id: str, classification: Classification) -> Patch:
    patch = Patch(
        vendor_id=vendor_id,
        title=f"Update {vendor_id}",
        vendor="Microsoft",
        product="Google Chrome" if vendor_id == CHROME else "Windows 11",
        classification=classification,
        severity=Severity.CRITICAL,
        release_date=date(2026, 11, 10),
        reboot_required=True,
    )
    session.add(patch)
    return patch


@pytest.fixture
def fleet(database: Database) -> Fleet:
    """Kessler with rings pilot (it-pilot, 48 h, 95%) and broad; five devices, one excluded."""
    with database.writer() as session:
        _client(session, CLIENT)
        _client(session, OTHER_CLIENT)
        session.flush()
        session.add(ClientScope(client_id=CLIENT, exclude_devices=["KSI-LIC-01"], third_party=[]))
        session.add_all(
            [
                ApprovalRule(
                    client_id=CLIENT,
                    position=0,
                    name="Security",
                    match={"classifications": ["security"]},
                    action=RuleAction.AUTO,
                    days=0,
                ),
                ApprovalRule(
                    client_id=CLIENT, position=1, name="Rest", match={}, action=RuleAction.MANUAL
                ),
                Ring(
                    client_id=CLIENT,
                    position=0,
                    name="pilot",
                    tags=["it-pilot"],
                    soak_hours=48,
                    min_success_rate=0.95,
                ),
                Ring(
                    client_id=CLIENT,
                    position=1,
                    name="broad",
                    tags=[],
                    soak_hours=0,
                    min_success_rate=0.9,
                ),
                BlockedPatch(
                    patch_vendor_id=BLOCKED,
                    reason="WinRE fails with 0x80070643",
                    blocked_by="j.okafor",
                    blocked_at=NOW - timedelta(days=300),
                ),
            ]
        )
        devices = {
            "KSI-CAD-MUELLER": _device(session, CLIENT, "KSI-CAD-MUELLER", ["cad", "it-pilot"]),
            "KSI-NB-KOCH": _device(session, CLIENT, "KSI-NB-KOCH", ["IT-Pilot"]),
            "KSI-CAD-WEBER": _device(session, CLIENT, "KSI-CAD-WEBER", ["cad"]),
            "KSI-PLOT-01": _device(session, CLIENT, "KSI-PLOT-01", []),
            "KSI-LIC-01": _device(session, CLIENT, "KSI-LIC-01", ["licence"]),
            "HDG-BOS-FRONT01": _device(session, OTHER_CLIENT, "HDG-BOS-FRONT01", []),
        }
        patches = {
            KB: _patch(session, KB, Classification.SECURITY),
            BLOCKED: _patch(session, BLOCKED, Classification.SECURITY),
            CHROME: _patch(session, CHROME, Classification.THIRD_PARTY),
        }
        session.flush()
        for device in devices.values():
            for patch in patches.values():
                session.add(
                    DevicePatch(
                        device_id=device.id,
                        patch_id=patch.id,
                        state=MissingPatchState.MISSING,
                        detected_at=NOW,
                        updated_at=NOW,
                    )
                )
        return Fleet(
            {name: d.id for name, d in devices.items()}, {k: p.id for k, p in patches.items()}
        )


def counts(database: Database) -> tuple[int, int, int]:
    with database.session() as session:
        return (
            session.scalar(select(func.count()).select_from(ApprovalDecision)) or 0,
            session.scalar(select(func.count()).select_from(Event)) or 0,
            session.scalar(select(func.count()).select_from(RemediationRecord)) or 0,
        )


def record(database: Database, request: DecisionRequest, now: datetime = NOW) -> int:
    with database.writer() as session:
        return record_decision(session, request, now=now).id


def request(
    kind: ApprovalDecisionKind,
    *,
    patch: str = KB,
    client: str = CLIENT,
    reason: str = "",
    until: datetime | None = None,
    hosts: tuple[str, ...] = (),
    operator: str = "alice",
) -> DecisionRequest:
    return DecisionRequest(client, patch, kind, operator, reason, until, hosts)


def rows_at(database: Database, now: datetime) -> list[ApprovalRow]:
    with database.session() as session:
        clients = load_approvals(session, CLIENT)
        blocklist = load_blocklist(session)
    return [row for client in clients for row in client_rows(client, blocklist=blocklist, now=now)]


def kb_rows(database: Database, now: datetime) -> dict[str | None, ApprovalRow]:
    """The KB's rows by ring name (None: rows without a ring)."""
    return {row.decision.ring: row for row in rows_at(database, now) if row.patch.vendor_id == KB}


# --- recording ------------------------------------------------------------------------------


def test_recorded_decisions_are_stored_audited_and_evented(
    database: Database, fleet: Fleet
) -> None:
    assert counts(database) == (0, 0, 0)
    record(database, request(ApprovalDecisionKind.APPROVE))
    record(database, request(ApprovalDecisionKind.BLOCK, reason="breaks CAD plotting"))
    until = NOW + timedelta(days=10)
    record(database, request(ApprovalDecisionKind.DEFER, until=until, reason="vendor sign-off"))
    emergency_id = record(
        database,
        request(ApprovalDecisionKind.EMERGENCY, reason="exploited", hosts=("ksi-cad-weber",)),
    )
    decisions, events, records = counts(database)
    assert (decisions, records) == (4, 4)
    assert events == 8  # approval.decided + remediation.logged for each
    with database.session() as session:
        rows = session.scalars(select(ApprovalDecision).order_by(ApprovalDecision.id)).all()
        assert [r.decision for r in rows] == list(ApprovalDecisionKind)
        assert rows[2].until == until
        assert rows[3].device_ids == [fleet.devices["KSI-CAD-WEBER"]]
        assert all(r.operator == "alice" and r.decided_at == NOW for r in rows)
        log = session.scalars(select(RemediationRecord).order_by(RemediationRecord.seq)).all()
        assert [r.action for r in log] == [
            "approval.approve",
            "approval.block",
            "approval.defer",
            "approval.emergency",
        ]
        assert {(r.actor, r.operator, r.client_id) for r in log} == {("alice", "alice", CLIENT)}
        assert log[1].note == f"blocked {KB}: breaks CAD plotting"
        assert log[3].note == f"emergency approval of {KB} for KSI-CAD-WEBER: exploited"
        assert log[3].device_id == fleet.devices["KSI-CAD-WEBER"]
        report = verify_chain(session)
        assert (report.ok, report.count) == (True, 4)
        decided = session.scalars(
            select(Event).where(Event.kind == "approval.decided").order_by(Event.id)
        ).all()
        assert [e.payload["decision"] for e in decided] == [k.value for k in ApprovalDecisionKind]
        assert decided[3].entity_id == str(emergency_id)
        assert decided[3].payload["emergency"] is True
        assert decided[3].payload["hostnames"] == ["KSI-CAD-WEBER"]


LATER = NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("bad", "messages"),
    [
        (request(ApprovalDecisionKind.BLOCK), ["--reason: required for block"]),
        (
            request(ApprovalDecisionKind.EMERGENCY, hosts=("KSI-CAD-WEBER",), reason="  "),
            ["--reason: required for emergency"],
        ),
        (request(ApprovalDecisionKind.DEFER), ["--until: required for defer"]),
        (request(ApprovalDecisionKind.DEFER, until=NOW), ["is not in the future"]),
        (
            request(ApprovalDecisionKind.DEFER, until=NOW - timedelta(days=1)),
            ["is not in the future"],
        ),
        (request(ApprovalDecisionKind.APPROVE, until=LATER), ["--until: only for defer"]),
        (request(ApprovalDecisionKind.APPROVE, hosts=("KSI-CAD-WEBER",)), ["only for emergency"]),
        (
            request(ApprovalDecisionKind.EMERGENCY, reason="x"),
            ["--device: an emergency needs at least one device"],
        ),
        (
            request(ApprovalDecisionKind.EMERGENCY, reason="x", hosts=("KSI-NOPE",)),
            ["'KSI-NOPE' is not a device of client 'kessler-engineering'"],
        ),
        (
            request(ApprovalDecisionKind.EMERGENCY, reason="x", hosts=("HDG-BOS-FRONT01",)),
            ["'HDG-BOS-FRONT01' is not a device of client 'kessler-engineering'"],
        ),
        (
            request(ApprovalDecisionKind.EMERGENCY, reason="x", hosts=("KSI-LIC-01",)),
            ["'KSI-LIC-01' is outside the patch scope"],
        ),
        (request(ApprovalDecisionKind.APPROVE, client="nobody"), ["unknown client 'nobody'"]),
        (request(ApprovalDecisionKind.APPROVE, patch="KB0000000"), ["unknown patch 'KB0000000'"]),
        (
            request(ApprovalDecisionKind.APPROVE, patch=BLOCKED),
            ["KB5034441 is on the global block list (WinRE fails with 0x80070643)"],
        ),
        (
            request(
                ApprovalDecisionKind.EMERGENCY, patch=BLOCKED, reason="x", hosts=("KSI-NB-KOCH",)
            ),
            ["is on the global block list"],
        ),
        (request(ApprovalDecisionKind.APPROVE, operator=" "), ["operator: must not be blank"]),
        (request(ApprovalDecisionKind.APPROVE, reason="nul\x00"), ["NUL"]),
        (
            request(ApprovalDecisionKind.BLOCK, patch="KB0000000", client="nobody"),
            ["--reason: required", "unknown client 'nobody'", "unknown patch 'KB0000000'"],
        ),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_written(
    database: Database, fleet: Fleet, bad: DecisionRequest, messages: list[str]
) -> None:
    with pytest.raises(DecisionError) as refused:
        record(database, bad)
    problems = refused.value.problems
    assert len(problems) == len(messages), problems
    for problem, message in zip(problems, messages, strict=True):
        assert message in problem
    assert counts(database) == (0, 0, 0)


def test_block_and_defer_are_allowed_on_a_globally_blocked_patch(
    database: Database, fleet: Fleet
) -> None:
    record(database, request(ApprovalDecisionKind.BLOCK, patch=BLOCKED, reason="also here"))
    assert counts(database)[0] == 1


def test_the_patch_id_may_differ_in_letter_case(database: Database, fleet: Fleet) -> None:
    record(database, request(ApprovalDecisionKind.APPROVE, patch=KB.lower()))
    with database.session() as session:
        assert session.scalars(select(ApprovalDecision.patch_id)).one() == fleet.patches[KB]


# --- loading --------------------------------------------------------------------------------


def test_load_approvals_keeps_in_scope_devices_and_patches(
    database: Database, fleet: Fleet
) -> None:
    with database.session() as session:
        [client] = load_approvals(session, CLIENT)
        assert load_approvals(session, "nobody") == []
        assert [c.client_id for c in load_approvals(session)] == [OTHER_CLIENT, CLIENT]
    assert isinstance(client, ClientApprovals)
    # Chrome is a third-party app outside Kessler's scope; KSI-LIC-01 is excluded
    needs = {need.patch.vendor_id: need for need in client.needs}
    assert sorted(needs) == [BLOCKED, KB]
    devices = {d.hostname: d.ring.name if d.ring else None for d in needs[KB].devices}
    assert devices == {
        "KSI-CAD-MUELLER": "pilot",
        "KSI-NB-KOCH": "pilot",  # tags compare ignoring case
        "KSI-CAD-WEBER": "broad",
        "KSI-PLOT-01": "broad",
    }
    assert [rule.number for rule in client.policy.rules] == [1, 2]
    assert [ring.name for ring in client.policy.rings] == ["pilot", "broad"]


def test_installed_patches_are_not_needed(database: Database, fleet: Fleet) -> None:
    with database.writer() as session:
        for row in session.scalars(
            select(DevicePatch).where(DevicePatch.patch_id == fleet.patches[KB])
        ):
            row.state = MissingPatchState.INSTALLED
    with database.session() as session:
        [client] = load_approvals(session, CLIENT)
    assert [need.patch.vendor_id for need in client.needs] == [BLOCKED]


def _deploy(
    database: Database,
    fleet: Fleet,
    outcomes: dict[str, tuple[TargetState, MissingPatchState]],
    *,
    at: datetime,
) -> None:
    """One deployment at ``at`` whose targets ended as given (for the KB), at ``at`` + 1 h."""
    with database.writer() as session:
        deployment = Deployment(
            client_id=CLIENT,
            window_id=None,
            occurrence_start=at,
            occurrence_end=at + timedelta(hours=3),
            state=DeploymentState.CLOSED,
            emergency=False,
            opened_at=at,
        )
        session.add(deployment)
        session.flush()
        for hostname, (target_state, patch_state) in outcomes.items():
            verified = target_state is TargetState.VERIFIED
            target = Target(
                deployment_id=deployment.id,
                device_id=fleet.devices[hostname],
                state=target_state,
                verified_at=at + timedelta(hours=1) if verified else None,
                updated_at=at + timedelta(hours=1),
                patches=[TargetPatch(patch_id=fleet.patches[KB], state=patch_state)],
            )
            session.add(target)
            if patch_state is MissingPatchState.INSTALLED:
                row = session.scalars(
                    select(DevicePatch).where(
                        DevicePatch.device_id == fleet.devices[hostname],
                        DevicePatch.patch_id == fleet.patches[KB],
                    )
                ).one()
                row.state = MissingPatchState.INSTALLED


VERIFIED = (TargetState.VERIFIED, MissingPatchState.INSTALLED)
FAILED = (TargetState.INSTALL_FAILED, MissingPatchState.FAILED)
MISSED = (TargetState.MISSED, MissingPatchState.MISSING)
PILOT_DONE = NOW - timedelta(days=3)  # pilot deployment; its targets finish an hour later


def test_ring_two_waits_until_ring_one_has_deployed(database: Database, fleet: Fleet) -> None:
    rows = kb_rows(database, NOW)
    assert rows["pilot"].decision.state is ApprovalState.APPROVED
    broad = rows["broad"].decision
    assert broad.state is ApprovalState.NOT_YET
    assert broad.wait is not None
    assert broad.wait.why is WaitReason.NOT_DEPLOYED
    assert broad.wait.progress.needing == 2


def test_ring_progress_from_deployments_gates_and_soaks(database: Database, fleet: Fleet) -> None:
    _deploy(database, fleet, {"KSI-CAD-MUELLER": VERIFIED, "KSI-NB-KOCH": VERIFIED}, at=PILOT_DONE)
    finished = PILOT_DONE + timedelta(hours=1)
    soaking = kb_rows(database, finished + timedelta(hours=47))
    assert set(soaking) == {"broad"}  # the pilot devices no longer miss the KB
    wait = soaking["broad"].decision.wait
    assert wait is not None
    assert wait.why is WaitReason.SOAKING
    assert wait.until == finished + timedelta(hours=48)
    assert (wait.progress.deployed, wait.progress.succeeded, wait.progress.failed) == (2, 2, 0)
    assert wait.progress.finished_at == finished
    soaked = kb_rows(database, finished + timedelta(hours=48))["broad"].decision
    assert soaked.state is ApprovalState.APPROVED
    assert soaked.approved_from == finished + timedelta(hours=48)
    assert soaked.reason.endswith(
        'ring "broad": ring "pilot" passed (100% (2 of 2) ≥ 95%, soaked 48 h)'
    )


def test_a_failure_in_ring_one_holds_ring_two(database: Database, fleet: Fleet) -> None:
    _deploy(database, fleet, {"KSI-CAD-MUELLER": VERIFIED, "KSI-NB-KOCH": FAILED}, at=PILOT_DONE)
    wait = kb_rows(database, NOW)["broad"].decision.wait
    assert wait is not None
    assert wait.why is WaitReason.BELOW_THRESHOLD
    assert "50% (1 of 2) is below its threshold 95%" in wait.text()


def test_a_missed_device_does_not_hold_ring_two_and_a_retry_counts(
    database: Database, fleet: Fleet
) -> None:
    _deploy(database, fleet, {"KSI-CAD-MUELLER": FAILED, "KSI-NB-KOCH": MISSED}, at=PILOT_DONE)
    _deploy(database, fleet, {"KSI-CAD-MUELLER": VERIFIED}, at=PILOT_DONE + timedelta(hours=6))
    decision = kb_rows(database, NOW)["broad"].decision
    assert decision.state is ApprovalState.APPROVED, decision.reason


def test_an_open_regression_halts_ring_two_until_resolved(database: Database, fleet: Fleet) -> None:
    _deploy(database, fleet, {"KSI-CAD-MUELLER": VERIFIED, "KSI-NB-KOCH": VERIFIED}, at=PILOT_DONE)
    with database.writer() as session:
        exception = PatchException(
            client_id=CLIENT,
            device_id=fleet.devices["KSI-NB-KOCH"],
            failure_class=FailureClass.REGRESSION,
            tier=Tier.SINGLE_USER,
            class_rank=1,
            state=ExceptionState.OPEN,
            patch_ids=[fleet.patches[KB]],
            opened_at=NOW - timedelta(hours=2),
            updated_at=NOW - timedelta(hours=2),
        )
        session.add(exception)
    halted = kb_rows(database, NOW)["broad"].decision
    assert halted.wait is not None
    assert halted.wait.why is WaitReason.REGRESSION
    with database.writer() as session:
        row = session.scalars(select(PatchException)).one()
        row.state = ExceptionState.RESOLVED
        row.resolved_at = NOW
    assert kb_rows(database, NOW)["broad"].decision.state is ApprovalState.APPROVED


def test_recorded_decisions_drive_the_listing(database: Database, fleet: Fleet) -> None:
    record(
        database,
        request(ApprovalDecisionKind.EMERGENCY, reason="exploited", hosts=("KSI-PLOT-01",)),
        now=NOW - timedelta(minutes=5),
    )
    rows = [row for row in rows_at(database, NOW) if row.patch.vendor_id == KB]
    emergency = [row for row in rows if row.decision.emergency]
    assert [row.hostnames for row in emergency] == [("KSI-PLOT-01",)]
    assert emergency[0].decision.decided_by is DecidedBy.EMERGENCY
    broad = [row for row in rows if row.decision.ring == "broad"]
    assert [row.hostnames for row in broad] == [("KSI-CAD-WEBER",)]
    record(database, request(ApprovalDecisionKind.BLOCK, reason="rolled back"))
    states = {row.decision.state for row in rows_at(database, NOW + timedelta(minutes=1))}
    assert states == {ApprovalState.BLOCKED}


# --- load_for_devices: load_client cut to some devices ---------------------------------------


def _cut(client: ClientApprovals, device_ids: frozenset[int]) -> ClientApprovals:
    """``client`` as ``load_for_devices`` should give it: the needs of these devices only."""
    needs: list[PatchNeed] = []
    for need in client.needs:
        devices = tuple(d for d in need.devices if d.device_id in device_ids)
        if devices:
            needs.append(replace(need, devices=devices))
    return replace(client, needs=tuple(needs))


def _every_cut_is_load_client_cut(database: Database, client_id: str) -> None:
    with database.session() as session:
        whole = load_client(session, client_id)
        assert whole is not None
        ids = sorted(session.scalars(select(Device.id).where(Device.client_id == client_id)))
        for size in range(len(ids) + 1):
            for chosen in combinations(ids, size):
                cut = load_for_devices(session, client_id, chosen)
                assert cut == _cut(whole, frozenset(chosen)), chosen
        assert load_for_devices(session, "nobody", ids) is None


def test_load_for_devices_is_load_client_cut_to_them(database: Database, fleet: Fleet) -> None:
    # The rings' progress is still counted over every device: a pilot deployment, one
    # device left missing the KB, and a manual decision make every part of it count.
    _deploy(database, fleet, {"KSI-CAD-MUELLER": VERIFIED, "KSI-NB-KOCH": FAILED}, at=PILOT_DONE)
    emergency = request(ApprovalDecisionKind.EMERGENCY, reason="zero-day", hosts=("KSI-CAD-WEBER",))
    record(database, emergency)
    _every_cut_is_load_client_cut(database, CLIENT)


def test_load_for_devices_without_rings_reads_only_their_rows(
    database: Database, fleet: Fleet
) -> None:
    with database.writer() as session:
        for ring in session.scalars(select(Ring)):
            session.delete(ring)
        session.flush()
        row = session.scalars(
            select(DevicePatch).where(
                DevicePatch.device_id == fleet.devices["KSI-PLOT-01"],
                DevicePatch.patch_id == fleet.patches[KB],
            )
        ).one()
        row.state = MissingPatchState.INSTALLED
    _every_cut_is_load_client_cut(database, CLIENT)
