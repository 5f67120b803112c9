"""Acting on someone else's exception: "take over from NAME?" first.

An action on an exception another technician owns (remediate, retry, reboot, escalate,
resolve ...) asks whether to take it over; yes means the action is sent with
``take_over=True, from_owner=NAME`` and the store writes the take-over as its own log record
(refusing if someone else owns it by then). An exception nobody owns becomes the
technician's by acting on it, without asking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App

from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store.exception_ops import NotYours
from patchdesk.text import printable


def someone_else(owner: str | None, operator: str) -> str | None:
    """The owner when it is another technician (None: nobody, or the operator)."""
    return owner if owner is not None and owner != operator else None


def take_over_question(exception_id: int, hostname: str, owner: str, what: str = "") -> Text:
    """``Exception 3 (DC01) is owned by bob. Take over from bob? ...`` (names literal)."""
    text = Text(f"Exception {exception_id} (")
    text.append(printable(hostname), "bold")
    text.append(") is owned by ")
    text.append(printable(owner), "bold")
    text.append(". Take over from ")
    text.append(printable(owner), "bold")
    text.append("?")
    if what:
        text.append(f" ({what})")
    text.append("\nThe take-over is written to the remediation log; it is yours afterwards.")
    return text


def with_ownership(
    app: App[Any],
    *,
    exception_id: int,
    hostname: str,
    owner: str | None,
    operator: str,
    proceed: Callable[[str | None], None],
    what: str = "",
) -> None:
    """Call ``proceed(from_owner)``: at once (``None``) when nobody else owns the exception,
    else once the technician said yes to taking it over from ``from_owner``."""
    other = someone_else(owner, operator)
    if other is None:
        proceed(None)
        return

    def answered(yes: bool | None) -> None:
        if yes:
            proceed(other)

    app.push_screen(ConfirmModal(take_over_question(exception_id, hostname, other, what)), answered)


def refusal_text(error: Exception) -> str:
    """A store refusal for the technician; a ``NotYours`` (taken meanwhile) says what to do."""
    if isinstance(error, NotYours):
        return (
            f"exception {error.exception_id} is owned by {error.owner} now: "
            "press the key again to take it over"
        )
    return str(error)


__all__ = ["refusal_text", "someone_else", "take_over_question", "with_ownership"]
