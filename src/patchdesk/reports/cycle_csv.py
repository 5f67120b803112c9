"""The post-patch cycle report as CSV: one row per deployment target (device in a window),
every cell through ``escape.csv_cell`` (formula injection neutralised)."""

from __future__ import annotations

import csv
import io

from patchdesk.reports.escape import csv_cell
from patchdesk.reports.formatting import iso, local_iso
from patchdesk.store.report_model import CycleReport

COLUMNS = (
    "client",
    "cycle",
    "window",
    "window_start_local",
    "window_start_utc",
    "device",
    "role",
    "tier",
    "site",
    "outcome",
    "failure_class",
    "attempts",
    "deferrals_used",
    "dispatched_at_utc",
    "verified_at_utc",
    "patches",
    "failed_patches",
    "error_code",
    "error_message",
    "exception_id",
)


def render(report: CycleReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for t in report.targets:
        row = (
            report.client_id,
            report.cycle.label,
            t.window,
            local_iso(t.window_start, report.zone),
            iso(t.window_start),
            t.hostname,
            t.role,
            t.tier.value,
            t.site,
            t.state.value,
            t.failure_class.value if t.failure_class else None,
            t.attempts,
            t.deferrals_used,
            iso(t.dispatched_at),
            iso(t.verified_at),
            " ".join(p.vendor_id for p in t.patches),
            " ".join(p.vendor_id for p in t.patches if p.state == "failed"),
            t.error_code,
            t.error_message,
            t.exception_id,
        )
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()
