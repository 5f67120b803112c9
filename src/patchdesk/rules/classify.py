"""Failure classification: what one target's verification facts prove, at an explicit ``now``.

Pure functions over plain values: no I/O, no database, no UI.
The reconcile step gathers the facts it has for one target (:class:`TargetFacts`), calls
:func:`classify`, and acts on the answer, one of:

- :class:`Verified`: all three proofs hold (the connector reported the install succeeded;
  if a reboot was needed, the device booted later than the reboot command; it checked in
  later than that boot) and no health check regressed within the observation period;
- :class:`Pending`: not a failure (yet): waiting for something whose deadline has not passed,
  or carried to the next window;
- :class:`Failure`: a :class:`Cause`, which fixes the failure class (install, reboot,
  regression, offline) and the lifecycle failure state (:func:`failure_state`);
- :class:`Unknown`: the connector is unreachable and the verdict would rest on data it cannot
  give. A monitoring blackout never produces ``offline`` (nor any other failure that is
  declared because evidence is missing).

Rules, in order (the first that applies decides):

1. Not dispatched: pending while the window is open. Once it has closed: ``missed``
   (offline) when the device was not seen during the window (last seen before the window
   opened, or never); otherwise the device was online but not dispatched (capacity), which is
   not the device's failure: pending, carried to the next window.
2. Install: reported failed -> ``install_error``. Running or no result: pending until the
   window end, then ``install_no_result`` (the window end is the install deadline).
3. Reboot (when :func:`reboot_required`, or whenever a reboot command was sent, e.g. an
   operator's forced reboot: a device we rebooted must prove it came back):
   no command yet -> pending until the reboot deadline, then ``reboot_not_started``;
   no boot later than the command -> pending until the reboot deadline, then
   ``reboot_skipped`` if it checked in after the command (it is up, it did not reboot) or
   ``reboot_no_boot`` if it did not;
   booted but no check-in later than that boot -> pending until the check-in deadline, then
   ``no_checkin`` (offline).
4. Health: a check that passed before the patch and fails in a snapshot taken no later than
   the observation period's end -> ``health_regression``. Checks already failing before,
   checks with no baseline, and failures seen after the observation period are not
   attributed to the patch.
5. Otherwise verified.

Decisions the engine builds on:

- Deadlines are inclusive: at ``now == deadline`` the target is still pending; it fails only
  once ``now`` is strictly later. A missing reboot or check-in deadline falls back to the
  window end. The window end is the deadline for dispatch and for the install result.
- "Later than" is strict: a boot at the instant of the reboot command does not prove a
  reboot, and a check-in at the instant of the boot does not prove a check-in after it.
- Deadlines decide when *missing* evidence becomes a failure; evidence counts whenever it
  arrives. ``last_seen`` is the device's latest check-in, so a check-in after the deadline
  cannot be told from an in-time one followed by later ones; the verdict is therefore stable
  when re-run (a verified device that keeps checking in stays verified), and a device that
  comes back after its deadline reads as verified from then on. Whether that closes an
  exception opened meanwhile is the reconcile step's decision.
- When the connector is unreachable, only verdicts proven by facts already in hand stand
  (verified, an install failure the connector reported, a regression seen in a health
  snapshot); everything else, pending included, is :class:`Unknown`.
- Reasons are short English with times in UTC; they may quote the connector's error code,
  which is untrusted text (show it literally). Evidence carries the exact values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from patchdesk.domain import RebootPolicy
from patchdesk.rules.verdicts import (
    PROVEN_CAUSES,
    Cause,
    Classification,
    Evidence,
    EvidenceValue,
    Failure,
    Pending,
    Unknown,
    Verified,
    Waiting,
)

# ----------------------------------------------------------------------------- inputs


class InstallStatus(StrEnum):
    """The install result as the connector reports it for the target's current attempt."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RUNNING = "running"
    UNKNOWN = "unknown"  # nothing reported (not dispatched yet, or the job has no result)


@dataclass(frozen=True)
class InstallResult:
    status: InstallStatus = InstallStatus.UNKNOWN
    error_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class HealthSnapshot:
    """Health check results taken at one instant: check name -> passing."""

    taken_at: datetime
    checks: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require_aware("health_after.taken_at", self.taken_at)


