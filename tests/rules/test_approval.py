"""Staged approval: precedence, rules, manual decisions, emergencies and rings (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchdesk.domain import (
    ApprovalDecisionKind,
    Classification,
    MissingPatchState,
    RuleAction,
    Severity,
    TargetState,
)
from patchdesk.rules.approval import (
    STATE_FILTER,
    ApprovalPolicy,
    ApprovalState,
    BlockEntry,
    Blocklist,
    DecidedBy,
    Decision,
    ManualDecision,
    StateFilter,
    decide,
    manual_in_effect,
)
from patchdesk.rules.approval_rows import DeviceNeed, PatchNeed, filter_rows, patch_rows
from patchdesk.rules.approval_rules import PatchFacts, Rule, RuleMatch
from patchdesk.rules.rings import (
    DeviceOutcome,
    Outcome,
    RingProgress,
    RingSpec,
    WaitReason,
    outcome_of,
    percent,
    ring_of,
    ring_progress,
)

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 28, tzinfo=UTC)
DEVICE = 7
OTHER = 8


def patch(**changes: Any) -> PatchFacts:
    base = PatchFacts(
        vendor_id="KB5072033",
        title="2026-11 Cumulative Update for Windows 11, version 24H2 (KB5072033)",
        vendor="Microsoft",
        product="Windows 11",
        classification=Classification.SECURITY,
        severity=Severity.CRITICAL,
        release_date=date(2026, 11, 10),
    )
    return replace(base, **changes)


def rule(number: int, name: str, action: RuleAction, days: int = 0, **match: Any) -> Rule:
    return Rule(number, name, RuleMatch.from_stored(match), action, days)


RULES = (
    rule(1, "Preview builds", RuleAction.BLOCK, title_pattern=r"(?i)\bpreview\b"),
    rule(2, "Feature upgrades", RuleAction.DEFER, 90, classifications=["feature_upgrade"]),
    rule(3, "GPU drivers", RuleAction.BLOCK, classifications=["driver"], vendors=["NVIDIA", "AMD"]),
    rule(
        4,
        "Critical security",
        RuleAction.AUTO,
        classifications=["security", "critical"],
        severities=["critical", "important"],
    ),
    rule(5, "Other security", RuleAction.AUTO, 3, classifications=["security"]),
    rule(6, "Conferencing", RuleAction.MANUAL, products=["Zoom Workplace"]),
    # no catch-all: a patch no rule matches waits for a technician
)
BLOCKED_ENTRY = BlockEntry(
    "KB5034441",
    "WinRE fails with 0x80070643",
    "j.okafor",
    datetime(2026, 1, 12, 14, 40, tzinfo=UTC),
)
BLOCKLIST = Blocklist([BLOCKED_ENTRY])
PILOT = RingSpec.of(0, "pilot", ["it-pilot"], 48, 0.95)
BROAD = RingSpec.of(1, "broad", [], 0, 0.9)
RINGS = (PILOT, BROAD)


def manual(
    kind: ApprovalDecisionKind,
    at: datetime = NOW - timedelta(hours=1),
    *,
    reason: str = "",
    until: datetime | None = None,
    devices: tuple[int, ...] = (),
) -> ManualDecision:
    return ManualDecision(kind, at, "alice", reason, until, frozenset(devices))


APPROVE = ApprovalDecisionKind.APPROVE
BLOCK = ApprovalDecisionKind.BLOCK
DEFER = ApprovalDecisionKind.DEFER
EMERGENCY = ApprovalDecisionKind.EMERGENCY


@dataclass(frozen=True)
class Case:
    """One row of the decision table."""

    id: str
    patch: PatchFacts = field(default_factory=patch)
    decisions: tuple[ManualDecision, ...] = ()
    now: datetime = NOW
    rings: tuple[RingSpec, ...] = ()
    ring: RingSpec | None = None
    progress: dict[str, RingProgress] = field(default_factory=dict)
    device: int = DEVICE
    zone: str = "UTC"
    # expected
    state: ApprovalState = ApprovalState.APPROVED
    by: DecidedBy = DecidedBy.RULE
    rule: int | None = None
    reason: str = ""
    approved_from: datetime | None = None
    until: datetime | None = None
    wait: WaitReason | None = None
    emergency: bool = False


def run(case: Case) -> Decision:
    policy = ApprovalPolicy(RULES, case.rings, ZoneInfo(case.zone))
    return decide(
        case.patch,
        device_id=case.device,
        ring=case.ring,
        policy=policy,
        blocklist=BLOCKLIST,
        decisions=case.decisions,
        progress=case.progress,
        now=case.now,
    )


RELEASE = datetime(2026, 11, 10, tzinfo=UTC)
OTHER_SECURITY = patch(severity=Severity.MODERATE, release_date=date(2026, 11, 25))
FEATURE = patch(
    vendor_id="KB5072600",
    title="Feature update to Windows 11, version 26H2",
    classification=Classification.FEATURE_UPGRADE,
    severity=Severity.UNSPECIFIED,
    release_date=date(2026, 11, 12),
)
NVIDIA = patch(
    vendor_id="NVIDIA-Display-32.0.15.8157",
    title="NVIDIA - Display - 32.0.15.8157",
    vendor="nvidia",
    product="NVIDIA RTX Enterprise Driver",
    classification=Classification.DRIVER,
    severity=Severity.UNSPECIFIED,
)
INTEL = replace(NVIDIA, vendor_id="Intel-Display", title="Intel - Display", vendor="Intel")
ZOOM = patch(
    vendor_id="Zoom.Zoom-6.6.12",
    title="Zoom Workplace 6.6.12",
    vendor="Zoom",
    product="zoom workplace",
    classification=Classification.THIRD_PARTY,
    severity=Severity.IMPORTANT,
)
PLAIN = patch(
    vendor_id="KB5072999",
    title="2026-11 Update for Windows 11",
    classification=Classification.UPDATE,
    severity=Severity.LOW,
)
WINRE = patch(vendor_id="KB5034441", title="2024-01 Security Update (KB5034441)")

RULE_CASES = [
    Case(
        "block list beats an auto rule",
        patch=WINRE,
        state=ApprovalState.BLOCKED,
        by=DecidedBy.BLOCKLIST,
        reason="blocked by the global block list: WinRE fails with 0x80070643 "
        "(blocked by j.okafor on 2026-01-12)",
    ),
    Case(
        "block list matches the patch id ignoring case",
        patch=replace(WINRE, vendor_id="kb5034441"),
        state=ApprovalState.BLOCKED,
        by=DecidedBy.BLOCKLIST,
    ),
    Case(
        "first match wins (preview block before the security auto rule)",
        patch=patch(title="2026-11 Cumulative Update Preview for Windows 11"),
        state=ApprovalState.BLOCKED,
        rule=1,
        reason='blocked (rule 1 "Preview builds" → block)',
    ),
    Case(
        "no rule matches: a technician decides",
        patch=PLAIN,
        state=ApprovalState.PENDING_MANUAL,
        by=DecidedBy.NO_RULE,
        reason="waits for a technician (no approval rule matches)",
    ),
    Case(
        "auto on release",
        state=ApprovalState.APPROVED,
        rule=4,
        approved_from=RELEASE,
        reason='approved since 2026-11-10 (rule 4 "Critical security" → auto-approve on release)',
    ),
    Case(
        "auto after 3 days: the day before the boundary is deferred",
        patch=OTHER_SECURITY,
        now=MIDNIGHT - timedelta(seconds=1),
        state=ApprovalState.DEFERRED,
        rule=5,
        until=MIDNIGHT,
        reason='deferred until 2026-11-28 (rule 5 "Other security" → auto-approve 3 days after '
        "release)",
    ),
    Case(
        "auto after 3 days: approved at the boundary",
        patch=OTHER_SECURITY,
        now=MIDNIGHT,
        state=ApprovalState.APPROVED,
        rule=5,
        approved_from=MIDNIGHT,
    ),
    Case(
        "auto after N days starts at midnight in the client's zone",
        patch=OTHER_SECURITY,
        now=datetime(2026, 11, 27, 13, 0, tzinfo=UTC),  # 00:00 on the 28th in Sydney
        zone="Australia/Sydney",
        state=ApprovalState.APPROVED,
        rule=5,
        approved_from=datetime(2026, 11, 27, 13, 0, tzinfo=UTC),
    ),
    Case(
        "defer 90 days",
        patch=FEATURE,
        state=ApprovalState.DEFERRED,
        rule=2,
        until=datetime(2027, 2, 10, tzinfo=UTC),
        reason='deferred until 2027-02-10 (rule 2 "Feature upgrades" → defer 90 days after '
        "release)",
    ),
    Case(
        "defer 90 days, once over, is approved",
        patch=FEATURE,
        now=datetime(2027, 2, 10, 0, 0, tzinfo=UTC),
        state=ApprovalState.APPROVED,
        rule=2,
        approved_from=datetime(2027, 2, 10, tzinfo=UTC),
    ),
    Case(
        "rule block, vendor compared ignoring case",
        patch=NVIDIA,
        state=ApprovalState.BLOCKED,
        rule=3,
        reason='blocked (rule 3 "GPU drivers" → block)',
    ),
    Case(
        "criteria are ANDed: a driver from another vendor matches no rule",
        patch=INTEL,
        state=ApprovalState.PENDING_MANUAL,
        by=DecidedBy.NO_RULE,
    ),
    Case(
        "rule manual, product compared ignoring case",
        patch=ZOOM,
        state=ApprovalState.PENDING_MANUAL,
        rule=6,
        reason='waits for a technician (rule 6 "Conferencing" → wait for a technician)',
    ),
]

MANUAL_CASES = [
    Case(
        "manual approve overrides a rule block",
        patch=NVIDIA,
        decisions=(manual(APPROVE, reason="certified by the CAD vendor"),),
        state=ApprovalState.APPROVED,
        by=DecidedBy.MANUAL,
        approved_from=NOW - timedelta(hours=1),
        reason="approved since 2026-11-27 13:00 UTC (manual approval by alice, overriding the "
        "rules: certified by the CAD vendor)",
    ),
    Case(
        "manual approve overrides an auto-after-N-days wait",
        patch=OTHER_SECURITY,
        decisions=(manual(APPROVE),),
        state=ApprovalState.APPROVED,
        by=DecidedBy.MANUAL,
    ),
    Case(
        "manual block overrides an auto rule",
        decisions=(manual(BLOCK, reason="breaks the practice software"),),
        state=ApprovalState.BLOCKED,
        by=DecidedBy.MANUAL,
        reason="blocked by a technician (alice on 2026-11-27 13:00 UTC: breaks the practice "
        "software)",
    ),
    Case(
        "manual defer until a future time",
        decisions=(manual(DEFER, until=MIDNIGHT + timedelta(days=12)),),
        state=ApprovalState.DEFERRED,
        by=DecidedBy.MANUAL,
        until=MIDNIGHT + timedelta(days=12),
        reason="deferred until 2026-12-10 by a technician (alice on 2026-11-27 13:00 UTC)",
    ),
    Case(
        "an expired manual defer gives way to the rules",
        decisions=(manual(DEFER, until=NOW - timedelta(minutes=1)),),
        state=ApprovalState.APPROVED,
        rule=4,
    ),
    Case(
        "an expired defer gives way to the decision before it",
        patch=NVIDIA,
        decisions=(
            manual(APPROVE, NOW - timedelta(days=3)),
            manual(DEFER, NOW - timedelta(days=2), until=NOW - timedelta(days=1)),
        ),
        state=ApprovalState.APPROVED,
        by=DecidedBy.MANUAL,
    ),
    Case(
        "newest wins: approve after block",
        decisions=(
            manual(BLOCK, NOW - timedelta(days=2), reason="x"),
            manual(APPROVE, NOW - timedelta(days=1)),
        ),
        state=ApprovalState.APPROVED,
        by=DecidedBy.MANUAL,
    ),
    Case(
        "newest wins: block after approve, whatever the input order",
        decisions=(
            manual(BLOCK, NOW - timedelta(days=1), reason="x"),
            manual(APPROVE, NOW - timedelta(days=2)),
        ),
        state=ApprovalState.BLOCKED,
        by=DecidedBy.MANUAL,
    ),
    Case(
        "a decision made after now is not in effect yet",
        decisions=(manual(BLOCK, NOW + timedelta(minutes=1), reason="x"),),
        state=ApprovalState.APPROVED,
        rule=4,
    ),
    Case(
        "the block list beats a manual approval",
        patch=WINRE,
        decisions=(manual(APPROVE),),
        state=ApprovalState.BLOCKED,
        by=DecidedBy.BLOCKLIST,
    ),
    Case(
        "emergency for the chosen device: approved at once, rings ignored",
        patch=NVIDIA,
        decisions=(manual(EMERGENCY, reason="CVE exploited", devices=(DEVICE,)),),
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": RingProgress(needing=3)},
        state=ApprovalState.APPROVED,
        by=DecidedBy.EMERGENCY,
        emergency=True,
        approved_from=NOW - timedelta(hours=1),
        reason="approved at once as an emergency, outside maintenance windows (by alice on "
        "2026-11-27 13:00 UTC: CVE exploited)",
    ),
    Case(
        "emergency for another device: this one follows the rules",
        patch=NVIDIA,
        decisions=(manual(EMERGENCY, reason="CVE exploited", devices=(OTHER,)),),
        state=ApprovalState.BLOCKED,
        rule=3,
    ),
    Case(
        "a block after an emergency blocks the chosen device too",
        decisions=(
            manual(EMERGENCY, NOW - timedelta(days=1), reason="x", devices=(DEVICE,)),
            manual(BLOCK, NOW - timedelta(hours=2), reason="rolled back"),
        ),
        state=ApprovalState.BLOCKED,
        by=DecidedBy.MANUAL,
    ),
    Case(
        "the block list beats an emergency",
        patch=WINRE,
        decisions=(manual(EMERGENCY, reason="x", devices=(DEVICE,)),),
        state=ApprovalState.BLOCKED,
        by=DecidedBy.BLOCKLIST,
    ),
]

SOAKED = NOW - timedelta(hours=60)  # pilot finished 60 h ago: its 48 h soak is over
PASSED = RingProgress(deployed=20, succeeded=19, failed=1, finished_at=SOAKED)

RING_CASES = [
    Case("no rings: approved", state=ApprovalState.APPROVED, rule=4),
    Case(
        "the first ring deploys first",
        rings=RINGS,
        ring=PILOT,
        state=ApprovalState.APPROVED,
        rule=4,
        reason='approved since 2026-11-10 (rule 4 "Critical security" → auto-approve on '
        'release); ring "pilot" deploys first',
    ),
    Case(
        "ring 2 waits: ring 1 has not deployed it",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": RingProgress(needing=2)},
        state=ApprovalState.NOT_YET,
        rule=4,
        wait=WaitReason.NOT_DEPLOYED,
        approved_from=RELEASE,
        reason='ring "broad" is waiting for ring "pilot": it has not deployed this patch yet, '
        '2 of its devices need it; approved since 2026-11-10 (rule 4 "Critical security" → '
        "auto-approve on release)",
    ),
    Case(
        "ring 2 goes when ring 1 has no device that needs it",
        rings=RINGS,
        ring=BROAD,
        progress={},
        state=ApprovalState.APPROVED,
        reason='ring "broad": ring "pilot" has no device that needs it',
    ),
    Case(
        "ring 2 waits: ring 1 has no finished install (rate undefined)",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": RingProgress(needing=2, deployed=2)},
        state=ApprovalState.NOT_YET,
        wait=WaitReason.NO_FINISHED_INSTALLS,
        reason="success rate is undefined",
    ),
    Case(
        "ring 2 waits: ring 1 still deploying",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": RingProgress(deployed=3, succeeded=2)},
        state=ApprovalState.NOT_YET,
        wait=WaitReason.DEPLOYING,
        reason="still deploying, 2 of 3 finished",
    ),
    Case(
        "ring 2 waits: 0.9 is below 0.95",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": RingProgress(deployed=10, succeeded=9, failed=1, finished_at=SOAKED)},
        state=ApprovalState.NOT_YET,
        wait=WaitReason.BELOW_THRESHOLD,
        reason='waiting for ring "pilot": its success rate 90% (9 of 10) is below its '
        "threshold 95%",
    ),
    Case(
        "ring 2 waits: soaking",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": replace(PASSED, finished_at=NOW - timedelta(hours=10))},
        state=ApprovalState.NOT_YET,
        wait=WaitReason.SOAKING,
        until=NOW + timedelta(hours=38),
        reason='waiting for ring "pilot": soaking until 2026-11-29 04:00 UTC',
    ),
    Case(
        "ring 2 goes: exactly at the threshold (19 of 20 = 95%) and soaked",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": PASSED},
        state=ApprovalState.APPROVED,
        approved_from=SOAKED + timedelta(hours=48),
        reason='approved since 2026-11-27 02:00 UTC (rule 4 "Critical security" → auto-approve '
        'on release); ring "broad": ring "pilot" passed (95% (19 of 20) ≥ 95%, soaked 48 h)',
    ),
    Case(
        "a regression in ring 1 halts ring 2",
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": replace(PASSED, open_regressions=1)},
        state=ApprovalState.NOT_YET,
        wait=WaitReason.REGRESSION,
        reason='ring "broad" is halted: 1 open regression attributed to this patch in ring '
        '"pilot", until a technician clears it',
    ),
    Case(
        "a regression does not halt its own ring",
        rings=RINGS,
        ring=PILOT,
        progress={"pilot": replace(PASSED, open_regressions=1)},
        state=ApprovalState.APPROVED,
    ),
    Case(
        "a manual approve still respects the rings",
        patch=NVIDIA,
        decisions=(manual(APPROVE),),
        rings=RINGS,
        ring=BROAD,
        progress={"pilot": RingProgress(needing=1)},
        state=ApprovalState.NOT_YET,
        by=DecidedBy.MANUAL,
        wait=WaitReason.NOT_DEPLOYED,
    ),
    Case(
        "a device in no ring is not deployed and needs a technician",
        rings=(PILOT, RingSpec.of(1, "broad", ["office"], 0, 0.9)),
        ring=None,
        state=ApprovalState.PENDING_MANUAL,
        by=DecidedBy.NO_RING,
        rule=4,
        reason='the device is in no ring ("pilot", "broad"), so it is not deployed',
    ),
]


@pytest.mark.parametrize("case", RULE_CASES + MANUAL_CASES + RING_CASES, ids=lambda c: c.id)
def test_decision_table(case: Case) -> None:
    decision = run(case)
    assert decision.state is case.state, decision.reason
    assert decision.decided_by is case.by, decision.reason
    if case.rule is not None:
        assert decision.rule is not None, decision.reason
        assert decision.rule.number == case.rule, decision.reason
    assert case.reason in decision.reason
    if case.approved_from is not None:
        assert decision.approved_from == case.approved_from
    if case.until is not None:
        assert decision.until == case.until
    assert (decision.wait.why if decision.wait else None) is case.wait
    assert decision.emergency is case.emergency


def test_rule_deferral_names_the_date_in_the_clients_zone() -> None:
    at_noon_utc = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 23:00 on the 27th in Sydney
    decision = run(Case("sydney", patch=OTHER_SECURITY, zone="Australia/Sydney", now=at_noon_utc))
    assert decision.state is ApprovalState.DEFERRED
    assert decision.until == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    assert decision.reason.startswith("deferred until 2026-11-28 (")


def test_title_pattern_is_case_sensitive_unless_it_says_otherwise() -> None:
    sensitive = RuleMatch.from_stored({"title_pattern": r"\bPreview\b"})
    assert sensitive.matches(patch(title="Cumulative Update Preview"))
    assert not sensitive.matches(patch(title="cumulative update preview"))
    insensitive = RuleMatch.from_stored({"title_pattern": r"(?i)\bpreview\b"})
    assert insensitive.matches(patch(title="CUMULATIVE UPDATE PREVIEW"))
    assert not insensitive.matches(patch(title="Previewer tool"))


def test_list_values_are_alternatives_and_empty_match_is_catch_all() -> None:
    match = RuleMatch.from_stored({"severities": ["critical", "important"]})
    assert match.matches(patch(severity=Severity.IMPORTANT))
    assert not match.matches(patch(severity=Severity.LOW))
    assert RuleMatch.from_stored({}).matches(PLAIN)
    assert RuleMatch.from_stored({"patch_ids": ["kb5072033"]}).matches(patch())


def test_unknown_stored_criterion_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown match criteria: colour"):
        RuleMatch.from_stored({"colour": ["red"]})


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(Case("naive", now=NOW.replace(tzinfo=None)))


def test_manual_in_effect_orders_by_time_then_input_order() -> None:
    first = manual(APPROVE, NOW - timedelta(hours=1))
    second = manual(BLOCK, NOW - timedelta(hours=1), reason="same instant, given later")
    assert manual_in_effect([first, second], DEVICE, NOW) is second
    assert manual_in_effect([second, first], DEVICE, NOW) is first
    assert manual_in_effect([], DEVICE, NOW) is None


def test_state_filters() -> None:
    assert STATE_FILTER[ApprovalState.PENDING_MANUAL] is StateFilter.PENDING
    assert STATE_FILTER[ApprovalState.NOT_YET] is StateFilter.WAITING
    assert set(STATE_FILTER) == set(ApprovalState)
    assert {f.value for f in STATE_FILTER.values()} == {
        "pending",
        "approved",
        "deferred",
        "blocked",
        "waiting",
    }


# --- rings ----------------------------------------------------------------------------------

THREE = (
    RingSpec.of(0, "canary", ["canary"], 24, 1.0),
    RingSpec.of(1, "pilot", ["pilot"], 24, 0.95),
    RingSpec.of(2, "broad", [], 0, 0.9),
)
OK = RingProgress(deployed=4, succeeded=4, finished_at=NOW - timedelta(days=3))


@pytest.mark.parametrize(
    ("progress", "wait", "halting_ring"),
    [
        ({"canary": OK, "pilot": OK}, None, None),
        ({"canary": replace(OK, open_regressions=2), "pilot": OK}, WaitReason.REGRESSION, "canary"),
        (
            {"canary": OK, "pilot": replace(OK, succeeded=3, failed=1)},
            WaitReason.BELOW_THRESHOLD,
            "pilot",
        ),
        (
            {"canary": replace(OK, succeeded=3, failed=1), "pilot": OK},
            WaitReason.BELOW_THRESHOLD,
            "canary",
        ),
        # a regression anywhere earlier is reported before the other ring's soak
        (
            {"canary": replace(OK, finished_at=NOW), "pilot": replace(OK, open_regressions=1)},
            WaitReason.REGRESSION,
            "pilot",
        ),
    ],
)
def test_every_earlier_ring_gates_the_third(
    progress: dict[str, RingProgress], wait: WaitReason | None, halting_ring: str | None
) -> None:
    decision = decide(
        patch(),
        device_id=DEVICE,
        ring=THREE[2],
        policy=ApprovalPolicy(RULES, THREE),
        blocklist=BLOCKLIST,
        progress=progress,
        now=NOW,
    )
    if wait is None:
        assert decision.state is ApprovalState.APPROVED, decision.reason
        assert decision.wait is None
    else:
        assert decision.state is ApprovalState.NOT_YET
        assert decision.wait is not None
        assert (decision.wait.why, decision.wait.ring) == (wait, halting_ring)


def test_a_cleared_regression_lets_later_rings_go() -> None:
    halted = run(
        Case("x", rings=RINGS, ring=BROAD, progress={"pilot": replace(PASSED, open_regressions=1)})
    )
    cleared = run(Case("x", rings=RINGS, ring=BROAD, progress={"pilot": PASSED}))
    assert halted.state is ApprovalState.NOT_YET
    assert cleared.state is ApprovalState.APPROVED


@pytest.mark.parametrize(
    ("tags", "rings", "expected"),
    [
        (["IT-Pilot", "cad"], RINGS, "pilot"),
        (["cad"], RINGS, "broad"),
        ([], RINGS, "broad"),
        (["pilot", "canary"], THREE, "canary"),  # the first ring sharing a tag
        ([], (PILOT, RingSpec.of(1, "office", ["office"], 0, 0.9)), None),
        (["office"], (PILOT, RingSpec.of(1, "office", ["office"], 0, 0.9)), "office"),
        (["anything"], (), None),
    ],
)
def test_ring_of(tags: list[str], rings: tuple[RingSpec, ...], expected: str | None) -> None:
    ring = ring_of(tags, rings)
    assert (ring.name if ring else None) == expected


@pytest.mark.parametrize(
    ("target", "patch_state", "outcome"),
    [
        (TargetState.VERIFIED, MissingPatchState.INSTALLED, Outcome.SUCCEEDED),
        (TargetState.VERIFIED, MissingPatchState.MISSING, Outcome.FAILED),
        (TargetState.INSTALLED, MissingPatchState.FAILED, Outcome.FAILED),
        (TargetState.INSTALL_FAILED, MissingPatchState.MISSING, Outcome.FAILED),
        (TargetState.REBOOT_FAILED, MissingPatchState.INSTALLED, Outcome.FAILED),
        (TargetState.NO_CHECKIN, MissingPatchState.INSTALLED, Outcome.FAILED),
        (TargetState.REGRESSION, MissingPatchState.INSTALLED, Outcome.FAILED),
        (TargetState.AWAITING_CHECKIN, MissingPatchState.INSTALLED, Outcome.IN_PROGRESS),
        (TargetState.DEFERRED, MissingPatchState.MISSING, Outcome.IN_PROGRESS),
        (TargetState.PENDING, MissingPatchState.MISSING, Outcome.IN_PROGRESS),
        (TargetState.MISSED, MissingPatchState.MISSING, Outcome.NOT_ATTEMPTED),
        (TargetState.SKIPPED, MissingPatchState.MISSING, Outcome.NOT_ATTEMPTED),
    ],
)
def test_outcome_of(target: TargetState, patch_state: MissingPatchState, outcome: Outcome) -> None:
    assert outcome_of(target, patch_state) is outcome


def test_ring_progress_counts_each_devices_latest_attempt() -> None:
    t0 = NOW - timedelta(days=5)
    outcomes = [
        DeviceOutcome(1, Outcome.FAILED, t0),
        DeviceOutcome(1, Outcome.SUCCEEDED, t0 + timedelta(days=1)),  # retried, succeeded
        DeviceOutcome(2, Outcome.SUCCEEDED, t0 + timedelta(hours=2)),
        DeviceOutcome(2, Outcome.NOT_ATTEMPTED, t0 + timedelta(days=2)),  # later missed: ignored
        DeviceOutcome(3, Outcome.NOT_ATTEMPTED, t0),
    ]
    progress = ring_progress(outcomes, needing=1, open_regressions=0)
    assert (progress.deployed, progress.succeeded, progress.failed) == (2, 2, 0)
    assert progress.finished_at == t0 + timedelta(days=1)
    assert progress.success_rate == 1


def test_ring_progress_has_no_finish_time_while_a_device_runs() -> None:
    outcomes = [
        DeviceOutcome(1, Outcome.SUCCEEDED, NOW),
        DeviceOutcome(2, Outcome.IN_PROGRESS, NOW),
    ]
    progress = ring_progress(outcomes, needing=0)
    assert progress.finished_at is None
    assert progress.in_progress == 1
    assert ring_progress([], needing=3).success_rate is None


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (0.95, "95%"),
        (1.0, "100%"),
        (Fraction(1999, 2000), "99.95%"),
        (Fraction(19999, 20000), "99.99%"),  # never rounded up to 100%
        (Fraction(2, 3), "66.66%"),
        (0.0, "0%"),
    ],
)
def test_percent(rate: float | Fraction, shown: str) -> None:
    assert percent(rate) == shown


# --- the listing ----------------------------------------------------------------------------


def test_patch_rows_group_devices_by_ring_and_emergency() -> None:
    need = PatchNeed(
        patch=patch(),
        devices=(
            DeviceNeed(1, "CAD-01", PILOT),
            DeviceNeed(2, "CAD-02", BROAD),
            DeviceNeed(3, "CAD-03", BROAD),
            DeviceNeed(4, "CAD-04", BROAD),
        ),
        decisions=(manual(EMERGENCY, reason="KEV", devices=(4,)),),
        progress={"pilot": RingProgress(needing=1)},
    )
    rows = patch_rows(
        "kessler", need, policy=ApprovalPolicy(RULES, RINGS), blocklist=BLOCKLIST, now=NOW
    )
    summary = [(r.decision.state, r.decision.ring, r.hostnames) for r in rows]
    assert summary == [
        (ApprovalState.APPROVED, None, ("CAD-04",)),
        (ApprovalState.APPROVED, "pilot", ("CAD-01",)),
        (ApprovalState.NOT_YET, "broad", ("CAD-02", "CAD-03")),
    ]
    assert rows[0].decision.emergency
    assert [r.devices for r in filter_rows(rows, StateFilter.WAITING)] == [2]
    assert len(filter_rows(rows, StateFilter.APPROVED)) == 2
    assert filter_rows(rows, StateFilter.BLOCKED) == []
    assert len(filter_rows(rows, None)) == 3


# --- properties -----------------------------------------------------------------------------

classifications = st.sampled_from(list(Classification))
severities = st.sampled_from(list(Severity))
names = st.sampled_from(["Microsoft", "NVIDIA", "nvidia", "Google", "Zoom Workplace", ""])
patches = st.builds(
    PatchFacts,
    vendor_id=st.sampled_from(["KB5034441", "kb5034441", "KB5072033", "Google.Chrome-143"]),
    title=st.sampled_from(["Cumulative Update", "Cumulative Update Preview", "Chrome 143"]),
    vendor=names,
    product=names,
    classification=classifications,
    severity=severities,
    release_date=st.dates(date(2026, 1, 1), date(2027, 6, 1)),
)
matches = st.fixed_dictionaries(
    {},
    optional={
        "classifications": st.lists(classifications.map(str), min_size=1, max_size=3),
        "severities": st.lists(severities.map(str), min_size=1, max_size=3),
        "vendors": st.lists(names, min_size=1, max_size=2),
        "title_pattern": st.sampled_from([r"(?i)preview", "Update", "^Chrome"]),
    },
)
rules = st.lists(
    st.builds(
        lambda m, action, days: (m, action, days if action in ("auto", "defer") else 0),
        matches,
        st.sampled_from(list(RuleAction)),
        st.integers(1, 200),
    ),
    max_size=5,
).map(
    lambda items: tuple(
        Rule(n, f"rule {n}", RuleMatch.from_stored(m), RuleAction(a), d)
        for n, (m, a, d) in enumerate(items, start=1)
    )
)
instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 1), timezones=st.just(UTC))
manuals = st.lists(
    st.builds(
        ManualDecision,
        kind=st.sampled_from(list(ApprovalDecisionKind)),
        decided_at=instants,
        operator=st.just("alice"),
        reason=st.just("because"),
        until=st.one_of(st.none(), instants),
        device_ids=st.frozensets(st.sampled_from([DEVICE, OTHER]), max_size=2),
    ),
    max_size=4,
)


@st.composite
def progresses(draw: st.DrawFn) -> RingProgress:
    """Consistent progress: a finish time exactly when something finished and nothing runs."""
    succeeded, failed, running = (draw(st.integers(0, 3)) for _ in range(3))
    done = succeeded + failed > 0 and running == 0
    return RingProgress(
        needing=draw(st.integers(0, 3)),
        deployed=succeeded + failed + running,
        succeeded=succeeded,
        failed=failed,
        finished_at=draw(instants) if done else None,
        open_regressions=draw(st.integers(0, 1)),
    )


ring_sets = st.sampled_from([(), RINGS, THREE])


@settings(max_examples=300, deadline=None)
@given(
    patch_=patches,
    rules_=rules,
    decisions=manuals,
    rings=ring_sets,
    ring_index=st.integers(0, 3),
    progress=st.dictionaries(st.sampled_from(["canary", "pilot", "broad"]), progresses()),
    now=instants,
)
def test_properties(
    patch_: PatchFacts,
    rules_: tuple[Rule, ...],
    decisions: list[ManualDecision],
    rings: tuple[RingSpec, ...],
    ring_index: int,
    progress: dict[str, RingProgress],
    now: datetime,
) -> None:
    ring = rings[ring_index] if ring_index < len(rings) else None
    policy = ApprovalPolicy(rules_, rings)

    def once() -> Decision:
        return decide(
            patch_,
            device_id=DEVICE,
            ring=ring,
            policy=policy,
            blocklist=BLOCKLIST,
            decisions=decisions,
            progress=progress,
            now=now,
        )

    decision = once()
    # deterministic
    assert once() == decision
    # the block list always wins, whatever the rules, decisions and rings say
    blocked = patch_.vendor_id.casefold() == "kb5034441"
    assert (decision.decided_by is DecidedBy.BLOCKLIST) is blocked
    if blocked:
        assert decision.state is ApprovalState.BLOCKED
    # "approved" always means "may deploy now"; a deferral always ends in the future
    if decision.state is ApprovalState.APPROVED:
        assert decision.approved_from is not None
        assert decision.approved_from <= now
    if decision.state is ApprovalState.DEFERRED:
        assert decision.until is not None
        assert decision.until > now
    assert (decision.state is ApprovalState.NOT_YET) is (decision.wait is not None)
    assert decision.emergency is (decision.decided_by is DecidedBy.EMERGENCY)
    assert decision.reason
