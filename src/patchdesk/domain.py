"""The vocabulary of the patch workflow, shared by store, engine and UI.

Plain enums and tiny pure functions only: no I/O, no third-party imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    SERVER = "server"
    SHARED_WORKSTATION = "shared_workstation"
    SINGLE_USER = "single_user"


class Criticality(StrEnum):
    CRITICAL = "critical"
    STANDARD = "standard"


class OsFamily(StrEnum):
    WINDOWS = "windows"
    MACOS = "macos"
    LINUX = "linux"
    OTHER = "other"


class Classification(StrEnum):
    SECURITY = "security"
    CRITICAL = "critical"
    DEFINITION = "definition"
    UPDATE_ROLLUP = "update_rollup"
    UPDATE = "update"
    FEATURE_UPGRADE = "feature_upgrade"
    DRIVER = "driver"
    THIRD_PARTY = "third_party"


class Severity(StrEnum):
    CRITICAL = "critical"
    IMPORTANT = "important"
    MODERATE = "moderate"
    LOW = "low"
    UNSPECIFIED = "unspecified"


class RebootPolicy(StrEnum):
    NEVER = "never"
    IF_REQUIRED = "if_required"
    ALWAYS = "always"


class RecurrenceKind(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    PATCH_TUESDAY = "patch_tuesday"


class RuleAction(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"
    DEFER = "defer"
    BLOCK = "block"


class ApprovalDecisionKind(StrEnum):
    """A technician's explicit decision about one patch for one client."""

    APPROVE = "approve"
    BLOCK = "block"
    DEFER = "defer"
    EMERGENCY = "emergency"


class MissingPatchState(StrEnum):
    MISSING = "missing"
    INSTALLED = "installed"
    FAILED = "failed"


class DeploymentState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class TargetState(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    INSTALLING = "installing"
    INSTALLED = "installed"
    REBOOT_PENDING = "reboot_pending"
    REBOOTING = "rebooting"
    AWAITING_CHECKIN = "awaiting_checkin"
    VERIFIED = "verified"
    INSTALL_FAILED = "install_failed"
    REBOOT_FAILED = "reboot_failed"
    NO_CHECKIN = "no_checkin"
    REGRESSION = "regression"
    DEFERRED = "deferred"
    MISSED = "missed"
    SKIPPED = "skipped"


# Targets whose device's check-ins are evidence worth keeping.
EVIDENCE_STATES = (
    TargetState.INSTALLED,
    TargetState.REBOOT_PENDING,
    TargetState.REBOOTING,
    TargetState.AWAITING_CHECKIN,
    TargetState.DEFERRED,
)
# Targets dispatched and not finished: the engine follows them.
IN_FLIGHT = (
    TargetState.DISPATCHED,
    TargetState.INSTALLING,
    *EVIDENCE_STATES,
)


class FailureClass(StrEnum):
    INSTALL = "install"
    REBOOT = "reboot"
    REGRESSION = "regression"
    OFFLINE = "offline"
    MISSED = "missed"  # a server a window did not reach (not a failure of the patch)


# The four classes of a failed patch, in ``FailureClass`` order:
# what failure counts and reports list; ``missed`` is not one of them.
PATCH_FAILURE_CLASSES: tuple[FailureClass, ...] = (
    FailureClass.INSTALL,
    FailureClass.REBOOT,
    FailureClass.REGRESSION,
    FailureClass.OFFLINE,
)


class ExceptionState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class RequestKind(StrEnum):
    RETRY_INSTALL = "retry_install"
    FORCE_REBOOT = "force_reboot"
    ROLLBACK_PATCH = "rollback_patch"
    BLOCK_PATCH = "block_patch"
    WAKE_DEVICE = "wake_device"
    RESOLVE = "resolve"
    EXCLUDE_PATCH = "exclude_patch"  # stop targeting one patch on one device until lifted
    SCHEDULE_REBOOT = "schedule_reboot"  # reboot at a chosen time inside the device's windows


class RequestState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Tier(StrEnum):
    """Triage tier; the value sorts in triage order."""

    CRITICAL_SERVER = "1"
    OTHER_SERVER = "2"
    SHARED_WORKSTATION = "3"
    SINGLE_USER = "4"


TIER_LABELS: dict[Tier, str] = {
    Tier.CRITICAL_SERVER: "critical server",
    Tier.OTHER_SERVER: "other server",
    Tier.SHARED_WORKSTATION: "shared workstation",
    Tier.SINGLE_USER: "single-user endpoint",
}

# Within a tier: offline, then regression, then reboot, then install, then missed.
CLASS_RANK: dict[FailureClass, int] = {
    FailureClass.OFFLINE: 0,
    FailureClass.REGRESSION: 1,
    FailureClass.REBOOT: 2,
    FailureClass.INSTALL: 3,
    FailureClass.MISSED: 4,
}


def default_criticality(role: Role) -> Criticality:
    """Servers default to critical, everything else to standard."""
    return Criticality.CRITICAL if role is Role.SERVER else Criticality.STANDARD


def tier_of(role: Role, criticality: Criticality) -> Tier:
    """The triage tier of a device: critical servers, other servers, shared, single-user."""
    if role is Role.SERVER:
        if criticality is Criticality.CRITICAL:
            return Tier.CRITICAL_SERVER
        return Tier.OTHER_SERVER
    if role is Role.SHARED_WORKSTATION:
        return Tier.SHARED_WORKSTATION
    return Tier.SINGLE_USER


def os_family_of(os_name: str) -> OsFamily:
    """Best-effort OS family from a free-text OS name as RMMs report it."""
    lowered = os_name.lower()
    if "windows" in lowered:
        return OsFamily.WINDOWS
    if "mac" in lowered or "darwin" in lowered:
        return OsFamily.MACOS
    linux_words = (
        "linux",
        "ubuntu",
        "debian",
        "rhel",
        "red hat",
        "centos",
        "rocky",
        "suse",
        "alma",
    )
    if any(word in lowered for word in linux_words):
        return OsFamily.LINUX
    return OsFamily.OTHER


@dataclass(frozen=True)
class MissingPatch:
    """A patch a device reports missing: what a fleet connector or a CSV import tells."""

    vendor_id: str  # KB number, or package name + version
    title: str
    vendor: str
    product: str
    classification: Classification
    severity: Severity
    release_date: date
    reboot_required: bool
