"""The device screen: one device's facts, windows, exceptions with their whole remediation
history, targets with each patch's state, the check-in and boot timeline around its last
deployment, and its own log; and the actions a technician takes on it.

Reached with ``enter`` in the queue (the exception under the cursor is the selected one)
or by name (``screens.device_lookup``: ``:device HOST``). It is pushed on the current mode's
stack; ``esc`` goes back.

Keys: ``r`` log remediation for the selected open exception (``s`` selects the next open
one; the most urgent is selected first), ``m`` switch maintenance mode (confirmed; stored
as an override the RMM sync does not undo, audited), ``t`` retry the install of its open
install exception, ``b`` force the reboot its open reboot exception waits for (confirmed),
``l`` lift one of the patch exclusions shown (picked from a list when there are several,
confirmed, logged; ``store.exclusions``);
``[`` / ``]`` jump between sections; arrows, page keys, ``home`` / ``end`` scroll.

Live and off the UI thread: a worker reads the snapshot (``store.device_views``); a one-shot
timer follows the events feed with an ``EventCursor`` and re-reads the device when an event
may concern it (its client's, its own, its commands'), re-arming only when that is done.
Writes go through ``store.exception_ops`` in workers, with the queue's actions on one
exception (``screens.queue_actions``); maintenance mode and exclusions are
``screens.device_writes``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from patchdesk.domain import FailureClass
from patchdesk.screens.device_writes import DeviceWrites
from patchdesk.screens.queue_actions import ExceptionActions, RemediationRead
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.device_sections import (
    device_log_text,
    exceptions_text,
    exclusions_text,
    facts_text,
    status_line,
    targets_text,
    timeline_text,
    windows_text,
)
from patchdesk.screens.widgets.queue_confirm import force_reboot_question
from patchdesk.screens.worker_results import ActionDone, notify_worker_error
from patchdesk.store.device_views import DeviceDetail, DeviceException, device_detail
from patchdesk.store.events import EventCursor
from patchdesk.store.queue_views import last_event_id
from patchdesk.text import printable

POLL_SECONDS = 1.0
EVENT_BATCH = 2_000  # events read per query while catching up
EVENT_BATCHES = 10  # at most this many per poll (the rest at the next one)
SECTIONS = ("facts", "exceptions", "exclusions", "windows", "targets", "timeline", "log")

__all__ = ["DeviceDetailScreen", "concerns", "show_device"]


# --- messages from the workers --------------------------------------------------------------


class DeviceRead(Message):
    def __init__(self, detail: DeviceDetail | None, now: datetime) -> None:
        super().__init__()
        self.detail = detail
        self.now = now


class Polled(Message):
    def __init__(
        self, cursor: EventCursor, detail: DeviceDetail | None, now: datetime, changed: bool
    ) -> None:
        super().__init__()
        self.cursor = cursor
        self.detail = detail
        self.now = now
        self.changed = changed


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class FeedEvent(Protocol):
    """What ``concerns`` reads of an event of the feed."""

    @property
    def entity(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def client_id(self) -> str | None: ...


def concerns(event: FeedEvent, detail: DeviceDetail) -> bool:
    """Whether an event may change what the device screen shows."""
    facts = detail.facts
    if event.entity == "device" and event.entity_id == str(facts.id):
        return True
    if event.client_id is not None:
        return event.client_id == facts.client_id
    if event.entity == "command":
        known = {str(c.id) for e in detail.exceptions for c in e.commands}
        return event.entity_id in known
    return False


# --- the screen -----------------------------------------------------------------------------


class DeviceDetailScreen(Screen[None]):
    """One device in full; ``esc`` goes back."""

    TITLE = "Device"
    HELP_TITLE = "Device"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="device.back"),
        Binding("r", "remediate", "Remediate", id="device.remediate"),
        Binding("m", "maintenance", "Maintenance", id="device.maintenance"),
        Binding("t", "retry", "Retry", id="device.retry"),
        Binding("b", "reboot", "Reboot", id="device.reboot"),
        Binding("s", "select_next", "Next exception", id="device.select_next"),
        Binding("l", "lift_exclusion", "Lift exclusion", show=False, id="device.lift_exclusion"),
        Binding(
            "right_square_bracket",
            "section(1)",
            "Next section",
            key_display="]",
            show=False,
            id="device.next_section",
        ),
        Binding(
            "left_square_bracket",
            "section(-1)",
            "Previous section",
            key_display="[",
            show=False,
            id="device.previous_section",
        ),
    ]

    DEFAULT_CSS = """
    DeviceDetailScreen { layout: vertical; }
    DeviceDetailScreen #device-body { height: 1fr; padding: 0 1; }
    DeviceDetailScreen #device-body > Static { margin-bottom: 1; }
    DeviceDetailScreen #device-body:focus { background-tint: $foreground 0%; }
    """

    def __init__(self, device_id: int, *, exception_id: int | None = None) -> None:
        super().__init__()
        self.device_id = device_id
        self.detail: DeviceDetail | None = None
        self.selected: int | None = exception_id
        self._cursor: EventCursor | None = None
        self._now: datetime | None = None
        self._polling = False
        self._poll_again = False
        self._timer: Timer | None = None
        self.actions = ExceptionActions(
            self, read_group="device-exception", write_group="device-action", after=self.refresh_now
        )
        self.writes = DeviceWrites(self.actions)

    @property
    def services(self) -> Services:
        return services_of(self.app)

    # --- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ClockHeader("Device", id="device-header")
        with VerticalScroll(id="device-body"):
            yield Static(Text("reading …", "dim"), id="device-facts", markup=False)
            for section in SECTIONS[1:]:
                yield Static("", id=f"device-{section}", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#device-body", VerticalScroll).focus()
        self._poll()

    def on_screen_resume(self) -> None:
        if self._cursor is not None and self._timer is None:
            self._poll()  # catch up at once after a modal or another screen

    def on_resize(self) -> None:
        self.query_one(Footer).compact = self.size.width < 100
        if self.detail is not None:
            self._show()  # lines are cut to the width

    def workers_busy(self) -> bool:
        """A read or a write of this screen is still running (tests wait for it)."""
        return self._polling or any(
            worker.node is self and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    # --- reading ---------------------------------------------------------------------------

    def _poll(self) -> None:
        """Look at the events feed now (after the running poll, if one is running)."""
        if self._polling:
            self._poll_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._polling = True
        self._poll_again = False
        self._poll_worker(self._cursor, self.detail)

    @work(thread=True, exit_on_error=False, group="device-poll")
    def _poll_worker(self, cursor: EventCursor | None, known: DeviceDetail | None) -> None:
        services = self.services
        now = services.clock()
        with services.database.session() as session:
            if cursor is None or known is None:  # the first read: follow from the newest event
                cursor = EventCursor(last_event_id(session))
                detail = device_detail(session, self.device_id, now)
                self.post_message(Polled(cursor, detail, now, changed=True))
                return
            # Once a minute of the clock at least: ages, countdowns and which window is
            # open move on even when nothing about the device changes.
            relevant = _minute(now) != _minute(known.read_at)
            for _ in range(EVENT_BATCHES):
                events = cursor.read(session, limit=EVENT_BATCH)
                relevant = relevant or any(concerns(event, known) for event in events)
                if len(events) < EVENT_BATCH:
                    break
            detail = device_detail(session, self.device_id, now) if relevant else known
        self.post_message(Polled(cursor, detail, now, changed=relevant))

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        self._polling = False
        self._cursor = message.cursor
        self._now = message.now
        if message.detail is None:  # deleted meanwhile (or never there): nothing to follow
            self.notify("that device is not in the database", severity="warning")
            self.detail = None
            self._show()
            return
        if message.changed or self.detail is None:
            self.detail = message.detail
            self._keep_selection()
            self._show()
        self._rearm()

    def _rearm(self) -> None:
        if not self.is_attached:
            return
        if self._poll_again:
            self._poll()
        elif self.is_current:
            self._timer = self.set_timer(POLL_SECONDS, self._poll)

    def refresh_now(self) -> None:
        """Re-read the device at once (after an action of this screen)."""
        if self._cursor is None:
            return
        self._force_read()

    @work(thread=True, exit_on_error=False, group="device-read")
    def _force_read(self) -> None:
        services = self.services
        now = services.clock()
        with services.database.session() as session:
            detail = device_detail(session, self.device_id, now)
        self.post_message(DeviceRead(detail, now))

    @on(DeviceRead)
    def _read(self, message: DeviceRead) -> None:
        if message.detail is not None:
            self.detail = message.detail
            self._now = message.now
            self._keep_selection()
            self._show()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR or event.worker.node is not self:
            return
        if event.worker.group == "device-poll":
            self._polling = False
            self._rearm()
        notify_worker_error(self, event.worker)

    # --- drawing ---------------------------------------------------------------------------

    def _keep_selection(self) -> None:
        """Keep the selected exception while it is open, else select the most urgent."""
        detail = self.detail
        if detail is None:
            return
        open_ids = [e.row.id for e in detail.open_exceptions]
        if self.selected not in open_ids:
            self.selected = open_ids[0] if open_ids else None

    def _show(self) -> None:
        detail = self.detail
        services = self.services
        header = self.query_one(ClockHeader)
        header.set_status(status_line(detail, services.operator, readonly=services.readonly))
        if detail is None:
            self.query_one("#device-facts", Static).update(Text("no such device", "dim"))
            return
        header.title_text = f"Device {printable(detail.facts.hostname)}"
        now = self._now or services.clock()
        zone = services.local_zone
        # The body's width less its padding and a scrollbar: lines longer than that are cut
        # with an ellipsis rather than wrapped to the margin (notes and errors wrap).
        width = max(20, self.size.width - 4)
        operator = services.operator
        texts = {
            "facts": facts_text(
                detail,
                now,
                zone,
                selected=self.selected,
                width=width,
                stale_after=services.stale_after,
            ),
            "exceptions": exceptions_text(
                detail, now, selected=self.selected, operator=operator, width=width
            ),
            "exclusions": exclusions_text(detail, width=width),
            "windows": windows_text(detail, now, zone, width=width),
            "targets": targets_text(detail, width=width),
            "timeline": timeline_text(detail, now, zone, width=width),
            "log": device_log_text(detail),
        }
        with self.app.batch_update():
            for section, text in texts.items():
                text.rstrip()
                self.query_one(f"#device-{section}", Static).update(text)

    def action_section(self, step: int) -> None:
        """Scroll the next (or previous) section to the top."""
        body = self.query_one("#device-body", VerticalScroll)
        widgets = [self.query_one(f"#device-{s}", Static) for s in SECTIONS]
        tops = [w.virtual_region.y for w in widgets]
        here = body.scroll_y
        if step > 0:
            target = next((t for t in tops if t > here + 0.5), tops[-1])
        else:
            target = next((t for t in reversed(tops) if t < here - 0.5), 0)
        body.scroll_to(y=target, animate=False)

    # --- the exceptions acted on -----------------------------------------------------------

    def _writable(self) -> DeviceDetail | None:
        """The snapshot, when it is read and writes are allowed (told otherwise)."""
        if self.detail is None:
            self.notify("still reading the device", severity="warning")
            return None
        if self.actions.refused_read_only():
            return None
        return self.detail

    def action_select_next(self) -> None:
        if self.detail is None:
            return
        open_ids = [e.row.id for e in self.detail.open_exceptions]
        if not open_ids:
            self.notify("no open exception on this device", markup=False)
            return
        index = open_ids.index(self.selected) if self.selected in open_ids else -1
        self.selected = open_ids[(index + 1) % len(open_ids)]
        self._show()

    def _selected(self) -> DeviceException | None:
        detail = self.detail
        if detail is None:
            return None
        chosen = detail.exception(self.selected) if self.selected is not None else None
        return chosen if chosen is not None and chosen.unresolved else None

    def _class_exception(
        self, detail: DeviceDetail, failure_class: FailureClass, what: str
    ) -> DeviceException | None:
        found = detail.open_exception(failure_class)
        if found is None:
            host = printable(detail.facts.hostname)
            self.notify(
                f"{what}; {host} has no open {failure_class.value} exception"
                + (": r lists the actions of the one selected" if detail.open_exceptions else ""),
                markup=False,
            )
        return found

    # --- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_remediate(self) -> None:
        detail = self._writable()
        if detail is None:
            return
        chosen = self._selected()
        if chosen is None:
            self.notify(
                f"{printable(detail.facts.hostname)} has no open exception to remediate",
                markup=False,
            )
            return
        self.actions.remediate(chosen.row)

    @on(RemediationRead)
    def _remediation_read(self, message: RemediationRead) -> None:
        self.actions.show_remediation(message)

    def action_retry(self) -> None:
        detail = self._writable()
        if detail is None:
            return
        found = self._class_exception(detail, FailureClass.INSTALL, "t retries a failed install")
        if found is not None:
            self.actions.retry(found.row)

    def action_reboot(self) -> None:
        detail = self._writable()
        if detail is None:
            return
        found = self._class_exception(
            detail, FailureClass.REBOOT, "b forces the reboot a reboot exception waits for"
        )
        if found is None:
            return
        exception_id = found.row.id
        question = force_reboot_question(detail.facts.hostname, detail.facts.client_id)
        self.actions.owned(
            found.row, lambda owner: self.actions.force_reboot(question, exception_id, owner)
        )

    def action_maintenance(self) -> None:
        if (detail := self._writable()) is not None:
            self.writes.maintenance(detail)

    def action_lift_exclusion(self) -> None:
        if (detail := self._writable()) is not None:
            self.writes.lift_exclusion(detail)

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self.actions.done(message)


def show_device(app: App[Any], device_id: int, *, exception_id: int | None = None) -> None:
    """Push the device screen on the current mode's stack."""
    app.push_screen(DeviceDetailScreen(device_id, exception_id=exception_id))
