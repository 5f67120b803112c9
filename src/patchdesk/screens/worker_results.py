"""The one way a screen runs work off the UI thread, for reads and writes alike, and what
its workers report back.

- The work is a method of the screen decorated ``@work(thread=True, exit_on_error=False,
  group=GROUP)`` (``exclusive=True`` for a read that a newer one makes void). It takes what
  it needs as arguments, read on the UI thread (the clock, ids, what was typed), opens its
  own session (``services.database.session()``) and ends by posting one message carrying
  its result (``post_message`` is safe from a thread): ``ActionDone`` for an action, a
  message of the screen's own for a read. A result that is an answer, not a failure (a
  refusal, an export that could not be written), travels in that message too.
- The screen applies the message in an ``@on(...)`` handler, on the UI thread; a result
  that a newer read made void is recognised there (a generation number), not by polling
  the worker.
- A worker that raised (the database went away, a query broke) is caught by an
  ``@on(Worker.StateChanged)`` handler: ``failed_worker`` picks out the screen's own
  failed workers, ``notify_worker_error`` tells the technician, in one error notification
  naming what failed and the error, shown literally.

Not ``app.call_from_thread``, ``get_current_worker().is_cancelled`` or ``asyncio.to_thread``:
the one exception is the command palette's provider (``screens.palette``), which is not a
widget and whose ``startup`` the palette awaits."""

from __future__ import annotations

from typing import Any

from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from patchdesk.text import printable


def failed_worker(event: Worker.StateChanged, node: DOMNode, *groups: str) -> Worker[Any] | None:
    """The worker ``event`` tells has raised, when it is ``node``'s (and of one of
    ``groups``, when given); else None."""
    worker = event.worker
    if event.state is not WorkerState.ERROR or worker.node is not node:
        return None
    return worker if not groups or worker.group in groups else None


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
