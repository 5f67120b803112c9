"""Exporting one client's post-patch report from the Reports screen.

``write_cycle_report`` (run in a worker) builds the same report as ``patchdesk report cycle``
(``store.report_views.cycle_report``, for an audience, rendered by ``reports.cycle_formats``)
and writes it to ``patchdesk-<client>-<cycle>.<ext>`` (the client's) or
``patchdesk-<client>-<cycle>-internal.<ext>`` (the MSP's own) in the reports directory
(``reports_dir`` in the settings, else the current directory), created if needed. An
existing file is never overwritten: the next free name (``…-2.html``, ``…-3.html``) is used,
created exclusively so two technicians exporting at once never write into one file.
``ExportFormatModal`` asks for the audience (the client's unless ``a`` switches it to
internal) and the format (html unless another is chosen).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from patchdesk.reports.client_model import Branding
from patchdesk.reports.cycle_formats import DEFAULT_AUDIENCE, document
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.store.db import Database
from patchdesk.store.report_views import cycle_report
from patchdesk.text import printable

EXTENSIONS = {"html": "html", "md": "md", "csv": "csv", "json": "json"}
FORMAT_NAMES = {
    "html": "HTML, one self-contained file that prints well",
    "md": "Markdown, for a ticket",
    "csv": "CSV, one row per target",
    "json": "JSON, everything",
}
AUDIENCE_NAMES = {
    "client": "for the client: no notes, names or codes",
    "internal": "internal: full detail, not for the client",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_TRIES = 1000


class ExportFailed(Exception):
    """The report could not be written; the message says why (shown to the technician)."""


def export_name(
    client_id: str, cycle: Cycle, fmt: str, attempt: int = 1, audience: str = DEFAULT_AUDIENCE
) -> str:
    """``patchdesk-prairie-vet-2026-11.html`` (``…-2026-11-internal.html`` for the MSP's
    own); characters a file name should not hold become ``_`` (a client id never leads out
    of the directory)."""
    safe = _UNSAFE.sub("_", client_id).strip("._") or "client"
    which = "" if audience == "client" else f"-{audience}"
    suffix = f"-{attempt}" if attempt > 1 else ""
    return f"patchdesk-{safe[:80]}-{cycle.label}{which}{suffix}.{EXTENSIONS[fmt]}"


def reports_directory(configured: Path | None) -> Path:
    return (configured if configured is not None else Path.cwd()).expanduser().absolute()


def write_new(
    directory: Path,
    client_id: str,
    cycle: Cycle,
    fmt: str,
    text: str,
    audience: str = DEFAULT_AUDIENCE,
) -> Path:
    """Write ``text`` to the first free export name in ``directory``; returns the path."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, MAX_TRIES + 1):
            path = directory / export_name(client_id, cycle, fmt, attempt, audience)
            try:
                with path.open("x", encoding="utf-8", newline="") as out:
                    out.write(text)
            except FileExistsError:
                continue
            return path
    except OSError as exc:
        raise ExportFailed(f"cannot write in {directory}: {exc.strerror or exc}") from None
    raise ExportFailed(f"{directory} already holds {MAX_TRIES} exports of this report")


def write_cycle_report(
    database: Database,
    client_id: str,
    cycle: Cycle,
    now: datetime,
    fmt: str,
    directory: Path,
    audience: str = DEFAULT_AUDIENCE,
    branding: Branding | None = None,
) -> Path:
    """The client's post-patch report for ``cycle`` as of ``now``, written in ``fmt`` for
    ``audience``."""
    with database.session() as session:
        report = cycle_report(session, client_id, cycle, now)
    if report is None:
        raise ExportFailed(f"client {client_id!r} no longer exists")
    text = document(report, fmt, audience, branding or Branding())
    return write_new(directory, client_id, cycle, fmt, text, audience)


@dataclass(frozen=True)
class ExportOrder:
    """One export the technician asked for: whose report, of which cycle, as of when, in
    which format, for whom, and where to."""

    client_id: str
    client_name: str
    cycle: Cycle
    now: datetime
    fmt: str
    directory: Path
    audience: str


class Exported(Message):
    """An export finished (its worker posts it): the file written, or ``error`` saying why
    none was."""

    def __init__(self, order: ExportOrder, path: Path | None, error: str = "") -> None:
        super().__init__()
        self.order = order
        self.path = path
        self.error = error


