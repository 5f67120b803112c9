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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual import events
from textual.app import App
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

ResultT = TypeVar("ResultT")
PushedT = TypeVar("PushedT")


class FormBody(VerticalScroll, can_focus=False):
    """A form's scrolling body: it scrolls to the focused field and is no Tab stop itself."""


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
    """Base of the forms (see the module's docstring). Subclasses set ``AUTO_FOCUS`` to their
    first field's selector and ``TYPING_FIELD`` to their text field's; call ``finish`` (not
    ``dismiss``) to leave with a result, and keep ``saving`` set while a save runs."""

    AUTO_FOCUS: ClassVar[str | None] = "Input, TextArea"
    TYPING_FIELD: ClassVar[str] = "Input, TextArea"

    def __init__(self) -> None:
        super().__init__()
        self.saving = False  # a save is running: the form stays until it reports
        self._result: tuple[ResultT | None] | None = None  # to deliver once in front

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
    "FormScreen",
    "open_form",
    "push_if_in_front",
    "type_into",
]
