"""The post-patch report in each of its formats (``patchdesk report cycle``, the Reports
screen's export): one function from the report model to the document's text."""

from __future__ import annotations

import json

from patchdesk.reports import cycle_csv, cycle_html, cycle_json, cycle_markdown
from patchdesk.store.report_model import CycleReport
from patchdesk.text import json_escaped

FORMATS = ("md", "html", "csv", "json")


def render(report: CycleReport, fmt: str) -> str:
    if fmt == "md":
        return cycle_markdown.render(report)
    if fmt == "html":
        return cycle_html.render(report)
    if fmt == "csv":
        return cycle_csv.render(report)
    if fmt == "json":
        text = json.dumps(cycle_json.document(report), indent=2, ensure_ascii=False)
        return json_escaped(text) + "\n"
    raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")