@dataclass(frozen=True)
class TargetFacts:
    """What the verification step knows about one target. Datetimes must be timezone-aware.

    ``reboot_sent_at`` is the latest reboot command; ``last_boot``/``last_seen`` are the
    device's latest boot time and check-in as the connector reports them.
    ``health_before`` is the pre-patch baseline (None: no baseline, nothing attributable);
    ``health_after`` the latest snapshot taken after the install. ``observation_end`` is the
    end of the regression watch, normally (first verified at, or now) + the observation period;
    None attributes nothing.
    """

    window_start: datetime
    window_end: datetime
    dispatched: bool = False
    install: InstallResult = InstallResult()
    reboot_policy: RebootPolicy = RebootPolicy.IF_REQUIRED
    patch_reboot_hint: bool = False
    connector_needs_reboot: bool = False
    reboot_sent_at: datetime | None = None
    last_boot: datetime | None = None
    last_seen: datetime | None = None
    reboot_deadline: datetime | None = None
    checkin_deadline: datetime | None = None
    # The window's check-in timeout: the device has this long after the boot is seen, even
    # when a slow (but timely) reboot ends after ``checkin_deadline``.
    checkin_timeout: timedelta | None = None
    deferrals_used: int = 0
    deferrals_allowed: int = 0
    health_before: Mapping[str, bool] | None = None
    health_after: HealthSnapshot | None = None
    observation_end: datetime | None = None
    connector_reachable: bool = True

    def __post_init__(self) -> None:
        for name in _DATETIME_FIELDS:
            _require_aware(name, getattr(self, name))
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be later than window_start")
        if not self.dispatched and self.install.status is not InstallStatus.UNKNOWN:
            raise ValueError("a target that was never dispatched has no install result")
        if self.deferrals_used < 0 or self.deferrals_allowed < 0:
            raise ValueError("deferral counts cannot be negative")

    @property
    def deferrals_exhausted(self) -> bool:
        """The user may not postpone the reboot any more (the engine forces it)."""
        return self.deferrals_used >= self.deferrals_allowed


_DATETIME_FIELDS = (
    "window_start",
    "window_end",
    "reboot_sent_at",
    "last_boot",
    "last_seen",
    "reboot_deadline",
    "checkin_deadline",
    "observation_end",
)

# --------------------------------------------------------------------- classification


def reboot_required(policy: RebootPolicy, patch_hint: bool, connector_needs_reboot: bool) -> bool:
    """Whether the engine must reboot the device after a successful install.

    never: no (a reboot the device still wants is left to the user); always: yes;
    if_required: when either the patch says so or the connector reports a pending reboot
    (a stale "no reboot pending" must not skip a reboot the vendor requires).
    """
    if policy is RebootPolicy.NEVER:
        return False
    if policy is RebootPolicy.ALWAYS:
        return True
    return patch_hint or connector_needs_reboot


def classify(facts: TargetFacts, now: datetime) -> Classification:
    """Classify one target from its facts at ``now`` (timezone-aware). See the module rules."""
    _require_aware("now", now)
    verdict = _verdict(facts, now)
    if facts.connector_reachable:
        return verdict
    return _when_unreachable(verdict)


def _verdict(f: TargetFacts, now: datetime) -> Verified | Pending | Failure:
    if not f.dispatched:
        return _undispatched(f, now)
    if f.install.status is not InstallStatus.SUCCEEDED:
        return _installing(f, now)
    if _reboot_proof_needed(f):
        unproven = _reboot_unproven(f, now)
        if unproven is not None:
            return unproven
    return _after_verification(f, now)


def _when_unreachable(verdict: Verified | Pending | Failure) -> Classification:
    if isinstance(verdict, Verified):
        return verdict
    if isinstance(verdict, Failure):
        if verdict.cause in PROVEN_CAUSES:
            return verdict
        reason = f"connector unreachable: {verdict.reason} (not counted as {verdict.failure_class})"
    else:
        reason = f"connector unreachable: {verdict.reason}"
    return Unknown(reason, (*verdict.evidence, ("connector_reachable", False)))