def run_export(database: Database, branding: Branding, order: ExportOrder) -> Exported:
    """Write the report ``order`` asks for (in a worker); a refusal is the result's error."""
    try:
        path = write_cycle_report(
            database,
            order.client_id,
            order.cycle,
            order.now,
            order.fmt,
            order.directory,
            order.audience,
            branding,
        )
    except ExportFailed as failed:
        return Exported(order, None, str(failed))
    return Exported(order, path)


def announce_export(node: Screen[Any], exported: Exported, branding: Branding) -> None:
    """Tell the technician where the report went (and that it names no MSP when a
    client's report was written without one), or why it was not written."""
    order = exported.order
    name = printable(order.client_name)
    if exported.path is None:
        node.notify(
            printable(exported.error),
            title=f"Report of {name} not written",
            severity="error",
            markup=False,
            timeout=15,
        )
        return
    if order.audience == "client" and not branding.msp_name:
        node.notify(
            "The report names no MSP: set report.msp_name in the config file "
            "(PATCHDESK_REPORT__MSP_NAME).",
            severity="warning",
            markup=False,
            timeout=15,
        )
    node.notify(
        f"{printable(str(exported.path))}",
        title=(
            f"Wrote the {order.cycle.label} report of {name}"
            + (" (internal: not for the client)" if order.audience == "internal" else "")
        ),
        markup=False,
        timeout=15,
    )


class ExportFormatModal(ModalScreen[tuple[str, str] | None]):
    """``a`` switches the audience (the client's, or internal), then ``h``/``enter`` HTML,
    ``m`` Markdown, ``c`` CSV, ``j`` JSON; ``esc`` cancels. Dismissed with (format,
    audience)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h,enter", "choose('html')", "HTML", id="export.html"),
        Binding("m", "choose('md')", "Markdown", id="export.md"),
        Binding("c", "choose('csv')", "CSV", id="export.csv"),
        Binding("j", "choose('json')", "JSON", id="export.json"),
        Binding("a", "switch_audience", "Audience", id="export.audience"),
        Binding("escape", "choose('')", "Cancel", id="export.cancel"),
    ]

    audience: reactive[str] = reactive(DEFAULT_AUDIENCE)

    DEFAULT_CSS = """
    ExportFormatModal { align: center middle; }
    ExportFormatModal > Vertical {
        width: 64; max-width: 95%; height: auto;
        border: thick $primary; background: $panel; padding: 1 2;
    }
    ExportFormatModal .export-keys { margin-top: 1; }
    ExportFormatModal #export-audience { margin-top: 1; }
    """

    def __init__(self, title: Text, directory: Path) -> None:
        super().__init__()
        self.title_text = title
        self.directory = directory

    def compose(self) -> ComposeResult:
        keys = Text()
        keys.append("a", "bold")
        keys.append("  switch the audience\n")
        for key, fmt in (("h", "html"), ("m", "md"), ("c", "csv"), ("j", "json")):
            keys.append(f"{key}", "bold")
            keys.append(f"  {FORMAT_NAMES[fmt]}")
            keys.append("  (enter)\n" if fmt == "html" else "\n", "dim")
        keys.append("esc", "bold")
        keys.append("  cancel")
        where = Text("into ", "dim")
        where.append(str(self.directory))
        with Vertical() as box:
            box.border_title = "Export the cycle report"
            yield Static(self.title_text, markup=False)
            yield Static(where, markup=False)
            yield Static(self._audience_text(), id="export-audience", markup=False)
            yield Static(keys, classes="export-keys", markup=False)

    def _audience_text(self) -> Text:
        text = Text("Audience: ", "dim")
        style = "bold" if self.audience == "client" else "bold reverse"
        text.append(AUDIENCE_NAMES[self.audience], style)
        return text

    def watch_audience(self) -> None:
        if self.is_mounted:
            self.query_one("#export-audience", Static).update(self._audience_text())

    def action_switch_audience(self) -> None:
        self.audience = "internal" if self.audience == "client" else "client"

    def action_choose(self, fmt: str) -> None:
        self.dismiss((fmt, self.audience) if fmt else None)
