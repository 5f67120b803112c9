"""The post-patch report in each of its formats and audiences (``patchdesk report cycle``,
the Reports screen's export).

``render`` turns either model into a document's text: the internal report
(``store.report_model.CycleReport``, full detail for the MSP) or the client's
(``reports.client_model.ClientReport``, projected by ``reports.client_view``). ``document``
does both steps for an audience.
"""

from __future__ import annotations

import json
from typing import Any

from patchdesk.reports import (
    client_csv,
    client_html,
    client_json,
    client_markdown,
    cycle_csv,
    cycle_html,
    cycle_json,
    cycle_markdown,
)
from patchdesk.reports.client_model import Branding, ClientReport
from patchdesk.reports.client_view import client_view
from patchdesk.store.report_model import CycleReport
from patchdesk.text import json_escaped

FORMATS = ("md", "html", "csv", "json")
AUDIENCES = ("client", "internal")
DEFAULT_AUDIENCE = "client"


def _json(document: dict[str, Any]) -> str:
    """Readable JSON in which bidi, zero-width and control characters are ``\\u`` escapes."""
    return json_escaped(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def render(report: CycleReport | ClientReport, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")
    if isinstance(report, ClientReport):
        if fmt == "md":
            return client_markdown.render(report)
        if fmt == "html":
            return client_html.render(report)
        if fmt == "csv":
            return client_csv.render(report)
        return _json(client_json.document(report))
    if fmt == "md":
        return cycle_markdown.render(report)
    if fmt == "html":
        return cycle_html.render(report)
    if fmt == "csv":
        return cycle_csv.render(report)
    return _json(cycle_json.document(report))


def document(report: CycleReport, fmt: str, audience: str, branding: Branding) -> str:
    """The report in ``fmt`` for ``audience``: ``client`` (the projection) or ``internal``."""
    if audience == "internal":
        return render(report, fmt)
    if audience == "client":
        return render(client_view(report, branding), fmt)
    raise ValueError(f"unknown audience {audience!r} (one of {', '.join(AUDIENCES)})")