def _undispatched(f: TargetFacts, now: datetime) -> Pending | Failure:
    evidence = _ev(
        dispatched=False,
        window_start=f.window_start,
        window_end=f.window_end,
        last_seen=f.last_seen,
    )
    end = _t(f.window_end, now)
    if not _passed(f.window_end, now):
        return Pending(
            Waiting.DISPATCH,
            f"waiting for dispatch; window open until {end}",
            evidence,
            f.window_end,
        )
    if f.last_seen is None or f.last_seen < f.window_start:
        window = f"{_t(f.window_start, now)}–{end}"
        return Failure(
            Cause.MISSED,
            f"missed: offline for the whole window {window}, last seen {_t(f.last_seen, now)}",
            evidence,
        )
    return Pending(
        Waiting.NEXT_WINDOW,
        f"window closed at {end} before dispatch; device seen at {_t(f.last_seen, now)}, "
        "carried to the next window",
        evidence,
    )


def _installing(f: TargetFacts, now: datetime) -> Pending | Failure:
    status = f.install.status
    evidence = _ev(
        install_status=str(status),
        error_code=f.install.error_code,
        error_message=f.install.message,
        window_end=f.window_end,
    )
    if status is InstallStatus.FAILED:
        code = f"error {f.install.error_code}" if f.install.error_code else "no error code"
        return Failure(Cause.INSTALL_ERROR, f"install failed ({code})", evidence)
    end = _t(f.window_end, now)
    state = "still running" if status is InstallStatus.RUNNING else "no result reported"
    if not _passed(f.window_end, now):
        return Pending(
            Waiting.INSTALL, f"install {state}; result due by {end}", evidence, f.window_end
        )
    return Failure(
        Cause.INSTALL_NO_RESULT, f"no install result by the window end at {end} ({state})", evidence
    )


def _reboot_proof_needed(f: TargetFacts) -> bool:
    needed = reboot_required(f.reboot_policy, f.patch_reboot_hint, f.connector_needs_reboot)
    return needed or f.reboot_sent_at is not None


def _reboot_unproven(f: TargetFacts, now: datetime) -> Pending | Failure | None:
    """Pending or failed while the reboot is not proven; None once boot and check-in are."""
    sent = f.reboot_sent_at
    if sent is None:
        return _reboot_not_sent(f, now)
    boot = f.last_boot
    if boot is None or boot <= sent:
        return _not_booted(f, now, sent)
    if f.last_seen is None or f.last_seen <= boot:
        return _not_checked_in(f, now, boot)
    return None


def _reboot_not_sent(f: TargetFacts, now: datetime) -> Pending | Failure:
    deadline = _reboot_deadline(f)
    evidence = _reboot_evidence(f, deadline)
    by = _t(deadline, now)
    if not _passed(deadline, now):
        reason = f"installed; reboot needed by {by}, command not sent yet{_deferrals(f)}"
        return Pending(Waiting.REBOOT, reason, evidence, deadline)
    reason = f"no reboot by {by}: the reboot command was never sent{_deferrals(f)}"
    return Failure(Cause.REBOOT_NOT_STARTED, reason, evidence)


def _not_booted(f: TargetFacts, now: datetime, sent: datetime) -> Pending | Failure:
    deadline = _reboot_deadline(f)
    evidence = _reboot_evidence(f, deadline)
    command = _t(sent, now)
    if not _passed(deadline, now):
        reason = f"reboot command sent at {command}; boot due by {_t(deadline, now)}"
        return Pending(Waiting.BOOT, reason, evidence, deadline)
    if f.last_seen is not None and f.last_seen > sent:
        reason = (
            f"did not reboot: checked in at {_t(f.last_seen, now)} after the reboot command "
            f"at {command}, but its last boot ({_t(f.last_boot, now, 'unknown')}) is not later"
        )
        return Failure(Cause.REBOOT_SKIPPED, reason, evidence)
    reason = f"no boot after the reboot command at {command} by {_t(deadline, now)}{_deferrals(f)}"
    return Failure(Cause.REBOOT_NO_BOOT, reason, evidence)


def _not_checked_in(f: TargetFacts, now: datetime, boot: datetime) -> Pending | Failure:
    deadline = f.checkin_deadline if f.checkin_deadline is not None else f.window_end
    if f.checkin_timeout is not None:  # "check-in timeout after reboot": from the boot
        deadline = max(deadline, boot + f.checkin_timeout)
    evidence = (*_reboot_evidence(f, _reboot_deadline(f)), ("checkin_deadline", deadline))
    if not _passed(deadline, now):
        reason = f"rebooted at {_t(boot, now)}; check-in due by {_t(deadline, now)}"
        return Pending(Waiting.CHECKIN, reason, evidence, deadline)
    reason = f"no check-in by {_t(deadline, now)} after reboot at {_t(boot, now)}"
    return Failure(Cause.NO_CHECKIN, reason, evidence)


