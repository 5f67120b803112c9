"""Exporting one client's post-patch report from the Reports screen.

``write_cycle_report`` (run in a worker) builds the same report as ``patchdesk report cycle``
(``store.report_views.cycle_report`` rendered by ``reports.cycle_formats``) and writes it to
``patchdesk-<client>-<cycle>.<ext>`` in the reports directory (``reports_dir`` in the
settings, else the current directory), created if needed. An existing file is never
overwritten: the next free name (``…-2.html``, ``…-3.html``) is used, created exclusively so
two technicians exporting at once never write into one file. ``ExportFormatModal`` asks for
the format (html unless another is chosen).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from patchdesk.engine.metrics.cycles import Cycle
from patchdesk.reports.cycle_formats import render
from patchdesk.store.db import Database
from patchdesk.store.report_views import cycle_report

EXTENSIONS = {"html": "html", "md": "md", "csv": "csv", "json": "json"}
FORMAT_NAMES = {
    "html": "HTML, one self-contained file that prints well",
    "md": "Markdown, for a ticket",
    "csv": "CSV, one row per target",
    "json": "JSON, everything",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_TRIES = 1000


class ExportFailed(Exception):
    """The report could not be written; the message says why (shown to the technician)."""


def export_name(client_id: str, cycle: Cycle, fmt: str, attempt: int = 1) -> str:
    """``patchdesk-prairie-vet-2026-11.html``; characters a file name should not hold
    become ``_`` (a client id never leads out of the directory)."""
    safe = _UNSAFE.sub("_", client_id).strip("._") or "client"
    suffix = f"-{attempt}" if attempt > 1 else ""
    return f"patchdesk-{safe[:80]}-{cycle.label}{suffix}.{EXTENSIONS[fmt]}"


def reports_directory(configured: Path | None) -> Path:
    return (configured if configured is not None else Path.cwd()).expanduser().absolute()


def write_new(directory: Path, client_id: str, cycle: Cycle, fmt: str, text: str) -> Path:
    """Write ``text`` to the first free export name in ``directory``; returns the path."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, MAX_TRIES + 1):
            path = directory / export_name(client_id, cycle, fmt, attempt)
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
) -> Path:
    """The client's post-patch report for ``cycle`` as of ``now``, written in ``fmt``."""
    with database.session() as session:
        report = cycle_report(session, client_id, cycle, now)
    if report is None:
        raise ExportFailed(f"client {client_id!r} no longer exists")
    return write_new(directory, client_id, cycle, fmt, render(report, fmt))


class ExportFormatModal(ModalScreen[str | None]):
    """``h``/``enter`` HTML, ``m`` Markdown, ``c`` CSV, ``j`` JSON, ``esc`` cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h,enter", "choose('html')", "HTML", id="export.html"),
        Binding("m", "choose('md')", "Markdown", id="export.md"),
        Binding("c", "choose('csv')", "CSV", id="export.csv"),
        Binding("j", "choose('json')", "JSON", id="export.json"),
        Binding("escape", "choose('')", "Cancel", id="export.cancel"),
    ]

    DEFAULT_CSS = """
    ExportFormatModal { align: center middle; }
    ExportFormatModal > Vertical {
        width: 64; max-width: 95%; height: auto;
        border: thick $primary; background: $panel; padding: 1 2;
    }
    ExportFormatModal .export-keys { margin-top: 1; }
    """

    def __init__(self, title: Text, directory: Path) -> None:
        super().__init__()
        self.title_text = title
        self.directory = directory

    def compose(self) -> ComposeResult:
        keys = Text()
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
            yield Static(keys, classes="export-keys", markup=False)

    def action_choose(self, fmt: str) -> None:
        self.dismiss(fmt or None)
