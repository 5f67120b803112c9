"""The post-patch report of one client for one cycle, as plain values (built by
``store.report_views.cycle_report``, rendered by ``reports.cycle_*``).

Text fields hold untrusted text exactly as stored; renderers escape it for their format.
Instants are aware UTC; renderers show them in ``timezone`` (labelled) and UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from patchdesk.domain import PATCH_FAILURE_CLASSES, ExceptionState, FailureClass, TargetState, Tier
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.metrics.mttr import MttrFigures

# Target states in the order reports list them: success first, then failures, then the rest.
OUTCOME_ORDER: tuple[TargetState, ...] = (
    TargetState.VERIFIED,
    TargetState.INSTALL_FAILED,
    TargetState.REBOOT_FAILED,
    TargetState.NO_CHECKIN,
    TargetState.REGRESSION,
    TargetState.MISSED,
    TargetState.SKIPPED,
    TargetState.DEFERRED,
    TargetState.PENDING,
    TargetState.DISPATCHED,
    TargetState.INSTALLING,
    TargetState.INSTALLED,
    TargetState.REBOOT_PENDING,
    TargetState.REBOOTING,
    TargetState.AWAITING_CHECKIN,
)

OUTCOME_LABELS: dict[TargetState, str] = {
    TargetState.VERIFIED: "verified (installed, rebooted if needed, checked in)",
    TargetState.INSTALL_FAILED: "install failed",
    TargetState.REBOOT_FAILED: "reboot failed",
    TargetState.NO_CHECKIN: "did not check in after reboot",
    TargetState.REGRESSION: "regression after patching",
    TargetState.MISSED: "missed (window closed before dispatch)",
    TargetState.SKIPPED: "skipped (maintenance mode or patch withdrawn)",
    TargetState.DEFERRED: "deferred by the user",
    TargetState.PENDING: "pending",
    TargetState.DISPATCHED: "dispatched",
    TargetState.INSTALLING: "installing",
    TargetState.INSTALLED: "installed, not yet verified",
    TargetState.REBOOT_PENDING: "reboot pending",
    TargetState.REBOOTING: "rebooting",
    TargetState.AWAITING_CHECKIN: "awaiting check-in",
}

CLASS_LABELS: dict[FailureClass, str] = {
    FailureClass.INSTALL: "Install failures",
    FailureClass.REBOOT: "Reboot failures",
    FailureClass.REGRESSION: "Regressions",
    FailureClass.OFFLINE: "Offline devices",
    FailureClass.MISSED: "Servers a window missed",
}


@dataclass(frozen=True)
class ScopeSummary:
    include_roles: tuple[str, ...]
    include_tags: tuple[str, ...]
    include_sites: tuple[str, ...]
    include_os: tuple[str, ...]
    exclude_devices: tuple[str, ...]
    patch_os: bool
    third_party: tuple[str, ...]
    notes: str
    devices_total: int
    devices_in_scope: int
    in_scope_by_role: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class WindowUsed:
    deployment_id: int
    name: str  # the window's name; "Emergency deployment" for an emergency
    emergency: bool
    start: datetime
    end: datetime  # as stored: a retry after the window closed moves it later
    # The occurrence's end as its window schedules it (wall-clock duration in the client's
    # zone); ``end`` when the window is unknown or no longer matches (an emergency, a
    # window edited since).
    scheduled_end: datetime
    state: str
    targets: int
    verified: int
    failed: int


@dataclass(frozen=True)
class PatchLine:
    vendor_id: str
    title: str
    classification: str
    severity: str
    state: str  # this target's result for the patch: missing / installed / failed
    error_code: str | None


@dataclass(frozen=True)
class TargetLine:
    target_id: int
    deployment_id: int
    window: str
    window_start: datetime
    device_id: int
    hostname: str
    role: str
    tier: Tier
    site: str | None
    state: TargetState
    failure_class: FailureClass | None
    attempts: int
    deferrals_used: int
    dispatched_at: datetime | None
    installed_at: datetime | None
    verified_at: datetime | None
    error_code: str | None
    error_message: str | None
    patches: tuple[PatchLine, ...]
    exception_id: int | None


@dataclass(frozen=True)
class RemediationLine:
    seq: int
    at: datetime
    actor: str
    operator: str
    action: str
    outcome: str
    note: str


@dataclass(frozen=True)
class ExceptionLine:
    id: int
    hostname: str
    tier: Tier
    failure_class: FailureClass
    state: ExceptionState
    owner: str | None
    summary: str
    patches: tuple[str, ...]
    opened_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    reopened_count: int
    history: tuple[RemediationLine, ...]


@dataclass(frozen=True)
class EmergencyLine:
    decision_id: int
    patch: str
    title: str
    decided_at: datetime
    operator: str
    reason: str
    hostnames: tuple[str, ...]
    targets: int
    verified: int


@dataclass(frozen=True)
class NextWindow:
    """The next occurrence of one of the client's active windows after ``as_of``."""

    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class CycleReport:
    client_id: str
    client_name: str
    timezone: str
    sla_tier: str
    cycle: Cycle
    start: datetime
    end: datetime
    as_of: datetime  # compliance "after": the cycle's end, or now while it runs
    scope: ScopeSummary
    windows: tuple[WindowUsed, ...]
    targets: tuple[TargetLine, ...]
    exceptions: tuple[ExceptionLine, ...]
    compliance_before: ComplianceFigures
    compliance_after: ComplianceFigures
    noncompliant_after: tuple[tuple[str, int], ...]  # hostname, due patches missing
    emergencies: tuple[EmergencyLine, ...]
    mttr: MttrFigures
    next_windows: tuple[NextWindow, ...] = ()  # by start; one per active window

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def in_progress(self) -> bool:
        return self.as_of < self.end

    def outcome_counts(self) -> list[tuple[TargetState, int]]:
        counts = {state: 0 for state in OUTCOME_ORDER}
        for target in self.targets:
            counts[target.state] += 1
        return [(state, n) for state, n in counts.items() if n]

    def failures(self) -> list[tuple[FailureClass, list[TargetLine]]]:
        """Failed targets by class (every class listed, in ``FailureClass`` order)."""
        return [
            (failure, [t for t in self.targets if t.failure_class is failure])
            for failure in PATCH_FAILURE_CLASSES
        ]

    @property
    def failed_total(self) -> int:
        return sum(1 for t in self.targets if t.failure_class is not None)

    @property
    def devices_patched(self) -> int:
        return len({t.device_id for t in self.targets})
