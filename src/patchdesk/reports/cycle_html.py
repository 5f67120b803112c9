"""The post-patch cycle report as one self-contained HTML file: inline CSS, no scripts, no
external assets, readable on screen and on paper (A4/Letter, tables that do not split rows).
Every untrusted value goes through ``escape.html_text``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from patchdesk.domain import TargetState
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
from patchdesk.reports.escape import html_multiline, html_text
from patchdesk.reports.formatting import local, local_range, percent, utc
from patchdesk.store.report_model import (
    OUTCOME_LABELS,
    CycleReport,
    ExceptionLine,
    TargetLine,
)

STYLE = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d5d9e0; --soft: #f4f6f9;
        --ok: #1d7a46; --bad: #b3261e; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 32px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px;
     border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
        background: var(--soft); }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card .v { font-size: 22px; font-weight: 600; }
.card .d { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.muted { color: var(--muted); }
.exception { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 10px 0;
             break-inside: avoid; page-break-inside: avoid; }
.exception h3 { margin-top: 2px; }
ul.defs { color: var(--muted); font-size: 12px; padding-left: 18px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px;
         border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  .cards { grid-template-columns: repeat(4, 1fr); }
  .card { background: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: frozenset[int] = frozenset()
) -> str:
    """``header`` and ``rows`` are HTML already (escaped by the caller)."""
    head = "".join(
        f'<th class="n">{h}</th>' if i in numeric else f"<th>{h}</th>" for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(values: Sequence[str], empty: str = "all") -> str:
    return (
        ", ".join(html_text(v) for v in values) if values else f'<span class="muted">{empty}</span>'
    )


def card(key: str, value: str, detail: str) -> str:
    return (
        f'<div class="card"><div class="k">{key}</div><div class="v">{value}</div>'
        f'<div class="d">{detail}</div></div>'
    )


def render(report: CycleReport) -> str:
    title = f"Post-patch report: {html_text(report.client_name)}, cycle {report.cycle.label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f'<p class="sub">Patch cycle {report.cycle.label}: {period(report)}</p>',
        _meta(report),
        _summary(report),
        _scope(report),
        _windows(report),
        _outcomes(report),
        _failures(report),
        _exceptions(report),
        _compliance(report),
        _emergencies(report),
        _devices(report),
        "<h2>Definitions</h2>",
        '<ul class="defs">' + "".join(f"<li>{d}</li>" for d in DEFINITIONS) + "</ul>",
        f"<footer>Generated by patchdesk. Figures as of {as_of(report)}. Times are "
        f"{html_text(report.timezone)} local time unless marked UTC.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _meta(report: CycleReport) -> str:
    rows = (
        ("Client", f"{html_text(report.client_name)} (<code>{html_text(report.client_id)}</code>)"),
        ("SLA tier", html_text(report.sla_tier)),
        ("Time zone", html_text(report.timezone)),
        ("Figures as of", as_of(report)),
    )
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _summary(report: CycleReport) -> str:
    after, before = report.compliance_after, report.compliance_before
    when = "now" if report.in_progress else "at cycle end"
    cards = "".join(
        (
            card(
                "Device compliance",
                percent(after.device_rate),
                f"{when}; {percent(before.device_rate)} at cycle start",
            ),
            card(
                "Patch compliance",
                percent(after.patch_rate),
                f"{when}; {percent(before.patch_rate)} at cycle start",
            ),
            card("Failed installs", str(report.failed_total), failures_line(report)),
            card("Emergency patches", str(len(report.emergencies)), "approved this cycle"),
        )
    )
    items = (
        f"Devices in scope: {scope_role_line(report)}",
        f"Patched this cycle: {report.devices_patched} devices in {len(report.windows)} window "
        f"occurrences ({len(report.targets)} deployment targets)",
        f"Exceptions: {exceptions_line(report)}",
        f"Time to remediate: {mttr_line(report)}",
    )
    return (
        "<h2>Summary</h2>"
        + f'<div class="cards">{cards}</div>'
        + "<ul>"
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul>"
    )


def _scope(report: CycleReport) -> str:
    scope = report.scope
    rows = [
        ("Roles", _list(scope.include_roles)),
        ("Tags", _list(scope.include_tags)),
        ("Sites", _list(scope.include_sites)),
        ("Operating systems", _list(scope.include_os)),
        ("Excluded devices", _list(scope.exclude_devices, "none")),
        ("Operating-system patches", "yes" if scope.patch_os else "no"),
        ("Third-party applications", _list(scope.third_party, "none")),
    ]
    if scope.notes.strip():
        rows.append(("Notes", html_multiline(scope.notes)))
    return "<h2>Patch scope</h2>" + table(("Included", ""), rows)


def _windows(report: CycleReport) -> str:
    zone = report.zone
    if not report.windows:
        return (
            "<h2>Maintenance windows used</h2>"
            "<p>No maintenance window occurred in this cycle (yet).</p>"
        )
    rows = (
        (
            html_text(w.name),
            local_range(w.start, w.end, zone),
            f"{utc(w.start)} – {utc(w.end)[11:]}",
            str(w.targets),
            str(w.verified),
            f'<span class="bad">{w.failed}</span>' if w.failed else "0",
        )
        for w in report.windows
    )
    header = (
        "Window",
        f"Local time ({html_text(report.timezone)})",
        "UTC",
        "Devices",
        "Verified",
        "Failed",
    )
    return "<h2>Maintenance windows used</h2>" + table(header, rows, frozenset({3, 4, 5}))


def _outcomes(report: CycleReport) -> str:
    counts = report.outcome_counts()
    if not counts:
        return "<h2>Targets by outcome</h2><p>No device was targeted in this cycle.</p>"
    rows = ((OUTCOME_LABELS[state], str(n)) for state, n in counts)
    return "<h2>Targets by outcome</h2>" + table(("Outcome", "Targets"), rows, frozenset({1}))


def _patch_list(target: TargetLine) -> str:
    return (
        "<br>".join(
            f"<code>{html_text(p.vendor_id)}</code>"
            + ("" if p.title == p.vendor_id else f" {html_text(p.title)}")
            + (' <span class="bad">(failed)</span>' if p.state == "failed" else "")
            for p in target.patches
        )
        or '<span class="muted">-</span>'
    )


def _failures(report: CycleReport) -> str:
    zone = report.zone
    parts = ["<h2>Failures by class</h2>"]
    for failure, failed in report.failures():
        parts.append(f"<h3>{class_title(failure, len(failed))}</h3>")
        if not failed:
            parts.append('<p class="muted">None.</p>')
            continue
        rows = (
            (
                html_text(t.hostname),
                tier_label(t.tier),
                f"{html_text(t.window)}<br>{local(t.window_start, zone)}",
                _patch_list(t),
                html_text(t.error_message or t.error_code or ""),
                f"#{t.exception_id}" if t.exception_id else "-",
            )
            for t in failed
        )
        parts.append(table(("Device", "Tier", "Window", "Patches", "Error", "Exception"), rows))
    return "".join(parts)


def _exceptions(report: CycleReport) -> str:
    parts = ["<h2>Exceptions and remediation</h2>"]
    if not report.exceptions:
        parts.append("<p>No exception was opened or resolved in this cycle.</p>")
    parts += [_exception(e, report) for e in report.exceptions]
    return "".join(parts)


def _exception(exception: ExceptionLine, report: CycleReport) -> str:
    zone = report.zone
    state = exception.state.value.replace("_", " ")
    css = "ok" if exception.resolved_at else "bad"
    if exception.reopened_count:
        state += f", reopened {exception.reopened_count}×"
    facts = [
        f"Tier {tier_label(exception.tier)}",
        "owner " + (html_text(exception.owner) if exception.owner else "unassigned"),
        "patches " + (", ".join(f"<code>{html_text(p)}</code>" for p in exception.patches) or "-"),
        f"opened {local(exception.opened_at, zone)}",
    ]
    if exception.resolved_at:
        facts.append(f"resolved {local(exception.resolved_at, zone)}")
    history = (
        table(
            ("When", "Who", "Action", "Outcome", "Note"),
            (
                (
                    local(h.at, zone),
                    html_text(h.actor if h.actor == h.operator else f"{h.actor} for {h.operator}"),
                    html_text(h.action),
                    html_text(h.outcome),
                    html_multiline(h.note),
                )
                for h in exception.history
            ),
        )
        if exception.history
        else '<p class="muted">No remediation recorded.</p>'
    )
    summary = f"<p>{html_text(exception.summary)}</p>" if exception.summary.strip() else ""
    return (
        f'<div class="exception"><h3>#{exception.id} {html_text(exception.hostname)}: '
        f'{exception.failure_class.value} <span class="{css}">({state})</span></h3>'
        f'<p class="muted">{"; ".join(facts)}</p>{summary}{history}</div>'
    )


def _compliance(report: CycleReport) -> str:
    zone = report.zone
    before, after = report.compliance_before, report.compliance_after
    header = (
        "",
        f"Cycle start<br>{local(before.at, zone)}",
        f"{'Now' if report.in_progress else 'Cycle end'}<br>{local(after.at, zone)}",
    )
    rows = (
        ("Devices compliant", compliance_cell(before), compliance_cell(after)),
        ("Patch installs", patch_cell(before), patch_cell(after)),
    )
    parts = ["<h2>Compliance before and after</h2>", table(header, rows)]
    if report.noncompliant_after:
        parts.append("<p>Devices with approved, due patches still missing:</p>")
        parts.append(
            table(
                ("Device", "Due patches missing"),
                ((html_text(host), str(n)) for host, n in report.noncompliant_after),
                frozenset({1}),
            )
        )
    return "".join(parts)


def _emergencies(report: CycleReport) -> str:
    zone = report.zone
    if not report.emergencies:
        return "<h2>Emergency patches</h2><p>None in this cycle.</p>"
    rows = (
        (
            f"<code>{html_text(e.patch)}</code>"
            + ("" if e.title == e.patch else f" {html_text(e.title)}"),
            local(e.decided_at, zone),
            html_text(e.operator),
            html_text(e.reason),
            ", ".join(html_text(h) for h in e.hostnames),
            f"{e.verified} of {e.targets}",
        )
        for e in report.emergencies
    )
    header = ("Patch", "Approved", "By", "Reason", "Devices", "Verified")
    return "<h2>Emergency patches</h2>" + table(header, rows)


def _outcome_css(target: TargetLine) -> str:
    if target.failure_class is not None:
        return "bad"
    return "ok" if target.state is TargetState.VERIFIED else "muted"


def _devices(report: CycleReport) -> str:
    if not report.targets:
        return ""
    zone = report.zone
    rows = (
        (
            html_text(t.hostname),
            html_text(t.role.replace("_", " ")),
            f"{html_text(t.window)}<br>{local(t.window_start, zone)}",
            str(len(t.patches)),
            f'<span class="{_outcome_css(t)}">{OUTCOME_LABELS[t.state]}</span>',
        )
        for t in report.targets
    )
    header = ("Device", "Role", "Window", "Patches", "Outcome")
    return "<h2>Appendix: every device targeted</h2>" + table(header, rows, frozenset({3}))
