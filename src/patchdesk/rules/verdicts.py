"""What failure classification answers (``rules.classify``): a verdict for one target.

One of :class:`Verified`, :class:`Pending`, :class:`Failure` or :class:`Unknown`, with a
short reason and the exact evidence; a :class:`Cause` fixes the failure class and the
lifecycle failure state, a :class:`Waiting` the state a pending target is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, TypeAlias

from patchdesk.domain import FailureClass, TargetState

EvidenceValue: TypeAlias = datetime | str | int | bool | tuple[str, ...] | None
Evidence: TypeAlias = tuple[tuple[str, EvidenceValue], ...]


class Outcome(StrEnum):
    VERIFIED = "verified"
    PENDING = "pending"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Waiting(StrEnum):
    """What a pending target waits for (its lifecycle state: :data:`WAITING_STATE`)."""

    DISPATCH = "dispatch"
    INSTALL = "install"
    REBOOT = "reboot"  # a reboot is needed and no command was sent (user deferrals, queue)
    BOOT = "boot"  # reboot command sent, no boot later than it yet
    CHECKIN = "checkin"  # booted, no check-in after the boot yet
    NEXT_WINDOW = "next_window"  # window closed before dispatch while the device was online


class Cause(StrEnum):
    """Why a target failed; fixes the failure class and the lifecycle failure state."""

    INSTALL_ERROR = "install_error"
    INSTALL_NO_RESULT = "install_no_result"
    REBOOT_NOT_STARTED = "reboot_not_started"
    REBOOT_NO_BOOT = "reboot_no_boot"
    REBOOT_SKIPPED = "reboot_skipped"
    NO_CHECKIN = "no_checkin"
    MISSED = "missed"
    HEALTH_REGRESSION = "health_regression"
    NOT_REACHED = "not_reached"  # a server the window closed on before its turn


CAUSE_CLASS: Mapping[Cause, FailureClass] = MappingProxyType(
    {
        Cause.INSTALL_ERROR: FailureClass.INSTALL,
        Cause.INSTALL_NO_RESULT: FailureClass.INSTALL,
        Cause.REBOOT_NOT_STARTED: FailureClass.REBOOT,
        Cause.REBOOT_NO_BOOT: FailureClass.REBOOT,
        Cause.REBOOT_SKIPPED: FailureClass.REBOOT,
        Cause.NO_CHECKIN: FailureClass.OFFLINE,
        Cause.MISSED: FailureClass.OFFLINE,
        Cause.HEALTH_REGRESSION: FailureClass.REGRESSION,
        Cause.NOT_REACHED: FailureClass.MISSED,
    }
)

CAUSE_STATE: Mapping[Cause, TargetState] = MappingProxyType(
    {
        Cause.INSTALL_ERROR: TargetState.INSTALL_FAILED,
        Cause.INSTALL_NO_RESULT: TargetState.INSTALL_FAILED,
        Cause.REBOOT_NOT_STARTED: TargetState.REBOOT_FAILED,
        Cause.REBOOT_NO_BOOT: TargetState.REBOOT_FAILED,
        Cause.REBOOT_SKIPPED: TargetState.REBOOT_FAILED,
        Cause.NO_CHECKIN: TargetState.NO_CHECKIN,
        Cause.MISSED: TargetState.MISSED,
        Cause.HEALTH_REGRESSION: TargetState.REGRESSION,
        Cause.NOT_REACHED: TargetState.MISSED,
    }
)

# REBOOT maps to reboot_pending; the reconcile step keeps `deferred` while a deferral runs.
WAITING_STATE: Mapping[Waiting, TargetState] = MappingProxyType(
    {
        Waiting.DISPATCH: TargetState.PENDING,
        Waiting.INSTALL: TargetState.INSTALLING,
        Waiting.REBOOT: TargetState.REBOOT_PENDING,
        Waiting.BOOT: TargetState.REBOOTING,
        Waiting.CHECKIN: TargetState.AWAITING_CHECKIN,
        Waiting.NEXT_WINDOW: TargetState.MISSED,
    }
)

# Failures proven by data in hand: they stand while the connector is unreachable.
PROVEN_CAUSES = frozenset({Cause.INSTALL_ERROR, Cause.HEALTH_REGRESSION})


@dataclass(frozen=True)
class Verified:
    """All proofs hold. ``watch_until``: end of the regression watch while it runs, else None."""

    reason: str
    evidence: Evidence = ()
    watch_until: datetime | None = None
    kind: ClassVar[Outcome] = Outcome.VERIFIED


@dataclass(frozen=True)
class Pending:
    """Not a failure yet. ``deadline``: when waiting turns into a failure (None: it won't)."""

    waiting: Waiting
    reason: str
    evidence: Evidence = ()
    deadline: datetime | None = None
    kind: ClassVar[Outcome] = Outcome.PENDING


@dataclass(frozen=True)
class Failure:
    cause: Cause
    reason: str
    evidence: Evidence = ()
    kind: ClassVar[Outcome] = Outcome.FAILED

    @property
    def failure_class(self) -> FailureClass:
        return CAUSE_CLASS[self.cause]


@dataclass(frozen=True)
class Unknown:
    """The connector is unreachable; nothing is concluded about the device."""

    reason: str
    evidence: Evidence = ()
    kind: ClassVar[Outcome] = Outcome.UNKNOWN


Classification: TypeAlias = Verified | Pending | Failure | Unknown


def failure_state(failure: Failure) -> TargetState:
    """The failure state: install_failed, reboot_failed, no_checkin, regression or missed."""
    return CAUSE_STATE[failure.cause]


def target_state(result: Classification) -> TargetState | None:
    """The lifecycle state a result puts the target in; None (unknown): leave it as it is."""
    if isinstance(result, Failure):
        return failure_state(result)
    if isinstance(result, Pending):
        return WAITING_STATE[result.waiting]
    if isinstance(result, Verified):
        return TargetState.VERIFIED
    return None
