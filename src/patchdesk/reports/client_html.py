"""The client's post-patch report as one self-contained HTML file (``reports.client_model``):
the internal report's look and print rules (inline CSS, no scripts or external assets), plain
words, times in the client's zone, labelled. Every stored name goes through
``escape.html_text``; so do the projection's sentences."""

from __future__ import annotations

from collections.abc import Sequence

from patchdesk.reports import client_text as words
from patchdesk.reports.client_model import ClientReport, Measure
from patchdesk.reports.cycle_html import STYLE, card, table
from patchdesk.reports.escape import html_text
from patchdesk.reports.formatting import client_span, client_time, percent

CLIENT_STYLE = """
.brand { display: flex; justify-content: space-between; align-items: baseline; gap: 16px;
         border-bottom: 1px solid var(--line); padding-bottom: 8px; margin-bottom: 16px; }
.logo { font-size: 20px; font-weight: 700; letter-spacing: .04em; }
.brand .who { color: var(--muted); text-align: right; }
.cards { grid-template-columns: repeat(2, 1fr); }
ul.summary li { margin: 2px 0; }
p.meaning { color: var(--muted); font-size: 13px; margin: 4px 0; }
"""


def _names(values: Sequence[str], empty: str) -> str:
    return (
        ", ".join(html_text(v) for v in values) if values else f'<span class="muted">{empty}</span>'
    )


def render(report: ClientReport) -> str:
    heading, client = words.title(report)
    title = f"{html_text(heading)}{html_text(client)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{STYLE}{CLIENT_STYLE}</style></head><body>",
        _brand(report),
        f"<h1>{title}</h1>",
        f'<p class="sub">{html_text(words.period(report))}. Figures as of '
        f"{html_text(words.as_of(report))}. {html_text(words.zone_note(report))}</p>",
        "<h2>Summary</h2>",
        '<ul class="summary">' + "".join(f"<li>{html_text(s)}</li>" for s in report.summary),
        "</ul>",
        _outstanding(report),
        _next_windows(report),
        _compliance(report),
        _windows(report),
        _events(report),
        _emergencies(report),
        _scope(report),
        _devices(report),
        f"<footer>Prepared by {html_text(words.prepared_by(report.branding))}"
        + (f" · {html_text(report.branding.contact)}" if report.branding.contact else "")
        + f". {html_text(words.zone_note(report))}</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _brand(report: ClientReport) -> str:
    branding = report.branding
    logo = f'<div class="logo">{html_text(branding.logo_text)}</div>' if branding.logo_text else ""
    who = f"Prepared by {html_text(words.prepared_by(branding))}"
    if branding.contact:
        who += f"<br>{html_text(branding.contact)}"
    return f'<div class="brand">{logo or "<div></div>"}<div class="who">{who}</div></div>'


def _outstanding(report: ClientReport) -> str:
    if not report.outstanding:
        return "<h2>Outstanding</h2><p>Nothing is outstanding.</p>"
    rows = (
        (html_text(o.hostname), html_text(o.what), html_text(o.why)) for o in report.outstanding
    )
    return "<h2>Outstanding</h2>" + table(("Device", "What", "Why"), rows)


def _next_windows(report: ClientReport) -> str:
    zone = report.zone
    if not report.next_windows:
        return "<h2>Next maintenance windows</h2><p>No maintenance window is scheduled.</p>"
    rows = (
        (html_text(w.name), html_text(client_span(w.start, w.end, zone)))
        for w in report.next_windows
    )
    return "<h2>Next maintenance windows</h2>" + table(("Window", "Scheduled"), rows)


def _measure_card(report: ClientReport, measure: Measure) -> str:
    when = "now" if report.in_progress else "at the end of the cycle"
    return card(
        html_text(measure.name),
        percent(measure.rate_after),
        f"{when}; {percent(measure.rate_before)} at the start of the cycle",
    )


