"""Stopping the engine on a signal: SIGTERM, SIGINT (ctrl-c) and SIGHUP (its terminal closing).

The first asks for a clean stop: the running step finishes, no other starts, the lease is
released, the process exits 0. A second is absorbed (logged: already stopping): a supervisor
and a technician, or a terminal and its shell, often send one each. A third ends the process
at once, exit status 128 + its number, once the lease is released (so another engine takes
over at once; the step it cut short is redone by the next one, as after a crash).

Signals are handled on a thread of their own, never in a Python signal handler: Python runs a
handler on the main thread between two bytecodes, wherever that thread is (in a step, holding
a lock, inside the scheduler's shutdown), so a handler that acts can deadlock or raise there.
Here the handler does nothing; the signal's number reaches the watching thread through
``signal.set_wakeup_fd``, which writes it when the signal arrives, and the thread acts.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers

log = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
FORCE_AT = 3  # the signal that stops at once: the third
_CLOSE = 0  # the byte that ends the watching thread (no signal has number 0)


def exit_now(status: int) -> None:
    """End the process at once: no clean-up runs, so whatever must happen first has happened."""
    os._exit(status)


class Stopping:
    """What the signals received so far ask for. ``deliver`` is called once per signal, in
    the order they arrived (``SignalWatch`` calls it; tests may call it directly)."""

    def __init__(self, exit: Callable[[int], None] = exit_now) -> None:
        self.requested = threading.Event()  # set by the first signal
        # Gives the lease up for good, before a forced exit; None until there is an engine.
        self.release: Callable[[], None] | None = None
        self._exit = exit
        self._count = 0
        self._lock = threading.Lock()

    def deliver(self, signum: int) -> None:
        with self._lock:
            self._count += 1
            count = self._count
        name = signal.Signals(signum).name
        if count == 1:
            self.requested.set()  # before the line saying so: whoever read it may rely on it
            log.info("received %s: finishing the current step, then stopping", name)
        elif count < FORCE_AT:
            log.info("received %s: already stopping (a third signal stops at once)", name)
        else:
            status = 128 + signum
            log.warning(
                "received %s, a third signal: releasing the lease and exiting at once (status %d)",
                name,
                status,
            )
            self.force(status)

    def force(self, status: int) -> None:
        """Release the lease (if there is an engine), then end the process with ``status``."""
        self.requested.set()
        release = self.release
        if release is not None:
            try:
                release()
            except Exception as exc:  # the database is gone: the lease will expire by itself
                cause = getattr(exc, "orig", None) or exc
                log.error("could not release the lease (%s): it expires by itself", cause)
            else:
                log.info("lease released")
        self._exit(status)


def _noted(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing (the wakeup fd carries the signal to the watcher)."""


class SignalWatch:
    """While entered, SIGTERM, SIGINT and SIGHUP go to ``stopping`` (from the main thread
    only: Python sets signal handlers there). A signal ignored on entry (SIGHUP under
    ``nohup``) stays ignored. On exit, every signal that arrived meanwhile has been delivered;
    the previous handlers come back, or with ``ignore_after_stop``, once a stop was asked
    for, the signals are ignored from then on (a process on its way out, its lease released,
    has nothing left to stop: a late ctrl-c must not raise KeyboardInterrupt into its exit)."""

    def __init__(self, stopping: Stopping, *, ignore_after_stop: bool = False) -> None:
        self.stopping = stopping
        self.ignore_after_stop = ignore_after_stop
        self._previous: dict[int, Handler] = {}  # the signals we handle, and their handlers
        self._previous_fd = -1
        self._reader, self._writer = socket.socketpair()  # one watch, entered once
        self._writer.setblocking(False)  # set_wakeup_fd requires it
        self._thread = threading.Thread(target=self._watch, name="patchdesk-signals", daemon=True)

    def __enter__(self) -> Stopping:
        if threading.current_thread() is not threading.main_thread():
            self._writer.close()
            self._reader.close()
            raise RuntimeError("signals can be watched from the main thread only")
        for stop_signal in STOP_SIGNALS:
            previous = signal.getsignal(stop_signal)
            if previous != signal.SIG_IGN:
                self._previous[stop_signal] = signal.SIG_DFL if previous is None else previous
        self._thread.start()
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in self._previous:
            signal.signal(signum, _noted)
        return self.stopping

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        ignore = self.ignore_after_stop and self.stopping.requested.is_set()
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_IGN if ignore else previous)
        signal.set_wakeup_fd(self._previous_fd)
        self._writer.send(bytes([_CLOSE]))  # after every signal already written
        self._thread.join()
        self._writer.close()
        self._reader.close()

    def _watch(self) -> None:
        while data := self._reader.recv(64):
            for signum in data:
                if signum == _CLOSE:
                    return
                if signum in self._previous:  # another handler's signal: not ours to act on
                    self.stopping.deliver(signum)
