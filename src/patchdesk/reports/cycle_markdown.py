"""The post-patch cycle report in Markdown, for a ticket: headings, short tables, every
untrusted value escaped (``escape.md_text``), client-local times labelled with the zone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from patchdesk.reports.cycle_text import (
    DEFINITIONS,
    as_of,
    class_title,
    compliance_cell,
    exceptions_line,
    failures_line,
    mttr_line,
    patch_cell,
    period,
    scope_role_line,
    tier_label,
)
from patchdesk.reports.escape import md_text
from patchdesk.reports.formatting import local, local_range, utc
from patchdesk.store.report_model import OUTCOME_LABELS, CycleReport, ExceptionLine

MAX_PATCHES = 3


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return lines


def _list(values: Sequence[str], empty: str = "all") -> str:
    return ", ".join(md_text(v) for v in values) if values else empty


def _patches(vendor_ids: Sequence[str]) -> str:
    shown = ", ".join(md_text(v) for v in vendor_ids[:MAX_PATCHES])
    more = len(vendor_ids) - MAX_PATCHES
    return f"{shown} +{more} more" if more > 0 else (shown or "-")


def render(report: CycleReport) -> str:
    zone = report.zone
    lines = [
        f"# Post-patch report: {md_text(report.client_name)}, cycle {report.cycle.label}",
        "",
        f"- **Client:** {md_text(report.client_name)} (`{md_text(report.client_id)}`), "
        f"SLA tier {md_text(report.sla_tier)}",
        f"- **Time zone:** {md_text(report.timezone)} (times below are client-local unless "
        "marked UTC)",
        f"- **Cycle:** {period(report)}",
        f"- **Figures as of:** {as_of(report)}",
        "",
        "## Summary",
        "",
        f"- Devices in scope: {scope_role_line(report)}",
        f"- Patched this cycle: {report.devices_patched} devices in "
        f"{len(report.windows)} window occurrences ({len(report.targets)} deployment targets)",
        f"- Device compliance: {compliance_cell(report.compliance_before)} at the start, "
        f"{compliance_cell(report.compliance_after)} "
        f"{'now' if report.in_progress else 'at the end'}",
        f"- Patch compliance: {patch_cell(report.compliance_before)} at the start, "
        f"{patch_cell(report.compliance_after)} {'now' if report.in_progress else 'at the end'}",
        f"- Failed installs: {failures_line(report)}",
        f"- Exceptions: {exceptions_line(report)}",
        f"- Time to remediate: {mttr_line(report)}",
        f"- Emergency patches: {len(report.emergencies)}",
        "",
        "## Patch scope",
        "",
    ]
    scope = report.scope
    lines += [
        f"- Roles: {_list(scope.include_roles)}; tags: {_list(scope.include_tags)}; "
        f"sites: {_list(scope.include_sites)}; operating systems: {_list(scope.include_os)}",
        f"- Excluded devices: {_list(scope.exclude_devices, 'none')}",
        f"- Operating-system patches: {'yes' if scope.patch_os else 'no'}; third-party "
        f"applications: {_list(scope.third_party, 'none')}",
    ]
    if scope.notes.strip():
        lines.append(f"- Notes: {md_text(scope.notes)}")
    lines += ["", "## Maintenance windows used", ""]
    if report.windows:
        lines += _table(
            (
                "Window",
                f"Local time ({md_text(report.timezone)})",
                "UTC",
                "Devices",
                "Verified",
                "Failed",
            ),
            (
                (
                    md_text(w.name),
                    local_range(w.start, w.end, zone),
                    f"{utc(w.start)} – {utc(w.end)[11:]}",
                    str(w.targets),
                    str(w.verified),
                    str(w.failed),
                )
                for w in report.windows
            ),
        )
    else:
        lines.append("No maintenance window occurred in this cycle (yet).")
    lines += ["", "## Targets by outcome", ""]
    counts = report.outcome_counts()
    if counts:
        lines += _table(("Outcome", "Targets"), ((OUTCOME_LABELS[s], str(n)) for s, n in counts))
    else:
        lines.append("No device was targeted in this cycle.")
    lines += ["", "## Failures by class", ""]
    for failure, failed in report.failures():
        lines += [f"### {class_title(failure, len(failed))}", ""]
        if not failed:
            lines += ["None.", ""]
            continue
        lines += _table(
            ("Device", "Tier", "Window (local)", "Patches", "Error", "Exception"),
            (
                (
                    md_text(t.hostname),
                    tier_label(t.tier),
                    f"{md_text(t.window)}, {local(t.window_start, zone)}",
                    _patches([p.vendor_id for p in t.patches]),
                    md_text(t.error_message or t.error_code or ""),
                    f"#{t.exception_id}" if t.exception_id else "-",
                )
                for t in failed
            ),
        )
        lines.append("")
    lines += ["## Exceptions", ""]
    if not report.exceptions:
        lines += ["No exception was opened or resolved in this cycle.", ""]
    for exception in report.exceptions:
        lines += _exception(exception, report)
    lines += ["## Compliance before and after", ""]
    lines += _table(
        (
            "",
            f"Cycle start ({local(report.compliance_before.at, zone)})",
            f"{'Now' if report.in_progress else 'Cycle end'} "
            f"({local(report.compliance_after.at, zone)})",
        ),
        (
            (
                "Devices compliant",
                compliance_cell(report.compliance_before),
                compliance_cell(report.compliance_after),
            ),
            (
                "Patch installs",
                patch_cell(report.compliance_before),
                patch_cell(report.compliance_after),
            ),
        ),
    )
    lines.append("")
    if report.noncompliant_after:
        lines += ["Devices with approved, due patches still missing:", ""]
        lines += [
            f"- {md_text(host)}: {n} patch{'es' if n != 1 else ''}"
            for host, n in report.noncompliant_after
        ]
        lines.append("")
    lines += ["## Emergency patches", ""]
    if report.emergencies:
        lines += _table(
            ("Patch", "Approved (local)", "By", "Reason", "Devices", "Verified"),
            (
                (
                    md_text(e.patch if e.title == e.patch else f"{e.patch} {e.title}"),
                    local(e.decided_at, zone),
                    md_text(e.operator),
                    md_text(e.reason),
                    ", ".join(md_text(h) for h in e.hostnames),
                    f"{e.verified} of {e.targets}",
                )
                for e in report.emergencies
            ),
        )
    else:
        lines.append("None in this cycle.")
    lines += ["", "## Definitions", ""]
    lines += [f"- {text}" for text in DEFINITIONS]
    return "\n".join(lines) + "\n"


def _exception(exception: ExceptionLine, report: CycleReport) -> list[str]:
    zone = report.zone
    state = exception.state.value.replace("_", " ")
    if exception.reopened_count:
        state += f", reopened {exception.reopened_count}×"
    lines = [
        f"### #{exception.id} {md_text(exception.hostname)}: {exception.failure_class.value} "
        f"({state})",
        "",
        f"- Tier {tier_label(exception.tier)}; owner: "
        f"{md_text(exception.owner) if exception.owner else 'unassigned'}; patches: "
        f"{_patches(exception.patches)}",
        f"- Opened {local(exception.opened_at, zone)}"
        + (f", resolved {local(exception.resolved_at, zone)}" if exception.resolved_at else ""),
    ]
    if exception.summary.strip():
        lines.append(f"- {md_text(exception.summary)}")
    lines.append("")
    if exception.history:
        lines += _table(
            ("When (local)", "Who", "Action", "Outcome", "Note"),
            (
                (
                    local(h.at, zone),
                    md_text(h.actor if h.actor == h.operator else f"{h.actor} for {h.operator}"),
                    md_text(h.action),
                    md_text(h.outcome),
                    md_text(h.note),
                )
                for h in exception.history
            ),
        )
        lines.append("")
    return lines