def _compliance(report: ClientReport) -> str:
    measures = (report.device_compliance, report.patch_compliance)
    cards = "".join(_measure_card(report, m) for m in measures)
    rows = (
        (
            html_text(m.name),
            html_text(words.measure_cell(m, after=False)),
            html_text(words.measure_cell(m, after=True)),
        )
        for m in measures
    )
    meanings = "".join(f'<p class="meaning">{html_text(m.meaning)}</p>' for m in measures)
    return (
        "<h2>Compliance</h2>"
        + f'<div class="cards">{cards}</div>'
        + table(("", "Start of cycle", words.when_after(report)), rows)
        + meanings
    )


def _windows(report: ClientReport) -> str:
    zone = report.zone
    if not report.windows:
        return (
            "<h2>Maintenance windows</h2>"
            "<p>No maintenance window has taken place in this cycle yet.</p>"
        )
    rows = (
        (
            html_text(w.name),
            html_text(client_span(w.start, w.end, zone)),
            str(w.devices),
            str(w.updated),
            f'<span class="bad">{w.problems}</span>' if w.problems else "0",
        )
        for w in report.windows
    )
    header = ("Window", "Scheduled", "Devices", "Updated", "Problems")
    parts = ["<h2>Maintenance windows</h2>", table(header, rows, frozenset({2, 3, 4}))]
    if report.outside_windows:
        parts.append(
            "<p>Installations retried outside their window (the window is shown as scheduled):</p>"
        )
        parts.append(
            table(
                ("Device", "Window", "Retried", "Result"),
                (
                    (
                        html_text(o.hostname),
                        f"{html_text(o.window)}<br>{html_text(client_time(o.window_start, zone))}",
                        html_text(client_time(o.at, zone)),
                        html_text(o.result),
                    )
                    for o in report.outside_windows
                ),
            )
        )
    return "".join(parts)


def _events(report: ClientReport) -> str:
    zone = report.zone
    if not report.events:
        return "<h2>What happened</h2><p>No device needed an engineer's attention.</p>"
    rows = (
        (
            html_text(client_time(e.at, zone)),
            html_text(e.hostname),
            _names(e.patches, "-"),
            f'<span class="{"ok" if e.resolved else "bad"}">{html_text(e.sentence)}</span>',
        )
        for e in report.events
    )
    header = ("Found", "Device", "Updates", "What happened and what was done")
    return "<h2>What happened</h2>" + table(header, rows)


def _emergencies(report: ClientReport) -> str:
    zone = report.zone
    if not report.emergencies:
        return "<h2>Urgent updates</h2><p>None in this cycle.</p>"
    rows = (
        (
            html_text(e.patch) + ("" if e.title == e.patch else f" {html_text(e.title)}"),
            html_text(client_time(e.approved_at, zone)),
            _names(e.devices, "-"),
            f"{e.updated} of {e.targets}",
        )
        for e in report.emergencies
    )
    return "<h2>Urgent updates</h2>" + table(("Update", "Approved", "Devices", "Updated"), rows)


def _scope(report: ClientReport) -> str:
    scope = report.scope
    rows = (
        ("Devices in scope", html_text(words.in_scope_line(report))),
        ("Operating systems", _names(scope.operating_systems, "all")),
        ("Sites", _names(scope.sites, "all")),
        ("Operating-system updates", words.yes_no(scope.operating_system_updates)),
        ("Applications", _names(scope.applications, "none")),
        ("Devices left out of patching", _names(scope.excluded_devices, "none")),
    )
    return "<h2>Patch scope</h2>" + table(("", ""), rows)


def _devices(report: ClientReport) -> str:
    if not report.devices:
        return ""
    zone = report.zone
    rows = (
        (
            html_text(d.hostname),
            html_text(d.role),
            f"{html_text(d.window)}<br>{html_text(client_time(d.window_start, zone))}",
            str(len(d.patches)),
            f'<span class="{"bad" if d.problem else "ok"}">{html_text(d.outcome)}</span>',
        )
        for d in report.devices
    )
    header = ("Device", "Role", "Window", "Updates", "Result")
    return "<h2>Appendix: every device in this cycle's windows</h2>" + table(
        header, rows, frozenset({3})
    )
