"""Keys of a burst are handled one at a time, in the order they were typed.

A terminal delivers a paste, or fast typing over SSH, as a burst of key events. Textual
forwards each key to the focused widget as soon as the app reads it, without waiting for
the keys before it to take effect. A key that opens a text field moves the focus later
(``Widget.focus`` goes through ``call_later``; a pushed screen focuses its first field once
it has mounted; an ``enter`` that submits a line closes its screen a message later), so the
keys after it in the same burst reached the old focus and fired its bindings: ``/DC01⏎`` on
the queue ran ``1`` (the board) and ``C`` (a class filter) instead of filtering by ``DC01``.

:class:`BurstApp` holds the key and paste events it reads and sends the next one on only
when the app is *quiet* again. To know that, it queues a callback behind the messages of the
app and of every widget of the current screen, and once all of them have run (so a handler
that was under way when the key was sent has finished), looks whether any of them has a
message waiting or a ``call_next`` callback pending; if so, another round. Everything the
key caused (its bindings, the focus moves and screen changes they scheduled, the messages
those posted) has then happened, and the next key goes where the technician now sees the
cursor. One shortcut keeps a long run of typing fast: a printable character sent to the
focused text field, followed by another, does not wait (the field takes its keys in order
and typing moves no focus). The cost is one frame per key otherwise: a few milliseconds.

A key whose form opens only after a read in a thread worker (the queue's ``r``: the exception
is read first) says so with :func:`keys_wait_for`: the keys after it wait for that worker and
for the form its result opens. Other workers (a screen's live refresh) are not waited for, so
keys typed while a large screen loads are not held up behind its read.

This reads two private attributes of Textual 8.2's message pumps (the message queue and the
``call_next`` list); ``tests/screens/test_bursts.py`` fails if they change meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from textual import events
from textual.app import App
from textual.command import CommandPalette
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer
from textual.widgets import Input, TextArea
from textual.worker import Worker

# After this many rounds of waiting the next key is sent even if something is still busy
# (a widget whose timer keeps posting): a key is late then, never lost.
MAX_ROUNDS = 50
# While waiting, how often the app checks that no widget it waits for has been removed
# (its queued callback would never run).
WATCH_SECONDS = 0.25


def busy(pump: MessagePump) -> bool:
    """Whether ``pump`` has a message waiting, or a ``call_next`` callback pending."""
    if pump._closing or pump._closed:
        return False
    return not pump._message_queue.empty() or bool(pump._next_callbacks)


def keys_wait_for(app: App[Any], worker: Worker[Any]) -> None:
    """See :meth:`BurstApp.keys_wait_for` (an app that does not sequence keys ignores it)."""
    if isinstance(app, BurstApp):
        app.keys_wait_for(worker)


def _typed(message: Message) -> bool:
    """A key or paste from the terminal (not one bubbling back up from a widget)."""
    return isinstance(message, events.Key | events.Paste) and not message.is_forwarded


class BurstApp(App[None]):
    """An app whose key and paste events are sent on one at a time (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self._waiting: deque[events.Key | events.Paste] = deque()
        self._unread = 0  # posted to the app, not yet read from its queue
        self._in_flight = False  # a key was sent on and the app is not quiet yet
        self._round = 0
        self._rounds = 0
        self._outstanding: set[MessagePump] = set()
        self._held_for: set[Worker[Any]] = set()
        self._watch: Timer | None = None

    @property
    def keys_waiting(self) -> int:
        """Keys posted to the app and not yet handled: still in its queue, held here, or
        sent on and not settled (tests wait for 0)."""
        return self._unread + len(self._waiting) + self._in_flight

    def keys_wait_for(self, worker: Worker[Any]) -> None:
        """The key being handled started ``worker``, whose result opens a form: the keys
        after it wait until it has finished and its result has been handled (they belong to
        that form). Called outside a key's handling, it does nothing."""
        if not self._in_flight or worker.is_finished:
            return
        self._held_for.add(worker)
        asyncio.get_running_loop().create_task(self._worker_done(worker))

    async def _worker_done(self, worker: Worker[Any]) -> None:
        with contextlib.suppress(Exception):  # failed or cancelled: the keys go on anyway
            await worker.wait()
        self._held_for.discard(worker)
        asyncio.get_running_loop().call_soon(self._look)

    def post_message(self, message: Message) -> bool:
        posted = super().post_message(message)
        if posted and _typed(message):
            self._unread += 1
        return posted

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.Paste) and _typed(event):
            self._unread = max(0, self._unread - 1)
            self._waiting.append(event)
            await self._send_waiting()
            return
        await super().on_event(event)

    async def _send_waiting(self) -> None:
        while self._waiting and not self._in_flight:
            event = self._waiting.popleft()
            typing = self._typing(event)
            self._in_flight = True
            self._rounds = 0
            try:
                await super().on_event(event)  # Textual's own dispatch of the key
            finally:
                if typing and self._waiting and self._typing(self._waiting[0]):
                    # A character typed into a text field, another one next: the field
                    # takes its keys in order and moves no focus; no need to wait.
                    self._in_flight = False
                else:
                    asyncio.get_running_loop().call_soon(self._look)

    def _typing(self, event: events.Key | events.Paste) -> bool:
        """A printable character to a text field that has the focus."""
        return (
            isinstance(event, events.Key)
            and event.is_printable
            and isinstance(self.focused, Input | TextArea)
        )

    def _searches(self) -> list[Worker[Any]]:
        """The command palette's searches under way (the palette in front lists its hits
        when they finish; a key sent before then acts on the hits of an earlier search, or
        on none)."""
        try:
            screen = self.screen
        except Exception:  # no screen yet, or the app is closing
            return []
        if not isinstance(screen, CommandPalette):
            return []
        group = CommandPalette._GATHER_COMMANDS_GROUP
        return [
            w for w in self.workers if w.node is screen and w.group == group and not w.is_finished
        ]

    def _pumps(self) -> list[MessagePump]:
        try:
            screen = self.screen
        except Exception:  # no screen yet, or the app is closing
            return [self]
        return [self, *screen.walk_children(with_self=True)]

    def _look(self) -> None:
        """Outside any message handler: is the app quiet? Else wait for the busy ones."""
        if not self._in_flight:
            return
        for worker in self._searches():
            self.keys_wait_for(worker)
        if self._held_for:  # _worker_done looks again
            return
        pumps = self._pumps()
        self._rounds += 1
        # The first round always waits for every widget: one may be in the middle of a
        # handler (its queue already empty) that the key started.
        if self._rounds > MAX_ROUNDS or (
            self._rounds > 1 and not any(busy(pump) for pump in pumps)
        ):
            self._quiet()
            return
        self._round += 1
        this_round = self._round
        self._outstanding = {pump for pump in pumps if pump.call_later(self._ran, pump, this_round)}
        if not self._outstanding:
            asyncio.get_running_loop().call_soon(self._look)
            return
        if self._watch is None:
            self._watch = self.set_interval(WATCH_SECONDS, self._check_outstanding)

    def _ran(self, pump: MessagePump, round_: int) -> None:
        if round_ != self._round:
            return
        self._outstanding.discard(pump)
        if not self._outstanding:
            asyncio.get_running_loop().call_soon(self._look)

    def _check_outstanding(self) -> None:
        """A widget removed while our callback waited in its queue will never run it."""
        gone = {pump for pump in self._outstanding if pump._closing or pump._closed}
        if gone:
            self._outstanding -= gone
            if not self._outstanding:
                asyncio.get_running_loop().call_soon(self._look)

    def _quiet(self) -> None:
        self._outstanding = set()
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self._in_flight = False
        if self._waiting:
            self.call_later(self._send_waiting)
