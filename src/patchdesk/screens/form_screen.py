"""What every form shares (a modal that takes typed input and saves it: the remediation form,
the approvals' forms, the note modal), so that no keystroke goes astray:

- Focus opens on the form's first field (``AUTO_FOCUS``, a selector), set as the form is
  composed, before any key reaches it. The scrolling body (``FormBody``) is never a Tab stop,
  so Tab walks the fields, the same ones in the same order.
- Typing is never dropped: a printable key that reaches the form from a control that does
  not take it (a list, radio buttons, a check box, a fixed value: none of them takes
  letters) goes into the form's text field (``typing_field``, the note or the reason), at its
  end, and focus follows it there. Focusing a field never selects its text (the next key
  would replace it). A technician typing at a control meant to type; the text
  stays visible in the field before anything is saved. Keys a control does take (space on a
  radio button, a number on the action list) stay the control's.
- A form leaves only from the top of the stack: a result that arrives while something is
  over it (a confirmation it opened) is delivered once the form is in front again, so it
  never pops another screen, and it never closes while its save is still running.
- Nothing is pushed over a form by a worker's result: screens that open a form or a page
  once a read finishes use ``push_if_in_front``, which opens it only if the screen that asked
  is still in front, and otherwise says so. While a form is open the app switches no mode
  and opens no page (``open_form``): a form never disappears while it still takes keys.
- A refusal is always on screen, wherever the focus is: the form's box (``FormFrame``) holds
  the scrolling body (the fields a subclass composes, ``compose_fields``) and, docked at its
  bottom, the footer (``FormFooter``): the error line (``show_error``) above the key hints
  (``KEYS``). Only the body scrolls, so on an 80x24 terminal a form taller than the screen
  keeps its focused field in view and its refusal and keys below it. Focus stays where it
  was (the keys typed after a refused ctrl+s go where they were going). The error line is
  at most 8 rows (a refusal quoting a long typed value shows its start, naming the field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from patchdesk.text import printable_multiline

ResultT = TypeVar("ResultT")
PushedT = TypeVar("PushedT")


class FormFrame(Vertical):
    """A form's box: its body, then its footer, docked at the bottom, always on screen."""


class FormBody(VerticalScroll, can_focus=False):
    """A form's scrolling body: it scrolls to the focused field and is no Tab stop itself.
    It is at most as tall as its frame less the footer."""


class FormFooter(Vertical):
    """The error line and the key hints, below the body: never scrolled out of view."""


class FixedValue(Static, can_focus=True):
    """A field the chosen action fixes (an engine action's outcome is "queued"): shown in
    the field's place, a Tab stop like the field, taking no input."""

    DEFAULT_CSS = """
    FixedValue { height: auto; padding: 0 1; color: $text-muted; }
    FixedValue:focus { background: $boost; color: $text; text-style: bold; }
    """


def type_into(field: Input | TextArea, text: str) -> None:
    """Add ``text`` at the end of ``field`` (the cursor follows)."""
    if isinstance(field, Input):
        field.cursor_position = len(field.value)
        field.insert_text_at_cursor(text)
    else:
        field.move_cursor(field.document.end)
        field.insert(text)


