"""Target states grouped as the reconcile step selects targets by them: the engine's phases
and the store's statements for them name the same groups."""

from __future__ import annotations

from patchdesk.domain import TargetState

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