def _after_verification(f: TargetFacts, now: datetime) -> Verified | Failure:
    evidence = _proof_evidence(f) + _health_evidence(f)
    newly = _newly_failing(f.health_before, f.health_after)
    if newly and _observed(f):
        reason = f"health checks failing after the patch: {', '.join(newly)} (passing before)"
        return Failure(Cause.HEALTH_REGRESSION, reason, evidence)
    reason = _verified_reason(f, now)
    if newly:
        reason += f"; {', '.join(newly)} failing after the observation period (not attributed)"
    return Verified(reason, evidence, _watch_until(f, now))


def _verified_reason(f: TargetFacts, now: datetime) -> str:
    if _reboot_proof_needed(f):
        return (
            f"verified: install succeeded, rebooted at {_t(f.last_boot, now)}, "
            f"checked in at {_t(f.last_seen, now)}"
        )
    if f.patch_reboot_hint or f.connector_needs_reboot:
        return "verified: install succeeded; reboot left to the user (reboot policy never)"
    return "verified: install succeeded; no reboot needed"


def _newly_failing(
    before: Mapping[str, bool] | None, after: HealthSnapshot | None
) -> tuple[str, ...]:
    """Checks that passed in the baseline and fail after the patch, sorted."""
    if before is None or after is None:
        return ()
    return tuple(sorted(n for n, ok in after.checks.items() if not ok and before.get(n) is True))


def _observed(f: TargetFacts) -> bool:
    """The after-snapshot was taken within the observation period (end inclusive)."""
    after, end = f.health_after, f.observation_end
    return after is not None and end is not None and after.taken_at <= end


def _watch_until(f: TargetFacts, now: datetime) -> datetime | None:
    end = f.observation_end
    return end if end is not None and not _passed(end, now) else None


# ---------------------------------------------------------------------------- helpers


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")


def _passed(deadline: datetime, now: datetime) -> bool:
    """Deadlines are inclusive: a deadline has passed only when now is strictly later."""
    return now > deadline


def _reboot_deadline(f: TargetFacts) -> datetime:
    return f.reboot_deadline if f.reboot_deadline is not None else f.window_end


def _t(moment: datetime | None, now: datetime, missing: str = "never") -> str:
    """A moment in UTC: the time alone on now's UTC date, else date and time."""
    if moment is None:
        return missing
    utc = moment.astimezone(UTC)
    same_day = utc.date() == now.astimezone(UTC).date()
    return utc.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


def _deferrals(f: TargetFacts) -> str:
    if f.deferrals_allowed == 0:
        return ""
    counts = f"{f.deferrals_used} of {f.deferrals_allowed}"
    if f.deferrals_exhausted:
        return f"; user deferrals exhausted ({counts})"
    return f"; user deferred {counts} times"


def _ev(**values: EvidenceValue) -> Evidence:
    return tuple(values.items())


def _reboot_evidence(f: TargetFacts, deadline: datetime) -> Evidence:
    return _ev(
        reboot_policy=str(f.reboot_policy),
        reboot_sent_at=f.reboot_sent_at,
        reboot_deadline=deadline,
        last_boot=f.last_boot,
        last_seen=f.last_seen,
        deferrals_used=f.deferrals_used,
        deferrals_allowed=f.deferrals_allowed,
    )


def _proof_evidence(f: TargetFacts) -> Evidence:
    return _ev(
        install_status=str(f.install.status),
        reboot_policy=str(f.reboot_policy),
        reboot_proof_needed=_reboot_proof_needed(f),
        reboot_sent_at=f.reboot_sent_at,
        last_boot=f.last_boot,
        last_seen=f.last_seen,
    )


def _health_evidence(f: TargetFacts) -> Evidence:
    before, after = f.health_before, f.health_after
    if before is None or after is None:
        return _ev(health_baseline=before is not None, health_checked_at=None)
    return _ev(
        failing_before=tuple(sorted(n for n, ok in before.items() if not ok)),
        newly_failing=_newly_failing(before, after),
        health_checked_at=after.taken_at,
        observation_end=f.observation_end,
    )
