"""Deployment rings: which ring a device is in, and whether a ring may deploy a patch (pure).

Membership. A device is in the first ring whose tags it shares (names compare ignoring
case); a last ring without tags takes every device no earlier ring took. When a client has
rings and a device is in none of them (possible only when the last ring has tags), the
device is in no ring, and the approval engine does not deploy to it (see ``approval``).

Progress of a ring for one patch is counted per device, from the device's latest deployment
target that carried the patch:

- ``succeeded``: the target was verified and the patch installed;
- ``failed``: the patch failed, or the target ended in install_failed, reboot_failed,
  no_checkin or regression (a verified target whose patch is still missing counts as failed);
- in progress: dispatched, installing, installed, rebooting, awaiting check-in, deferred by
  the user, or the target still pending;
- not attempted (not counted): missed (the window closed first) and skipped.

Gate. Ring N may deploy a patch once every earlier ring has, in order:

1. no open regression attributed to the patch (a regression exception that names the patch
   and is not resolved; resolving it is how a technician clears it) — checked first, for
   every earlier ring;
2. deployed it to at least one device — an earlier ring with no device that needs the patch
   and none that was given it is skipped (nothing there to prove, so it does not hold the
   later rings forever);
3. at least one finished install (with none finished the success rate is undefined);
4. no device still in progress;
5. a success rate ``succeeded / (succeeded + failed)`` at or above the ring's minimum;
6. soaked: ``soak`` hours have passed since its last device finished.

Devices of an earlier ring that still miss the patch without being attempted (offline, so
their target was missed) do not hold the later rings: they are carried to the next window.
The gate is level-triggered: a late failure that drops an earlier ring below its threshold
halts the later rings again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from patchdesk.domain import MissingPatchState, TargetState
from patchdesk.rules.scope import fold


@dataclass(frozen=True)
class RingSpec:
    """One ring of a client, in order (``position`` 0 deploys first); tags are folded."""

    position: int
    name: str
    tags: frozenset[str]
    soak_hours: int
    min_success_rate: float

    @classmethod
    def of(
        cls, position: int, name: str, tags: Iterable[str], soak_hours: int, min_success_rate: float
    ) -> RingSpec:
        return cls(position, name, fold(tags), soak_hours, min_success_rate)


def ring_of(device_tags: Iterable[str], rings: Sequence[RingSpec]) -> RingSpec | None:
    """The device's ring: the first sharing a tag, else a tagless last ring, else none."""
    tags = fold(device_tags)
    for ring in rings:
        if ring.tags & tags:
            return ring
    if rings and not rings[-1].tags:
        return rings[-1]
    return None


# --- progress -------------------------------------------------------------------------------


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    NOT_ATTEMPTED = "not_attempted"


_NOT_ATTEMPTED = frozenset({TargetState.MISSED, TargetState.SKIPPED})
_FAILED = frozenset(
    {
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
    }
)


def outcome_of(target: TargetState, patch: MissingPatchState) -> Outcome:
    """What one deployment target means for one of its patches."""
    if target in _NOT_ATTEMPTED:
        return Outcome.NOT_ATTEMPTED
    if patch is MissingPatchState.FAILED or target in _FAILED:
        return Outcome.FAILED
    if target is TargetState.VERIFIED:
        return Outcome.SUCCEEDED if patch is MissingPatchState.INSTALLED else Outcome.FAILED
    return Outcome.IN_PROGRESS


@dataclass(frozen=True)
class DeviceOutcome:
    """One device's target for a patch: its outcome and when it reached it."""

    device_id: int
    outcome: Outcome
    at: datetime


@dataclass(frozen=True)
class RingProgress:
    """A ring's progress with one patch (see the module docstring for the counting)."""

    needing: int = 0  # devices of the ring (in scope) that still miss the patch
    deployed: int = 0  # devices of the ring that were given the patch (attempted)
    succeeded: int = 0
    failed: int = 0
    finished_at: datetime | None = None  # when the last device finished, once none is running
    open_regressions: int = 0  # unresolved regression exceptions naming the patch

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def in_progress(self) -> int:
        return self.deployed - self.finished

    @property
    def success_rate(self) -> Fraction | None:
        """succeeded / (succeeded + failed); None with no finished install."""
        return Fraction(self.succeeded, self.finished) if self.finished else None


def ring_progress(
    outcomes: Iterable[DeviceOutcome], *, needing: int, open_regressions: int = 0
) -> RingProgress:
    """Count a ring's outcomes, given oldest first: each device's latest outcome counts."""
    latest: dict[int, DeviceOutcome] = {}
    for outcome in outcomes:
        if outcome.outcome is not Outcome.NOT_ATTEMPTED:
            latest[outcome.device_id] = outcome
    counted = list(latest.values())
    succeeded = sum(1 for o in counted if o.outcome is Outcome.SUCCEEDED)
    failed = sum(1 for o in counted if o.outcome is Outcome.FAILED)
    running = any(o.outcome is Outcome.IN_PROGRESS for o in counted)
    finished = [o.at for o in counted if o.outcome is not Outcome.IN_PROGRESS]
    return RingProgress(
        needing=needing,
        deployed=len(counted),
        succeeded=succeeded,
        failed=failed,
        finished_at=max(finished) if finished and not running else None,
        open_regressions=open_regressions,
    )


