"""The client's post-patch report as CSV (``reports.client_model``): one row per device in
a window, plain words, times in the client's zone (labelled); every cell through
``escape.csv_cell`` (formula injection neutralised)."""

from __future__ import annotations

import csv
import io

from patchdesk.reports.client_model import ClientReport
from patchdesk.reports.escape import csv_cell
from patchdesk.reports.formatting import client_time

COLUMNS = (
    "client",
    "cycle",
    "window",
    "window_start",
    "device",
    "role",
    "site",
    "result",
    "problem",
    "updates",
    "failed_updates",
    "follow_up",
)


def render(report: ClientReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for d in report.devices:
        row = (
            report.client_name,
            report.cycle.label,
            d.window,
            client_time(d.window_start, report.zone),
            d.hostname,
            d.role,
            d.site,
            d.outcome,
            d.problem,
            " ".join(d.patches),
            " ".join(d.failed_patches),
            d.follow_up,
        )
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()
