"""Failed installs per cycle, by failure class (pure).

Counted per deployment target (one device in one window occurrence) by the state it ended
in: ``install_failed`` -> install, ``reboot_failed`` -> reboot, ``no_checkin`` -> offline,
``regression`` -> regression, and ``missed`` -> offline when the device was offline for the
whole window. A target the engine retried and then verified is not a failure; a target
``missed`` only because the window ran out of capacity (carried to the next window, the
engine's message says so) is not the device's failure and is not counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from patchdesk.domain import PATCH_FAILURE_CLASSES, FailureClass, TargetState

# How the engine words a target missed for lack of capacity or taken out of patching
# (engine.progress): not a failure of the device.
NOT_THE_DEVICE = "window closed before dispatch"

STATE_CLASS: dict[TargetState, FailureClass] = {
    TargetState.INSTALL_FAILED: FailureClass.INSTALL,
    TargetState.REBOOT_FAILED: FailureClass.REBOOT,
    TargetState.NO_CHECKIN: FailureClass.OFFLINE,
    TargetState.REGRESSION: FailureClass.REGRESSION,
    TargetState.MISSED: FailureClass.OFFLINE,
}


@dataclass(frozen=True)
class TargetOutcome:
    state: TargetState
    error_message: str | None = None


def failure_class_of(state: TargetState, error_message: str | None = None) -> FailureClass | None:
    """The failure class a target's final state stands for, or None (not a failure)."""
    if state is TargetState.MISSED and (error_message or "").startswith(NOT_THE_DEVICE):
        return None
    return STATE_CLASS.get(state)


def failures_by_class(targets: Iterable[TargetOutcome]) -> dict[FailureClass, int]:
    """Every failure class (zero included), in ``FailureClass`` order."""
    counts: Counter[FailureClass] = Counter()
    for target in targets:
        failure = failure_class_of(target.state, target.error_message)
        if failure is not None:
            counts[failure] += 1
    return {failure: counts[failure] for failure in PATCH_FAILURE_CLASSES}
