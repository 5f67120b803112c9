"""Words and figures the Markdown and HTML cycle reports share (trusted text only: every
value here is a number, an enum, a time or a fixed phrase; untrusted text is escaped by each
renderer)."""

from __future__ import annotations

from patchdesk.domain import TIER_LABELS, FailureClass, Tier
from patchdesk.reports.formatting import duration, local, percent, plural, utc
from patchdesk.rules.metrics.compliance import ComplianceFigures
from patchdesk.store.report_model import CLASS_LABELS, CycleReport

DEFINITIONS = (
    "Device compliance: the share of in-scope devices with no approved and due patch "
    "missing. A patch is due on a device once it is approved for it and at least one of the "
    "device's maintenance windows has passed since the approval (an emergency approval: once "
    "its emergency deployment has ended).",
    "Patch compliance: installed / approved-and-applicable, over every (device, patch) pair "
    "where the device is in scope, needs the in-scope patch and the patch is approved for it.",
    "Failed installs: deployment targets (one device in one window) of the cycle that ended "
    "failed, by failure class; a device offline for a whole window counts as offline.",
    "Time to remediate: from an exception's opening to its resolution, for exceptions "
    "resolved in the cycle; a reopened exception counts from its first opening to its last "
    "resolution.",
    "The cycle runs from Patch Tuesday (00:00 client time) to the day before the next one.",
)


ROLE_WORDS: dict[str, tuple[str, str]] = {
    "server": ("server", "servers"),
    "shared_workstation": ("shared workstation", "shared workstations"),
    "single_user": ("single-user device", "single-user devices"),
}


def tier_label(tier: Tier) -> str:
    return f"{tier.value} {TIER_LABELS[tier]}"


def compliance_cell(figures: ComplianceFigures) -> str:
    if not figures.devices:
        return "n/a (no devices in scope)"
    return (
        f"{percent(figures.device_rate)} "
        f"({figures.compliant_devices} of {plural(figures.devices, 'device')})"
    )


def patch_cell(figures: ComplianceFigures) -> str:
    if not figures.approved_pairs:
        return "n/a (nothing approved)"
    return (
        f"{percent(figures.patch_rate)} "
        f"({figures.installed_pairs} of {figures.approved_pairs} approved device patches installed)"
    )


def period(report: CycleReport) -> str:
    zone = report.zone
    last = report.end.astimezone(zone).date()
    return (
        f"{local(report.start, zone)} to the end of "
        f"{last.fromordinal(last.toordinal() - 1).isoformat()} "
        f"({utc(report.start)} – {utc(report.end)})"
    )


def as_of(report: CycleReport) -> str:
    state = "cycle still running" if report.in_progress else "cycle complete"
    return f"{local(report.as_of, report.zone)} ({utc(report.as_of)}; {state})"


def failures_line(report: CycleReport) -> str:
    parts = [f"{len(lines)} {failure.value}" for failure, lines in report.failures() if lines]
    return f"{report.failed_total}" + (f" ({', '.join(parts)})" if parts else "")


def mttr_line(report: CycleReport) -> str:
    figures = report.mttr
    if not figures.count:
        return "no exception resolved in this cycle"
    return (
        f"mean {duration(figures.mean)}, median {duration(figures.median)}, "
        f"90th percentile {duration(figures.p90)} "
        f"({plural(figures.count, 'exception')} resolved)"
    )


def exceptions_line(report: CycleReport) -> str:
    resolved = sum(1 for e in report.exceptions if e.resolved_at is not None)
    still = len(report.exceptions) - resolved
    return f"{len(report.exceptions)} ({still} still open, {resolved} resolved)"


def scope_role_line(report: CycleReport) -> str:
    roles = ", ".join(
        plural(n, *ROLE_WORDS.get(role, (role, role))) for role, n in report.scope.in_scope_by_role
    )
    return (
        f"{report.scope.devices_in_scope} of {plural(report.scope.devices_total, 'managed device')}"
        + (f" ({roles})" if roles else "")
    )


def class_title(failure: FailureClass, count: int) -> str:
    return f"{CLASS_LABELS[failure]} ({count})"