# --- the gate -------------------------------------------------------------------------------


class WaitReason(StrEnum):
    REGRESSION = "regression"
    NOT_DEPLOYED = "not_deployed"
    NO_FINISHED_INSTALLS = "no_finished_installs"
    DEPLOYING = "deploying"
    BELOW_THRESHOLD = "below_threshold"
    SOAKING = "soaking"


@dataclass(frozen=True)
class RingWait:
    """A ring may not deploy yet: which earlier ring holds it, and why."""

    ring: str
    why: WaitReason
    progress: RingProgress
    threshold: float
    until: datetime | None = None  # soaking: when the soak ends

    def text(self) -> str:
        """E.g. ``waiting for ring "pilot": soaking until 2026-11-20 14:00 UTC``."""
        p = self.progress
        ring = f'ring "{self.ring}"'
        if self.why is WaitReason.REGRESSION:
            count = _plural(p.open_regressions, "open regression")
            return (
                f"halted: {count} attributed to this patch in {ring}, until a technician clears it"
            )
        if self.why is WaitReason.NOT_DEPLOYED:
            needing = (
                f"{p.needing} of its devices need it"
                if p.needing != 1
                else ("1 of its devices needs it")
            )
            return f"waiting for {ring}: it has not deployed this patch yet, {needing}"
        if self.why is WaitReason.NO_FINISHED_INSTALLS:
            return (
                f"waiting for {ring}: none of its {p.deployed} installs has finished, "
                "so its success rate is undefined"
            )
        if self.why is WaitReason.DEPLOYING:
            return f"waiting for {ring}: still deploying, {p.finished} of {p.deployed} finished"
        if self.why is WaitReason.BELOW_THRESHOLD:
            return (
                f"waiting for {ring}: its success rate {_rate(p)} is below its threshold "
                f"{percent(self.threshold)}"
            )
        assert self.until is not None
        return f"waiting for {ring}: soaking until {when(self.until)}"


@dataclass(frozen=True)
class RingClear:
    """A ring may deploy. ``opens_at``: when the last earlier ring finished soaking."""

    opens_at: datetime | None
    notes: tuple[str, ...]


def ring_gate(
    ring: RingSpec,
    rings: Sequence[RingSpec],
    progress: Mapping[str, RingProgress],
    now: datetime,
) -> RingWait | RingClear:
    """Whether ``ring`` may deploy the patch whose ``progress`` (by ring name) is given."""
    earlier = [r for r in rings if r.position < ring.position]
    for before in earlier:
        counts = progress.get(before.name, RingProgress())
        if counts.open_regressions:
            return RingWait(before.name, WaitReason.REGRESSION, counts, before.min_success_rate)
    opens_at: datetime | None = None
    notes: list[str] = []
    for before in earlier:
        counts = progress.get(before.name, RingProgress())
        result = _passed(before, counts, now)
        if isinstance(result, RingWait):
            return result
        soak_end, note = result
        notes.append(note)
        if soak_end is not None and (opens_at is None or soak_end > opens_at):
            opens_at = soak_end
    return RingClear(opens_at, tuple(notes))


def _passed(
    ring: RingSpec, counts: RingProgress, now: datetime
) -> RingWait | tuple[datetime | None, str]:
    """Why ``ring`` still holds the later rings, or (its soak end, a note) when it does not."""

    def wait(why: WaitReason, until: datetime | None = None) -> RingWait:
        return RingWait(ring.name, why, counts, ring.min_success_rate, until)

    if counts.deployed == 0:
        if counts.needing == 0:
            return None, f'ring "{ring.name}" has no device that needs it'
        return wait(WaitReason.NOT_DEPLOYED)
    if counts.finished == 0:
        return wait(WaitReason.NO_FINISHED_INSTALLS)
    if counts.in_progress:
        return wait(WaitReason.DEPLOYING)
    rate = counts.success_rate
    assert rate is not None
    if rate < Fraction(str(ring.min_success_rate)):
        return wait(WaitReason.BELOW_THRESHOLD)
    assert counts.finished_at is not None
    soak_end = counts.finished_at + timedelta(hours=ring.soak_hours)
    if now < soak_end:
        return wait(WaitReason.SOAKING, soak_end)
    note = (
        f'ring "{ring.name}" passed ({_rate(counts)} ≥ {percent(ring.min_success_rate)}, '
        f"soaked {ring.soak_hours} h)"
    )
    return soak_end, note


# --- words ----------------------------------------------------------------------------------


def percent(rate: float | Fraction) -> str:
    """0.95 -> "95%", 2/3 -> "66.66%": cut (never rounded up) to two decimals, so a rate just
    below a threshold never reads as equal to it."""
    exact = rate if isinstance(rate, Fraction) else Fraction(str(rate))
    hundredths = math.floor(exact * 10_000)
    whole, part = divmod(hundredths, 100)
    return f"{whole}%" if part == 0 else f"{whole}.{part:02d}".rstrip("0") + "%"


def _rate(counts: RingProgress) -> str:
    rate = counts.success_rate
    shown = percent(rate) if rate is not None else "undefined"
    return f"{shown} ({counts.succeeded} of {counts.finished})"


def when(at: datetime) -> str:
    """An instant for people: "2026-11-20 14:00 UTC"."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