class FormScreen(ModalScreen[ResultT]):
    """Base of the forms (see the module's docstring). Subclasses compose their fields in
    ``compose_fields``, set ``KEYS`` to their key hints, ``AUTO_FOCUS`` to their first
    field's selector and ``TYPING_FIELD`` to their text field's; say why a save is refused
    with ``show_error``; call ``finish`` (not ``dismiss``) to leave with a result, and keep
    ``saving`` set while a save runs. Style the box as ``MyForm > FormFrame``."""

    AUTO_FOCUS: ClassVar[str | None] = "Input, TextArea"
    TYPING_FIELD: ClassVar[str] = "Input, TextArea"
    KEYS: ClassVar[str] = "tab next field   ctrl+s save   esc cancel"
    ERROR_ID: ClassVar[str] = "form-error"  # the error line's id

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > FormFrame {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    /* 1fr: the frame less its docked footer (the body is its only undocked child) */
    FormScreen FormBody { height: auto; max-height: 1fr; }
    FormScreen FormFooter { dock: bottom; height: auto; }
    FormScreen FormFooter .form-error {
        color: $error; height: auto; max-height: 8; overflow-y: auto;
    }
    FormScreen FormFooter .form-keys { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.saving = False  # a save is running: the form stays until it reports
        self._result: tuple[ResultT | None] | None = None  # to deliver once in front

    def compose(self) -> ComposeResult:
        with FormFrame():
            with FormBody():
                yield from self.compose_fields()
            with FormFooter():
                yield Static("", id=self.ERROR_ID, classes="form-error", markup=False)
                yield Static(self.keys_hint(), classes="form-keys", markup=False)

    def compose_fields(self) -> ComposeResult:  # pragma: no cover - every form overrides it
        yield from ()

    def keys_hint(self) -> str:
        """The key hints under the error line."""
        return self.KEYS

    def show_error(self, message: str) -> None:
        """Say why the save is refused (or that it runs; "" clears it), in the footer: on
        screen wherever the focus is. The focused field stays in view as the line grows."""
        self.query_one(f"#{self.ERROR_ID}", Static).update(Text(printable_multiline(message)))
        self.call_after_refresh(self._focused_in_view)

    def _focused_in_view(self) -> None:
        focused = self.focused
        if focused is not None and focused.screen is self:
            focused.scroll_visible(animate=False, immediate=True)

    def on_mount(self) -> None:
        # Focus never selects a field's text: the next key would replace it (tab back to
        # the reason and type on: what was there must stay).
        for field in self.query(Input):
            field.select_on_focus = False

    def typing_field(self) -> Input | TextArea | None:
        """Where text typed at a control goes."""
        for widget in self.query(self.TYPING_FIELD):
            if isinstance(widget, Input | TextArea) and widget.display:
                return widget
        return None

    def _control_takes(self, key: str) -> bool:
        """The focused control (or a container of it, inside the form) binds ``key``."""
        active = self.active_bindings.get(key)
        return (
            active is not None
            and active.enabled
            and isinstance(active.node, Widget)
            and active.node is not self
        )

    def on_key(self, event: events.Key) -> None:
        """A printable key no text field took: typing, into the text field. It never goes on
        to the screens below or to the app."""
        if not event.is_printable or event.character is None:
            return
        field = self.typing_field()
        if field is None or self._control_takes(event.key):
            return
        event.stop()
        event.prevent_default()
        self.set_focus(field)
        type_into(field, event.character)

    # --- leaving ---------------------------------------------------------------------------

    def finish(self, result: ResultT | None) -> None:
        """Dismiss with ``result`` now if the form is in front, else once it is again."""
        if self.is_active:
            self.dismiss(result)
        else:
            self._result = (result,)

    def on_screen_resume(self) -> None:
        if self._result is not None:
            (result,) = self._result
            self._result = None
            self.dismiss(result)


def open_form(app: App[Any]) -> FormScreen[Any] | None:
    """The form open in the current mode, if any."""
    for screen in reversed(app.screen_stack):
        if isinstance(screen, FormScreen):
            return screen
    return None


FINISH_FIRST = "a form is open: save it (ctrl+s) or cancel it (esc) first"


def push_if_in_front(
    origin: Screen[Any],
    screen: Screen[PushedT],
    callback: Callable[[PushedT | None], None] | None = None,
    *,
    what: str,
) -> bool:
    """Push ``screen`` (asked for on ``origin``, opened after a read in a worker) only if
    ``origin`` is still in front; else say that ``what`` was not opened and why."""
    if origin.is_active:
        origin.app.push_screen(screen, callback)
        return True
    why = FINISH_FIRST if open_form(origin.app) is not None else "another screen is in front"
    origin.app.notify(f"{what} not opened: {why}", severity="warning", markup=False)
    return False


__all__ = [
    "FINISH_FIRST",
    "FixedValue",
    "FormBody",
    "FormFooter",
    "FormFrame",
    "FormScreen",
    "open_form",
    "push_if_in_front",
    "type_into",
]
