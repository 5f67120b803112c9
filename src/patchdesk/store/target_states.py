"""Target states grouped as the reconcile step selects targets by them: the engine's phases
and the store's statements for them name the same groups."""

from __future__ import annotations

from patchdesk.domain import TargetState

# Targets whose device's check-ins are evidence worth keeping.
EVIDENCE_STATES = (
    TargetState.INSTALLED,
    TargetState.REBOOT_PENDING,
    TargetState.REBOOTING,
    TargetState.AWAITING_CHECKIN,
    TargetState.DEFERRED,
)
IN_FLIGHT = (
    TargetState.DISPATCHED,
    TargetState.INSTALLING,
    *EVIDENCE_STATES,
)
# A deployment whose targets are all in these states may close.
SETTLED = frozenset(
    {
        TargetState.VERIFIED,
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
        TargetState.MISSED,
        TargetState.SKIPPED,
    }
)
