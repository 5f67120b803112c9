"""The handover panel under the queue, and the note modal (a handover note, or the note an
action needs: resolve, escalate).

The panel shows what the shift handed over: exceptions opened, resolved and escalated since
the shift began, what is unresolved and unassigned per tier, how many devices a window did
not patch this cycle (by reason), and the latest handover notes. Shifts
are eight hours starting at 06:00, 14:00 and 22:00 in the operator's zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static, TextArea
from textual.worker import Worker, WorkerState

from patchdesk.domain import Tier
from patchdesk.screens.form_screen import FormScreen
from patchdesk.screens.widgets.queue_cells import clip
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store.handover import HandoverSummary, NoteView
from patchdesk.store.not_patched import REASON_RANK, SHORT_REASONS
from patchdesk.store.operator_input import Refused
from patchdesk.text import printable

SHIFT_STARTS = (time(6), time(14), time(22))


def shift_start(now: datetime, zone: ZoneInfo) -> datetime:
    """When the current shift began: the latest of 06:00, 14:00, 22:00 (operator-local) at
    or before ``now``; aware, in ``now``'s zone."""
    local = now.astimezone(zone)
    for days_back in range(2):
        day = local.date() - timedelta(days=days_back)
        for start in reversed(SHIFT_STARTS):
            candidate = datetime.combine(day, start, tzinfo=zone)
            if candidate <= local:
                return candidate.astimezone(now.tzinfo)
    raise AssertionError("unreachable")  # pragma: no cover


def _tiers(counts: Mapping[Tier, int]) -> str:
    return " ".join(f"T{tier.value} {counts.get(tier, 0)}" for tier in Tier)


def summary_text(summary: HandoverSummary, zone: ZoneInfo, width: int) -> Text:
    """The panel's lines: the shift's figures, unresolved and unassigned per tier, the
    notes."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("This shift ", style="bold")
    text.append(
        f"opened {summary.opened_count} · resolved {summary.resolved_count} · "
        f"escalated now {summary.escalated_count}"
    )
    text.append("\n")
    # "Unresolved", as the header and the state filter say: "open" is one of those states.
    text.append(f"Unresolved {summary.open_total}", style="bold")
    text.append(f": {_tiers(summary.open_by_tier)} · ")
    text.append(f"unassigned {summary.unassigned_total}", style="bold")
    text.append(f": {_tiers(summary.unassigned_by_tier)}")
    text.append("\n")
    text.append_text(not_patched_text(summary))
    if not summary.notes:
        text.append("\nNo handover notes yet: n writes one.", style="dim")
    for note in summary.notes:
        text.append("\n")
        text.append_text(note_line(note, zone, width))
    return text


def not_patched_text(summary: HandoverSummary) -> Text:
    """``Not patched this cycle 4: 1 offline · 3 not reached  (N lists them)``."""
    text = Text()
    text.append("Not patched this cycle ", style="bold")
    text.append(str(summary.not_patched_count), style="red" if summary.not_patched_count else "")
    reasons: dict[str, int] = {}
    for row in summary.not_patched:
        reasons[row.reason] = reasons.get(row.reason, 0) + 1
    if reasons:
        ordered = sorted(reasons.items(), key=lambda item: REASON_RANK[item[0]])
        text.append(": " + " · ".join(f"{n} {SHORT_REASONS[r]}" for r, n in ordered))
        text.append("  (N lists them)", style="dim")
    return text


def note_line(note: NoteView, zone: ZoneInfo, width: int) -> Text:
    """``14:02 alice  the note's first lines joined``, clipped to ``width``."""
    when = note.at.astimezone(zone).strftime("%H:%M")
    author = printable(note.author)
    body = " ".join(printable(note.text).split())
    line = Text()
    line.append(f"{when} ", style="dim")
    line.append(f"{clip(author, 16)}  ", style="bold")
    line.append(clip(body, max(10, width - len(when) - len(clip(author, 16)) - 3)))
    return line


class HandoverPanel(Static):
    """The handover figures and notes; ``show`` takes a fresh summary."""

    DEFAULT_CSS = """
    HandoverPanel {
        height: 8;
        border: round $primary-lighten-1;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, zone: ZoneInfo, *, id: str | None = None) -> None:
        super().__init__("reading the handover …", id=id, markup=False)
        self.zone = zone
        self.summary: HandoverSummary | None = None
        self.border_subtitle = "n write a handover note"

    def show(self, summary: HandoverSummary) -> None:
        self.summary = summary
        since = summary.since.astimezone(self.zone)
        self.border_title = f"Handover · shift since {since:%H:%M} {since.tzname()} (your time)"
        self.update(summary_text(summary, self.zone, max(20, self.size.width - 4)), layout=False)

    def on_resize(self) -> None:
        if self.summary is not None:
            self.show(self.summary)


class NoteModal(FormScreen[str | None]):
    """A multi-line note. ``save(text)`` runs in a worker thread and returns the message to
    show; a ``Refused`` keeps the modal open with the reason. Dismisses with the message
    (None when cancelled). ``ctrl+s`` saves; ``esc`` cancels, asking first when text was
    typed. Focus opens on the text (``FormScreen``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="note.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="note.cancel"),
    ]
    AUTO_FOCUS = "#note-text"
    TYPING_FIELD = "#note-text"
    ERROR_ID = "note-error"

    DEFAULT_CSS = """
    NoteModal > FormFrame { width: 76; }
    NoteModal .note-title { text-style: bold; margin-bottom: 1; }
    NoteModal TextArea { height: 8; }
    """

    def __init__(
        self,
        title: str | Text,
        save: Callable[[str], str],
        *,
        required: bool,
        hint: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title if isinstance(title, Text) else Text(title)
        self.save = save
        self.required = required
        self.hint = hint

    def compose_fields(self) -> ComposeResult:
        yield Static(self.title_text, classes="note-title", markup=False)
        if self.hint:
            yield Static(self.hint, markup=False)
        yield TextArea(id="note-text", soft_wrap=True, show_line_numbers=False)

    def keys_hint(self) -> str:
        need = "required" if self.required else "optional"
        return f"ctrl+s save   esc cancel   (note {need})"

    @property
    def text(self) -> str:
        return self.query_one("#note-text", TextArea).text

    def action_save(self) -> None:
        # ctrl+s right after a burst of typing: the app sends it once the typed keys are in
        # (screens/burst.py), so the note keeps its end.
        if self.saving or not self.is_active:
            return
        text = self.text
        if self.required and not text.strip():
            self.show_error("A note is required: say what was done or why.")
            return
        self.saving = True
        self.show_error("saving …")
        self.run_worker(
            lambda: self.save(text), thread=True, exit_on_error=False, group="note-save"
        )

    @on(Worker.StateChanged)
    def _saved(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "note-save":
            return
        if event.state is WorkerState.SUCCESS:
            self.finish(str(event.worker.result))
        elif event.state is WorkerState.ERROR:
            self.saving = False
            error = event.worker.error
            reason = str(error) if isinstance(error, Refused) else f"not saved: {error!r}"
            self.show_error(reason)

    def action_cancel(self) -> None:
        if self.saving:
            self.show_error("saving … (esc cannot stop it now)")
            return
        if not self.text.strip():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Discard the note you typed?"), answered)
