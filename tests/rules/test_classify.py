"""Failure classification (rules/classify): every branch, table-driven, plus properties.

Timeline of the base case (2026-11-11, UTC): window 02:00-05:00, install succeeded, reboot
command 02:41, reboot deadline 03:00, boot 02:44, check-in 02:47, check-in deadline 03:20.
Each row overrides a few facts and says what the verdict must be.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchdesk.domain import FailureClass, RebootPolicy, RequestKind, TargetState
from patchdesk.rules.classify import (
    HealthSnapshot,
    InstallResult,
    InstallStatus,
    TargetFacts,
    classify,
    reboot_required,
)
from patchdesk.rules.response_paths import COMMON_ACTIONS, RESPONSE_PATHS, actions_for
from patchdesk.rules.verdicts import (
    CAUSE_CLASS,
    WAITING_STATE,
    Cause,
    Classification,
    Failure,
    Outcome,
    Pending,
    Unknown,
    Verified,
    Waiting,
    failure_state,
    target_state,
)

DAY = datetime(2026, 11, 11, tzinfo=UTC)
US = timedelta(microseconds=1)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


OLD_BOOT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
OBSERVATION_END = at(3, 30) + timedelta(hours=24)

BASE = TargetFacts(
    window_start=at(2),
    window_end=at(5),
    dispatched=True,
    install=InstallResult(InstallStatus.SUCCEEDED),
    reboot_policy=RebootPolicy.IF_REQUIRED,
    patch_reboot_hint=True,
    connector_needs_reboot=True,
    reboot_sent_at=at(2, 41),
    last_boot=at(2, 44),
    last_seen=at(2, 47),
    reboot_deadline=at(3),
    checkin_deadline=at(3, 20),
    health_before={"disk": True, "web": True, "db": False},
    observation_end=OBSERVATION_END,
)

NOT_DISPATCHED: dict[str, Any] = {
    "dispatched": False,
    "install": InstallResult(),
    "reboot_sent_at": None,
    "last_boot": OLD_BOOT,
    "last_seen": at(1, 12),
}
NO_REBOOT_YET: dict[str, Any] = {
    "reboot_sent_at": None,
    "last_boot": OLD_BOOT,
    "last_seen": at(2, 30),
}
NO_REBOOT_NEEDED: dict[str, Any] = {
    **NO_REBOOT_YET,
    "patch_reboot_hint": False,
    "connector_needs_reboot": False,
}
HUNG: dict[str, Any] = {"last_boot": OLD_BOOT, "last_seen": at(2, 40)}
NO_CHECKIN: dict[str, Any] = {"last_seen": at(2, 40)}
DOWN: dict[str, Any] = {"connector_reachable": False}


def installing(status: InstallStatus) -> dict[str, Any]:
    return {"install": InstallResult(status, "0x80070643" if status == "failed" else None)}


def health(taken_at: datetime, **checks: bool) -> dict[str, Any]:
    return {"health_after": HealthSnapshot(taken_at, checks)}


def facts(**overrides: Any) -> TargetFacts:
    return dataclasses.replace(BASE, **overrides)


def summary(result: Classification) -> str:
    if isinstance(result, Failure):
        return f"failed:{result.failure_class}:{result.cause}"
    if isinstance(result, Pending):
        return f"pending:{result.waiting}"
    return str(result.kind)


def row(
    case_id: str, overrides: dict[str, Any], now: datetime, expected: str
) -> Any:  # a pytest ParameterSet
    return pytest.param(overrides, now, expected, id=case_id)


CASES = [
    # --- never dispatched ------------------------------------------------------------------
    row("undispatched-window-open", NOT_DISPATCHED, at(4), "pending:dispatch"),
    row("undispatched-at-window-end-inclusive", NOT_DISPATCHED, at(5), "pending:dispatch"),
    row("missed-offline-whole-window", NOT_DISPATCHED, at(5) + US, "failed:offline:missed"),
    row(
        "missed-never-seen",
        {**NOT_DISPATCHED, "last_seen": None},
        at(5) + US,
        "failed:offline:missed",
    ),
    row(
        "missed-seen-just-before-window",
        {**NOT_DISPATCHED, "last_seen": at(2) - US},
        at(6),
        "failed:offline:missed",
    ),
    row(
        "undispatched-seen-at-window-start-carried-over",
        {**NOT_DISPATCHED, "last_seen": at(2)},
        at(6),
        "pending:next_window",
    ),
    row(
        "undispatched-seen-during-window-carried-over",
        {**NOT_DISPATCHED, "last_seen": at(3, 10)},
        at(6),
        "pending:next_window",
    ),
    row("missed-connector-down-is-unknown", {**NOT_DISPATCHED, **DOWN}, at(6), "unknown"),
    row("undispatched-connector-down-window-open", {**NOT_DISPATCHED, **DOWN}, at(4), "unknown"),
    # --- install ---------------------------------------------------------------------------
    row(
        "install-failed",
        installing(InstallStatus.FAILED),
        at(2, 30),
        "failed:install:install_error",
    ),
    row(
        "install-failed-connector-down-stands",
        {**installing(InstallStatus.FAILED), **DOWN},
        at(2, 30),
        "failed:install:install_error",
    ),
    row(
        "install-failed-beats-health-regression",
        {**installing(InstallStatus.FAILED), **health(at(2, 30), web=False)},
        at(2, 30),
        "failed:install:install_error",
    ),
    row("install-running", installing(InstallStatus.RUNNING), at(4), "pending:install"),
    row("install-no-result-yet", installing(InstallStatus.UNKNOWN), at(4), "pending:install"),
    row(
        "install-running-at-window-end-inclusive",
        installing(InstallStatus.RUNNING),
        at(5),
        "pending:install",
    ),
    row(
        "install-running-after-window-end",
        installing(InstallStatus.RUNNING),
        at(5) + US,
        "failed:install:install_no_result",
    ),
    row(
        "install-no-result-after-window-end",
        installing(InstallStatus.UNKNOWN),
        at(5) + US,
        "failed:install:install_no_result",
    ),
    row(
        "install-running-after-window-connector-down",
        {**installing(InstallStatus.RUNNING), **DOWN},
        at(6),
        "unknown",
    ),
    row(
        "install-running-connector-down",
        {**installing(InstallStatus.RUNNING), **DOWN},
        at(4),
        "unknown",
    ),
    # --- reboot policy x patch hint x connector needs_reboot (reboot not sent, 02:50) ------
    *[
        row(
            f"policy-{policy}-hint-{hint}-needs-{needs}",
            {
                **NO_REBOOT_YET,
                "reboot_policy": policy,
                "patch_reboot_hint": hint,
                "connector_needs_reboot": needs,
            },
            at(2, 50),
            expected,
        )
        for policy, hint, needs, expected in [
            (RebootPolicy.NEVER, False, False, "verified"),
            (RebootPolicy.NEVER, True, True, "verified"),
            (RebootPolicy.IF_REQUIRED, False, False, "verified"),
            (RebootPolicy.IF_REQUIRED, True, False, "pending:reboot"),
            (RebootPolicy.IF_REQUIRED, False, True, "pending:reboot"),
            (RebootPolicy.IF_REQUIRED, True, True, "pending:reboot"),
            (RebootPolicy.ALWAYS, False, False, "pending:reboot"),
        ]
    ],
    row(
        "policy-always-never-rebooted",
        {**NO_REBOOT_NEEDED, "reboot_policy": RebootPolicy.ALWAYS},
        at(3) + US,
        "failed:reboot:reboot_not_started",
    ),
    row(
        "policy-never-operator-reboot-hung",
        {**HUNG, "reboot_policy": RebootPolicy.NEVER},
        at(3) + US,
        "failed:reboot:reboot_no_boot",
    ),
    row(
        "policy-never-operator-reboot-came-back",
        {"reboot_policy": RebootPolicy.NEVER},
        at(3, 30),
        "verified",
    ),
    row(
        "if-required-no-need-but-reboot-sent-never-checked-in",
        {**NO_CHECKIN, "patch_reboot_hint": False, "connector_needs_reboot": False},
        at(3, 20) + US,
        "failed:offline:no_checkin",
    ),
    # --- reboot needed, command not sent ---------------------------------------------------
    row("reboot-not-sent-at-deadline-inclusive", NO_REBOOT_YET, at(3), "pending:reboot"),
    row(
        "reboot-not-sent-after-deadline",
        NO_REBOOT_YET,
        at(3) + US,
        "failed:reboot:reboot_not_started",
    ),
    row(
        "deferrals-exhausted-still-not-rebooted",
        {**NO_REBOOT_YET, "deferrals_used": 3, "deferrals_allowed": 3},
        at(3) + US,
        "failed:reboot:reboot_not_started",
    ),
    row(
        "deferrals-exhausted-before-deadline",
        {**NO_REBOOT_YET, "deferrals_used": 3, "deferrals_allowed": 3},
        at(2, 50),
        "pending:reboot",
    ),
    row(
        "reboot-deadline-unset-uses-window-end",
        {**NO_REBOOT_YET, "reboot_deadline": None},
        at(5),
        "pending:reboot",
    ),
    row(
        "reboot-deadline-unset-window-closed",
        {**NO_REBOOT_YET, "reboot_deadline": None},
        at(5) + US,
        "failed:reboot:reboot_not_started",
    ),
    row("reboot-not-sent-connector-down", {**NO_REBOOT_YET, **DOWN}, at(4), "unknown"),
    # --- reboot command sent, no boot later than it ----------------------------------------
    row("rebooting", HUNG, at(2, 50), "pending:boot"),
    row(
        "checked-in-without-reboot-before-deadline",
        {**HUNG, "last_seen": at(2, 45)},
        at(2, 50),
        "pending:boot",
    ),
    row("no-boot-at-deadline-inclusive", HUNG, at(3), "pending:boot"),
    row("no-boot-after-deadline", HUNG, at(3) + US, "failed:reboot:reboot_no_boot"),
    row(
        "boot-time-unknown",
        {**HUNG, "last_boot": None},
        at(3) + US,
        "failed:reboot:reboot_no_boot",
    ),
    row(
        "checked-in-without-reboot",
        {**HUNG, "last_seen": at(2, 50)},
        at(3, 30),
        "failed:reboot:reboot_skipped",
    ),
    row(
        "boot-at-command-instant-is-not-a-reboot",
        {"last_boot": at(2, 41), "last_seen": at(2, 50)},
        at(3, 30),
        "failed:reboot:reboot_skipped",
    ),
    row(
        "checkin-at-command-instant-is-not-after-it",
        {**HUNG, "last_seen": at(2, 41)},
        at(3, 30),
        "failed:reboot:reboot_no_boot",
    ),
    row(
        "deferrals-exhausted-forced-reboot-hung",
        {**HUNG, "deferrals_used": 2, "deferrals_allowed": 2},
        at(3, 30),
        "failed:reboot:reboot_no_boot",
    ),
    row("hung-reboot-connector-down", {**HUNG, **DOWN}, at(3, 30), "unknown"),
    row(
        "checked-in-without-reboot-connector-down",
        {**HUNG, "last_seen": at(2, 50), **DOWN},
        at(3, 30),
        "unknown",
    ),
    # --- booted after the command, no check-in after the boot ------------------------------
    row("rebooted-awaiting-checkin", NO_CHECKIN, at(3, 10), "pending:checkin"),
    row("checkin-deadline-inclusive", NO_CHECKIN, at(3, 20), "pending:checkin"),
    row(
        "rebooted-never-checked-in",
        NO_CHECKIN,
        at(3, 20) + US,
        "failed:offline:no_checkin",
    ),
    row(
        "checkin-at-boot-instant-is-not-after-it",
        {"last_seen": at(2, 44)},
        at(3, 30),
        "failed:offline:no_checkin",
    ),
    row(
        "rebooted-never-seen",
        {"last_seen": None},
        at(3, 30),
        "failed:offline:no_checkin",
    ),
    row(
        "checkin-deadline-unset-uses-window-end",
        {**NO_CHECKIN, "checkin_deadline": None},
        at(5),
        "pending:checkin",
    ),
    row(
        "checkin-deadline-unset-window-closed",
        {**NO_CHECKIN, "checkin_deadline": None},
        at(5) + US,
        "failed:offline:no_checkin",
    ),
    row(
        "late-boot-counts-then-awaits-checkin",
        {"last_boot": at(3, 5), "last_seen": at(3, 1)},
        at(3, 10),
        "pending:checkin",
    ),
    row(  # a slow reboot (booted at 3:15, within its 30 min) still gets the whole timeout
        "slow-boot-gets-the-checkin-timeout-from-the-boot",
        {"last_boot": at(3, 15), "last_seen": at(3, 1), "checkin_timeout": timedelta(minutes=20)},
        at(3, 30),
        "pending:checkin",
    ),
    row(
        "slow-boot-checkin-timeout-from-the-boot-passed",
        {"last_boot": at(3, 15), "last_seen": at(3, 1), "checkin_timeout": timedelta(minutes=20)},
        at(3, 35) + US,
        "failed:offline:no_checkin",
    ),
    row(
        "rebooted-never-checked-in-connector-down",
        {**NO_CHECKIN, **DOWN},
        at(3, 30),
        "unknown",
    ),
    row(
        "offline-beats-health-regression",
        {**NO_CHECKIN, **health(at(3, 30), web=False)},
        at(3, 30),
        "failed:offline:no_checkin",
    ),
    # --- verified ----------------------------------------------------------------------------
    row("verified-after-reboot", {}, at(3, 30), "verified"),
    row("verified-before-any-deadline", {}, at(2, 50), "verified"),
    row("verified-checkin-at-deadline", {"last_seen": at(3, 20)}, at(3, 30), "verified"),
    row("verified-late-checkin-counts", {"last_seen": at(3, 25)}, at(3, 30), "verified"),
    row("verified-connector-down-stands", DOWN, at(3, 30), "verified"),
    row("verified-no-reboot-needed", NO_REBOOT_NEEDED, at(2, 30), "verified"),
    # --- health checks -----------------------------------------------------------------------
    row(
        "regression-within-observation",
        health(at(4), disk=True, web=False, db=False),
        at(4),
        "failed:regression:health_regression",
    ),
    row(
        "regression-at-observation-end-inclusive",
        health(OBSERVATION_END, web=False),
        OBSERVATION_END + US,
        "failed:regression:health_regression",
    ),
    row(
        "failing-after-observation-not-attributed",
        health(OBSERVATION_END + US, web=False),
        OBSERVATION_END + US,
        "verified",
    ),
    row("preexisting-failure-not-regression", health(at(4), db=False), at(4), "verified"),
    row("check-without-baseline-not-regression", health(at(4), av=False), at(4), "verified"),
    row(
        "no-baseline-not-regression",
        {**health(at(4), web=False), "health_before": None},
        at(4),
        "verified",
    ),
    row(
        "no-observation-period-not-attributed",
        {**health(at(4), web=False), "observation_end": None},
        at(4),
        "verified",
    ),
    row("checks-all-passing", health(at(4), disk=True, web=True, db=True), at(4), "verified"),
    row(
        "regression-connector-down-stands",
        {**health(at(4), web=False), **DOWN},
        at(4),
        "failed:regression:health_regression",
    ),
    row(
        "regression-without-reboot",
        {**NO_REBOOT_NEEDED, **health(at(4), disk=False)},
        at(4),
        "failed:regression:health_regression",
    ),
]


@pytest.mark.parametrize(("overrides", "now", "expected"), CASES)
def test_classify(overrides: dict[str, Any], now: datetime, expected: str) -> None:
    assert summary(classify(facts(**overrides), now)) == expected


def test_every_cause_and_waiting_state_is_covered_by_the_table() -> None:
    expected = {case.values[2] for case in CASES}
    causes = {e.rsplit(":", 1)[1] for e in expected if e.startswith("failed:")}
    waits = {e.split(":")[1] for e in expected if e.startswith("pending:")}
    # not_reached is the engine's, not a verdict of classify: a server the window closed on
    # before its turn (engine.missed)
    assert causes == {str(c) for c in Cause} - {str(Cause.NOT_REACHED)}
    assert waits == {str(w) for w in Waiting}
    assert {"verified", "unknown"} <= expected


# --- reboot_required ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "hint", "needs", "expected"),
    [
        pytest.param(policy, hint, needs, expected, id=f"{policy}-hint-{hint}-needs-{needs}")
        for policy, expected_by_facts in [
            (RebootPolicy.NEVER, (False, False, False, False)),
            (RebootPolicy.IF_REQUIRED, (False, True, True, True)),
            (RebootPolicy.ALWAYS, (True, True, True, True)),
        ]
        for (hint, needs), expected in zip(
            [(False, False), (True, False), (False, True), (True, True)],
            expected_by_facts,
            strict=True,
        )
    ],
)
def test_reboot_required(policy: RebootPolicy, hint: bool, needs: bool, expected: bool) -> None:
    assert reboot_required(policy, hint, needs) is expected


# --- mappings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "failure_class", "state"),
    [
        (Cause.INSTALL_ERROR, FailureClass.INSTALL, TargetState.INSTALL_FAILED),
        (Cause.INSTALL_NO_RESULT, FailureClass.INSTALL, TargetState.INSTALL_FAILED),
        (Cause.REBOOT_NOT_STARTED, FailureClass.REBOOT, TargetState.REBOOT_FAILED),
        (Cause.REBOOT_NO_BOOT, FailureClass.REBOOT, TargetState.REBOOT_FAILED),
        (Cause.REBOOT_SKIPPED, FailureClass.REBOOT, TargetState.REBOOT_FAILED),
        (Cause.NO_CHECKIN, FailureClass.OFFLINE, TargetState.NO_CHECKIN),
        (Cause.MISSED, FailureClass.OFFLINE, TargetState.MISSED),
        (Cause.HEALTH_REGRESSION, FailureClass.REGRESSION, TargetState.REGRESSION),
    ],
    ids=str,
)
def test_cause_gives_class_and_failure_state(
    cause: Cause, failure_class: FailureClass, state: TargetState
) -> None:
    failure = Failure(cause, "reason")
    assert failure.failure_class is failure_class
    assert failure_state(failure) is state
    assert target_state(failure) is state


def test_cause_table_is_complete() -> None:
    assert set(CAUSE_CLASS) == set(Cause)
    assert set(CAUSE_CLASS.values()) == set(FailureClass)


@pytest.mark.parametrize(
    ("waiting", "state"),
    [
        (Waiting.DISPATCH, TargetState.PENDING),
        (Waiting.INSTALL, TargetState.INSTALLING),
        (Waiting.REBOOT, TargetState.REBOOT_PENDING),
        (Waiting.BOOT, TargetState.REBOOTING),
        (Waiting.CHECKIN, TargetState.AWAITING_CHECKIN),
        (Waiting.NEXT_WINDOW, TargetState.MISSED),
    ],
    ids=str,
)
def test_pending_target_state(waiting: Waiting, state: TargetState) -> None:
    assert set(WAITING_STATE) == set(Waiting)
    assert target_state(Pending(waiting, "reason")) is state


def test_verified_and_unknown_target_state() -> None:
    assert target_state(Verified("ok")) is TargetState.VERIFIED
    assert target_state(Unknown("connector unreachable")) is None


# --- what the results carry --------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "now", "deadline"),
    [
        pytest.param(NOT_DISPATCHED, at(4), at(5), id="dispatch-by-window-end"),
        pytest.param(installing(InstallStatus.RUNNING), at(4), at(5), id="install-by-window-end"),
        pytest.param(NO_REBOOT_YET, at(2, 50), at(3), id="reboot-by-reboot-deadline"),
        pytest.param(HUNG, at(2, 50), at(3), id="boot-by-reboot-deadline"),
        pytest.param(NO_CHECKIN, at(3, 10), at(3, 20), id="checkin-by-checkin-deadline"),
        pytest.param(
            {**NOT_DISPATCHED, "last_seen": at(3)}, at(6), None, id="next-window-no-deadline"
        ),
    ],
)
def test_pending_carries_its_deadline(
    overrides: dict[str, Any], now: datetime, deadline: datetime | None
) -> None:
    result = classify(facts(**overrides), now)
    assert isinstance(result, Pending)
    assert result.deadline == deadline
    assert result.kind is Outcome.PENDING


@pytest.mark.parametrize(
    ("now", "watch_until"),
    [
        pytest.param(at(3, 30), OBSERVATION_END, id="watching"),
        pytest.param(OBSERVATION_END, OBSERVATION_END, id="last-instant-inclusive"),
        pytest.param(OBSERVATION_END + US, None, id="observation-over"),
    ],
)
def test_verified_watch_until(now: datetime, watch_until: datetime | None) -> None:
    result = classify(BASE, now)
    assert isinstance(result, Verified)
    assert result.watch_until == watch_until


def test_verified_without_observation_period_watches_nothing() -> None:
    result = classify(facts(observation_end=None), at(3, 30))
    assert isinstance(result, Verified)
    assert result.watch_until is None


@pytest.mark.parametrize(
    ("overrides", "now", "reason"),
    [
        pytest.param(
            NO_CHECKIN,
            at(3, 21),
            "no check-in by 03:20 UTC after reboot at 02:44 UTC",
            id="offline",
        ),
        pytest.param(
            NOT_DISPATCHED,
            at(6),
            "missed: offline for the whole window 02:00 UTC–05:00 UTC, last seen 01:12 UTC",
            id="missed",
        ),
        pytest.param(
            {**NOT_DISPATCHED, "last_seen": None},
            at(6),
            "missed: offline for the whole window 02:00 UTC–05:00 UTC, last seen never",
            id="missed-never-seen",
        ),
        pytest.param(
            {**NOT_DISPATCHED, "last_seen": at(3, 10)},
            at(6),
            "window closed at 05:00 UTC before dispatch; device seen at 03:10 UTC, "
            "carried to the next window",
            id="carried-over",
        ),
        pytest.param(
            installing(InstallStatus.FAILED),
            at(3),
            "install failed (error 0x80070643)",
            id="install-error-code",
        ),
        pytest.param(
            {"install": InstallResult(InstallStatus.FAILED)},
            at(3),
            "install failed (no error code)",
            id="install-no-error-code",
        ),
        pytest.param(
            installing(InstallStatus.RUNNING),
            at(6),
            "no install result by the window end at 05:00 UTC (still running)",
            id="install-overran",
        ),
        pytest.param(
            installing(InstallStatus.UNKNOWN),
            at(4),
            "install no result reported; result due by 05:00 UTC",
            id="install-waiting",
        ),
        pytest.param(
            {**NO_REBOOT_YET, "deferrals_used": 3, "deferrals_allowed": 3},
            at(3, 1),
            "no reboot by 03:00 UTC: the reboot command was never sent; "
            "user deferrals exhausted (3 of 3)",
            id="deferrals-exhausted",
        ),
        pytest.param(
            {**NO_REBOOT_YET, "deferrals_used": 1, "deferrals_allowed": 3},
            at(2, 50),
            "installed; reboot needed by 03:00 UTC, command not sent yet; "
            "user deferred 1 of 3 times",
            id="deferred-once",
        ),
        pytest.param(
            {**HUNG, "deferrals_used": 2, "deferrals_allowed": 2},
            at(3, 1),
            "no boot after the reboot command at 02:41 UTC by 03:00 UTC; "
            "user deferrals exhausted (2 of 2)",
            id="forced-reboot-hung",
        ),
        pytest.param(
            {**HUNG, "last_seen": at(2, 50)},
            at(3, 1),
            "did not reboot: checked in at 02:50 UTC after the reboot command at 02:41 UTC, "
            "but its last boot (2026-11-01 08:00 UTC) is not later",
            id="did-not-reboot",
        ),
        pytest.param(
            {**HUNG, "last_boot": None, "last_seen": at(2, 50)},
            at(3, 1),
            "did not reboot: checked in at 02:50 UTC after the reboot command at 02:41 UTC, "
            "but its last boot (unknown) is not later",
            id="did-not-reboot-boot-unknown",
        ),
        pytest.param(
            HUNG, at(2, 50), "reboot command sent at 02:41 UTC; boot due by 03:00 UTC", id="boot"
        ),
        pytest.param(
            NO_CHECKIN,
            at(3, 10),
            "rebooted at 02:44 UTC; check-in due by 03:20 UTC",
            id="awaiting-checkin",
        ),
        pytest.param(
            {},
            at(3, 30),
            "verified: install succeeded, rebooted at 02:44 UTC, checked in at 02:47 UTC",
            id="verified-reboot",
        ),
        pytest.param(
            {**NO_REBOOT_YET, "reboot_policy": RebootPolicy.NEVER},
            at(3, 30),
            "verified: install succeeded; reboot left to the user (reboot policy never)",
            id="verified-policy-never",
        ),
        pytest.param(
            NO_REBOOT_NEEDED,
            at(3, 30),
            "verified: install succeeded; no reboot needed",
            id="verified-no-reboot",
        ),
        pytest.param(
            health(at(4), disk=False, web=False, db=False),
            at(4),
            "health checks failing after the patch: disk, web (passing before)",
            id="regression",
        ),
        pytest.param(
            health(OBSERVATION_END + US, web=False),
            OBSERVATION_END + US,
            "verified: install succeeded, rebooted at 2026-11-11 02:44 UTC, checked in at "
            "2026-11-11 02:47 UTC; web failing after the observation period (not attributed)",
            id="not-attributed-and-dated",
        ),
        pytest.param(
            {**NO_CHECKIN, **DOWN},
            at(3, 21),
            "connector unreachable: no check-in by 03:20 UTC after reboot at 02:44 UTC "
            "(not counted as offline)",
            id="unknown-not-offline",
        ),
        pytest.param(
            {**HUNG, **DOWN},
            at(2, 50),
            "connector unreachable: reboot command sent at 02:41 UTC; boot due by 03:00 UTC",
            id="unknown-while-waiting",
        ),
    ],
)
def test_reason(overrides: dict[str, Any], now: datetime, reason: str) -> None:
    assert classify(facts(**overrides), now).reason == reason


def test_times_in_other_zones_are_shown_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    result = classify(facts(**NO_CHECKIN), at(3, 21).astimezone(plus_two))
    assert result.reason == "no check-in by 03:20 UTC after reboot at 02:44 UTC"


def test_failure_evidence_has_the_exact_facts() -> None:
    result = classify(facts(**NO_CHECKIN), at(3, 21))
    evidence = dict(result.evidence)
    assert evidence["reboot_sent_at"] == at(2, 41)
    assert evidence["last_boot"] == at(2, 44)
    assert evidence["last_seen"] == at(2, 40)
    assert evidence["checkin_deadline"] == at(3, 20)


def test_regression_evidence_names_only_new_failures() -> None:
    result = classify(facts(**health(at(4), web=False, db=False)), at(4))
    evidence = dict(result.evidence)
    assert evidence["newly_failing"] == ("web",)
    assert evidence["failing_before"] == ("db",)
    assert evidence["health_checked_at"] == at(4)
    assert evidence["observation_end"] == OBSERVATION_END


def test_install_evidence_keeps_the_connector_message() -> None:
    install = InstallResult(InstallStatus.FAILED, "0x80070643", "Fatal error during install")
    evidence = dict(classify(facts(install=install), at(3)).evidence)
    assert evidence["error_code"] == "0x80070643"
    assert evidence["error_message"] == "Fatal error during install"


def test_unknown_evidence_says_connector_unreachable() -> None:
    result = classify(facts(**NO_CHECKIN, **DOWN), at(3, 21))
    assert isinstance(result, Unknown)
    assert dict(result.evidence)["connector_reachable"] is False
    assert dict(result.evidence)["last_boot"] == at(2, 44)


def test_deferrals_exhausted_property() -> None:
    assert facts(deferrals_used=3, deferrals_allowed=3).deferrals_exhausted
    assert not facts(deferrals_used=2, deferrals_allowed=3).deferrals_exhausted
    assert facts(deferrals_used=0, deferrals_allowed=0).deferrals_exhausted


# --- bad input -----------------------------------------------------------------------------

NAIVE = datetime(2026, 11, 11, 3, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"window_start": NAIVE}, "window_start must be timezone-aware", id="window"),
        pytest.param({"last_seen": NAIVE}, "last_seen must be timezone-aware", id="last-seen"),
        pytest.param(
            {"observation_end": NAIVE}, "observation_end must be timezone-aware", id="obs-end"
        ),
        pytest.param({"window_end": at(2)}, "window_end must be later", id="empty-window"),
        pytest.param({"dispatched": False}, "never dispatched has no install result", id="nd"),
        pytest.param({"deferrals_used": -1}, "cannot be negative", id="negative-deferrals"),
    ],
)
def test_bad_facts_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        facts(**overrides)


def test_naive_health_snapshot_is_refused() -> None:
    with pytest.raises(ValueError, match=r"health_after\.taken_at must be timezone-aware"):
        HealthSnapshot(NAIVE, {"web": True})


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        classify(BASE, NAIVE)


# --- response paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure_class", "ids"),
    [
        (
            FailureClass.INSTALL,
            [
                "retry_install",
                "clear_update_cache",
                "free_disk",
                "manual_install",
                "exclude_patch",
            ],
        ),
        (FailureClass.REBOOT, ["force_reboot", "schedule_reboot", "contact_user"]),
        (
            FailureClass.REGRESSION,
            ["rollback_patch", "block_patch_client", "block_patch_global", "vendor_case"],
        ),
        (FailureClass.OFFLINE, ["wake_on_lan", "power_cycle", "contact_site", "dispatch_onsite"]),
    ],
    ids=str,
)
def test_actions_for_class(failure_class: FailureClass, ids: list[str]) -> None:
    common = ["note", "acknowledge", "escalate", "resolve", "reopen"]
    actions = actions_for(failure_class)
    assert [a.id for a in actions] == ids + common
    assert all(a.label for a in actions)


def test_every_engine_command_is_offered_by_some_action() -> None:
    offered = {a.command for path in RESPONSE_PATHS.values() for a in path + COMMON_ACTIONS}
    assert set(RequestKind) <= offered
    assert set(RESPONSE_PATHS) == set(FailureClass)


def test_action_commands() -> None:
    by_id = {a.id: a.command for path in RESPONSE_PATHS.values() for a in path + COMMON_ACTIONS}
    assert by_id["retry_install"] is RequestKind.RETRY_INSTALL
    assert by_id["force_reboot"] is RequestKind.FORCE_REBOOT
    assert by_id["rollback_patch"] is RequestKind.ROLLBACK_PATCH
    assert by_id["block_patch_global"] is RequestKind.BLOCK_PATCH
    assert by_id["wake_on_lan"] is RequestKind.WAKE_DEVICE
    assert by_id["resolve"] is RequestKind.RESOLVE
    assert by_id["contact_user"] is None


# --- properties ----------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=36 * 60)
moments = minutes.map(lambda m: DAY + timedelta(minutes=m))
optional_moments = st.none() | moments
check_results = st.dictionaries(st.sampled_from(["disk", "web", "db", "av"]), st.booleans())


@st.composite
def target_facts(draw: st.DrawFn) -> TargetFacts:
    start = draw(moments)
    dispatched = draw(st.booleans())
    status = draw(st.sampled_from(InstallStatus)) if dispatched else InstallStatus.UNKNOWN
    return TargetFacts(
        window_start=start,
        window_end=start + timedelta(minutes=draw(st.integers(1, 600))),
        dispatched=dispatched,
        install=InstallResult(status, draw(st.none() | st.just("0x1"))),
        reboot_policy=draw(st.sampled_from(RebootPolicy)),
        patch_reboot_hint=draw(st.booleans()),
        connector_needs_reboot=draw(st.booleans()),
        reboot_sent_at=draw(optional_moments),
        last_boot=draw(optional_moments),
        last_seen=draw(optional_moments),
        reboot_deadline=draw(optional_moments),
        checkin_deadline=draw(optional_moments),
        deferrals_used=draw(st.integers(0, 4)),
        deferrals_allowed=draw(st.integers(0, 4)),
        health_before=draw(st.none() | check_results),
        health_after=draw(st.none() | st.builds(HealthSnapshot, moments, check_results)),
        observation_end=draw(optional_moments),
        connector_reachable=draw(st.booleans()),
    )


@settings(max_examples=500, deadline=None)
@given(target_facts(), moments)
def test_connector_unreachable_is_never_offline(f: TargetFacts, now: datetime) -> None:
    result = classify(dataclasses.replace(f, connector_reachable=False), now)
    assert not (isinstance(result, Failure) and result.failure_class is FailureClass.OFFLINE)
    # Only what is proven by facts in hand stands; everything else is unknown.
    assert isinstance(result, Verified | Unknown) or (
        isinstance(result, Failure)
        and result.cause in (Cause.INSTALL_ERROR, Cause.HEALTH_REGRESSION)
    )


@settings(max_examples=500, deadline=None)
@given(target_facts(), moments)
def test_unreachable_keeps_proven_verdicts_and_masks_the_rest(
    f: TargetFacts, now: datetime
) -> None:
    up = classify(dataclasses.replace(f, connector_reachable=True), now)
    down = classify(dataclasses.replace(f, connector_reachable=False), now)
    proven = isinstance(up, Verified) or (
        isinstance(up, Failure) and up.cause in (Cause.INSTALL_ERROR, Cause.HEALTH_REGRESSION)
    )
    if proven:
        assert down == up
    else:
        assert isinstance(down, Unknown)
        assert down.reason == f"connector unreachable: {up.reason}" or (
            isinstance(up, Failure) and down.reason.endswith(f"(not counted as {up.failure_class})")
        )


@st.composite
def proven_facts(draw: st.DrawFn) -> TargetFacts:
    """Facts where all three proofs hold and no check newly fails within observation."""
    base = draw(target_facts())
    sent = draw(moments)
    boot = sent + timedelta(microseconds=draw(st.integers(1, 10**10)))
    seen = boot + timedelta(microseconds=draw(st.integers(1, 10**10)))
    before = base.health_before or {}
    after = base.health_after
    if after is not None:
        healed = {name: ok or before.get(name) is True for name, ok in after.checks.items()}
        after = HealthSnapshot(after.taken_at, healed)
    rebooted = draw(st.booleans())
    return dataclasses.replace(
        base,
        dispatched=True,
        install=InstallResult(InstallStatus.SUCCEEDED),
        reboot_sent_at=sent if rebooted else None,
        last_boot=boot if rebooted else base.last_boot,
        last_seen=seen if rebooted else base.last_seen,
        reboot_policy=base.reboot_policy if rebooted else RebootPolicy.NEVER,
        health_after=after,
    )


@settings(max_examples=500, deadline=None)
@given(proven_facts(), moments)
def test_all_three_proofs_hold_means_verified(f: TargetFacts, now: datetime) -> None:
    assert isinstance(classify(f, now), Verified)


@settings(max_examples=500, deadline=None)
@given(target_facts(), moments, st.integers(0, 36 * 60))
def test_a_settled_verdict_stays_settled_as_time_passes(
    f: TargetFacts, now: datetime, later_by: int
) -> None:
    first = classify(f, now)
    later = classify(f, now + timedelta(minutes=later_by))
    if isinstance(first, Failure):
        assert isinstance(later, Failure)
        assert later.cause is first.cause
    if isinstance(first, Verified):
        assert isinstance(later, Verified)
