"""The client's post-patch report in Markdown (``reports.client_model``): plain words, times
in the client's zone, labelled; every stored name escaped (``escape.md_text``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from patchdesk.reports import client_text as words
from patchdesk.reports.client_model import ClientReport
from patchdesk.reports.escape import md_text
from patchdesk.reports.formatting import client_span, client_time

MAX_PATCHES = 3


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return lines


def _names(values: Sequence[str], empty: str) -> str:
    return ", ".join(md_text(v) for v in values) if values else empty


def _patches(vendor_ids: Sequence[str]) -> str:
    shown = ", ".join(md_text(v) for v in vendor_ids[:MAX_PATCHES])
    more = len(vendor_ids) - MAX_PATCHES
    return f"{shown} +{more} more" if more > 0 else (shown or "-")


def render(report: ClientReport) -> str:
    zone = report.zone
    branding = report.branding
    heading, client = words.title(report)
    lines: list[str] = []
    if branding.logo_text:
        lines += [f"**{md_text(branding.logo_text)}**", ""]
    lines += [
        f"# {heading}{md_text(client)}",
        "",
        f"- **Prepared by:** {md_text(words.prepared_by(branding))}",
    ]
    if branding.contact:
        lines.append(f"- **Contact:** {md_text(branding.contact)}")
    lines += [
        f"- **Cycle:** {words.period(report)}",
        f"- **Figures as of:** {words.as_of(report)}",
        f"- {md_text(words.zone_note(report))}",
        "",
        "## Summary",
        "",
    ]
    lines += [f"- {md_text(line)}" for line in report.summary]
    lines += ["", "## Outstanding", ""]
    if report.outstanding:
        lines += _table(
            ("Device", "What", "Why"),
            ((md_text(o.hostname), md_text(o.what), md_text(o.why)) for o in report.outstanding),
        )
    else:
        lines.append("Nothing is outstanding.")
    lines += ["", "## Next maintenance windows", ""]
    if report.next_windows:
        lines += [
            f"- {md_text(w.name)}: {client_span(w.start, w.end, zone)}" for w in report.next_windows
        ]
    else:
        lines.append("No maintenance window is scheduled.")
    lines += ["", "## Compliance", ""]
    lines += _table(
        ("", "Start of cycle", words.when_after(report)),
        (
            (
                m.name,
                words.measure_cell(m, after=False),
                words.measure_cell(m, after=True),
            )
            for m in (report.device_compliance, report.patch_compliance)
        ),
    )
    lines += ["", f"- {report.device_compliance.meaning}", f"- {report.patch_compliance.meaning}"]
    lines += ["", "## Maintenance windows", ""]
    if report.windows:
        lines += _table(
            ("Window", "Scheduled", "Devices", "Updated", "Problems"),
            (
                (
                    md_text(w.name),
                    client_span(w.start, w.end, zone),
                    str(w.devices),
                    str(w.updated),
                    str(w.problems),
                )
                for w in report.windows
            ),
        )
    else:
        lines.append("No maintenance window has taken place in this cycle yet.")
    if report.outside_windows:
        lines += [
            "",
            "Installations retried outside their window (the window is as scheduled):",
            "",
        ]
        lines += _table(
            ("Device", "Window", "Retried", "Result"),
            (
                (
                    md_text(o.hostname),
                    f"{md_text(o.window)}, {client_time(o.window_start, zone)}",
                    client_time(o.at, zone),
                    md_text(o.result),
                )
                for o in report.outside_windows
            ),
        )
    lines += ["", "## What happened", ""]
    if report.events:
        lines += _table(
            ("Found", "Device", "Updates", "What happened and what was done"),
            (
                (
                    client_time(e.at, zone),
                    md_text(e.hostname),
                    _patches(e.patches),
                    md_text(e.sentence),
                )
                for e in report.events
            ),
        )
    else:
        lines.append("No device needed an engineer's attention.")
    lines += ["", "## Urgent updates", ""]
    if report.emergencies:
        lines += _table(
            ("Update", "Approved", "Devices", "Updated"),
            (
                (
                    md_text(e.patch if e.title == e.patch else f"{e.patch} {e.title}"),
                    client_time(e.approved_at, zone),
                    _names(e.devices, "-"),
                    f"{e.updated} of {e.targets}",
                )
                for e in report.emergencies
            ),
        )
    else:
        lines.append("None in this cycle.")
    scope = report.scope
    lines += [
        "",
        "## Patch scope",
        "",
        f"- Devices in scope: {words.in_scope_line(report)}",
        f"- Operating systems: {_names(scope.operating_systems, 'all')}; sites: "
        f"{_names(scope.sites, 'all')}",
        f"- Operating-system updates: {words.yes_no(scope.operating_system_updates)}; "
        f"applications: {_names(scope.applications, 'none')}",
        f"- Devices left out of patching: {_names(scope.excluded_devices, 'none')}",
    ]
    if report.devices:
        lines += ["", "## Every device in this cycle's windows", ""]
        lines += _table(
            ("Device", "Role", "Window", "Updates", "Result"),
            (
                (
                    md_text(d.hostname),
                    d.role,
                    f"{md_text(d.window)}, {client_time(d.window_start, zone)}",
                    str(len(d.patches)),
                    md_text(d.outcome),
                )
                for d in report.devices
            ),
        )
    return "\n".join(lines) + "\n"
