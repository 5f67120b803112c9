"""What workers report back to their screen, the same on every screen: an action's result
(``ActionDone``), and a worker that failed (the database went away, a query broke), told as
one error notification naming the worker's group and the error, shown literally."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker

from patchdesk.text import printable


def worker_error_reason(worker: Worker[Any]) -> str:
    """A failed worker's error on one line, printable, at most 200 characters."""
    error = worker.error
    return printable(" ".join(str(error).split()))[:200] if error is not None else "unknown error"


def notify_worker_error(
    node: Widget | Screen[Any],
    worker: Worker[Any],
    title: str = "Database error",
    what: str | None = None,
) -> None:
    """``what`` (default: the worker's group) and why, as an error notification."""
    node.notify(
        f"{what or worker.group}: {worker_error_reason(worker)}",
        title=title,
        severity="error",
        markup=False,
    )


class ActionDone(Message):
    """A state-changing action finished in a worker: its message, and whether it was refused."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__()
        self.message = message
        self.refused = refused
