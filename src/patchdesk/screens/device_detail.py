"""The device screen: one device's facts, windows, exceptions with their whole remediation
history, targets with each patch's state, the check-in and boot timeline around its last
deployment, and its own log; and the actions a technician takes on it.

Reached with ``enter`` in the queue (the exception under the cursor is the selected one)
or with ``open_device(app, "HOST")`` (``:device HOST``; a hostname several clients use, or
a partial one, opens a pick list; ``HOST@CLIENT`` names one client's device). It is pushed
on the current mode's stack; ``esc`` goes back.

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
Writes go through ``store.exception_ops`` (as the queue) and ``store.device_ops`` in workers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from patchdesk.domain import ExceptionState, FailureClass
from patchdesk.screens.burst import keys_wait_for
from patchdesk.screens.form_screen import push_if_in_front
from patchdesk.screens.ownership import refusal_text, with_ownership
from patchdesk.screens.remediation import RemediationScreen
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.clock_header import ClockHeader
from patchdesk.screens.widgets.device_sections import (
    ROLE_WORDS,
    device_log_text,
    exceptions_text,
    exclusions_text,
    facts_text,
    status_line,
    targets_text,
    timeline_text,
    windows_text,
)
from patchdesk.screens.widgets.queue_confirm import ConfirmModal, force_reboot_question
from patchdesk.screens.worker_results import ActionDone, notify_worker_error
from patchdesk.store import device_ops, exclusions
from patchdesk.store import exception_ops as ops
from patchdesk.store.device_search import HostLookup, find_devices
from patchdesk.store.device_views import DeviceDetail, DeviceException, device_detail
from patchdesk.store.events import EventCursor
from patchdesk.store.exception_views import ExceptionDetail, QueueRow, exception_detail
from patchdesk.store.models import Event
from patchdesk.store.operator_input import Refused
from patchdesk.store.queue_views import last_event_id
from patchdesk.text import printable

POLL_SECONDS = 1.0
EVENT_BATCH = 2_000  # events read per query while catching up
EVENT_BATCHES = 10  # at most this many per poll (the rest at the next one)
SECTIONS = ("facts", "exceptions", "exclusions", "windows", "targets", "timeline", "log")

__all__ = ["DeviceDetailScreen", "DevicePickScreen", "open_device"]


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


class RemediationRead(Message):
    def __init__(self, detail: ExceptionDetail | None, take_over_from: str | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.take_over_from = take_over_from  # agreed to before the read


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def concerns(event: Event, detail: DeviceDetail) -> bool:
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
        if self.services.readonly:
            self.notify("read-only session: nothing can be changed", severity="warning")
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
        exception_id = chosen.row.id

        def read(owner: str | None) -> None:
            keys_wait_for(self.app, self._read_exception(exception_id, owner))

        self._owned(chosen.row, read)

    def _owned(self, row: QueueRow, proceed: Callable[[str | None], None]) -> None:
        """``proceed(from_owner)``, once taking over from another owner was agreed."""
        with_ownership(
            self.app,
            exception_id=row.id,
            hostname=row.hostname,
            owner=row.owner,
            operator=self.services.operator,
            proceed=proceed,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="device-exception")
    def _read_exception(self, exception_id: int, take_over_from: str | None) -> None:
        with self.services.database.session() as session:
            detail = exception_detail(session, exception_id)
        self.post_message(RemediationRead(detail, take_over_from))

    @on(RemediationRead)
    def _remediation_read(self, message: RemediationRead) -> None:
        detail = message.detail
        if detail is None or detail.exception.state is ExceptionState.RESOLVED:
            self.notify("that exception was resolved meanwhile", severity="warning")
            self.refresh_now()
            return

        def saved(result: str | None) -> None:
            if result:
                self.notify(printable(result), markup=False)
                self.refresh_now()

        # Read in a worker: another screen may be in front by now; it stays there.
        form = RemediationScreen(detail, take_over_from=message.take_over_from)
        push_if_in_front(self, form, saved, what="the remediation form")

    def action_retry(self) -> None:
        detail = self._writable()
        if detail is None:
            return
        found = self._class_exception(detail, FailureClass.INSTALL, "t retries a failed install")
        if found is not None:
            exception_id = found.row.id

            def retry(owner: str | None) -> None:
                self._engine_action(exception_id, "retry_install", owner)

            self._owned(found.row, retry)

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

        def ask(owner: str | None) -> None:
            question = force_reboot_question(detail.facts.hostname, detail.facts.client_id)

            def answered(yes: bool | None) -> None:
                if yes:
                    self._engine_action(exception_id, "force_reboot", owner)

            self.app.push_screen(ConfirmModal(question), answered)

        self._owned(found.row, ask)

    def _engine_action(self, exception_id: int, action_id: str, from_owner: str | None) -> None:
        self._write(
            lambda s: (
                ops.log_remediation(
                    s.database,
                    exception_id,
                    s.operator,
                    action_id,
                    now=s.clock(),
                    take_over=from_owner is not None,
                    from_owner=from_owner,
                ).message
            )
        )

    def action_maintenance(self) -> None:
        detail = self._writable()
        if detail is None:
            return
        facts = detail.facts
        on_now = facts.maintenance_mode
        device_id = facts.id
        question = Text("Take " if on_now else "Put ")
        question.append(printable(facts.hostname), "bold")
        question.append(f" ({printable(facts.client_id)}, {ROLE_WORDS[facts.role]})")
        question.append(" out of maintenance mode?" if on_now else " in maintenance mode?")
        rmm = "on" if facts.rmm_maintenance_mode else "off"
        if on_now:
            question.append("\nThe engine will target it again in its next windows.")
        else:
            question.append(
                "\nThe engine gives it no new target and skips its pending ones; an install"
                " already running continues."
            )
        if (not on_now) == facts.rmm_maintenance_mode:
            question.append(f"\nThat is what the RMM reports ({rmm}): it follows the RMM again.")
        else:
            question.append(
                f"\nThe RMM reports {rmm}: this overrides it (the RMM sync will not undo it)"
                " until someone switches it back. Logged as you."
            )

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(
                    lambda s: (
                        device_ops.set_maintenance_mode(
                            s.database, device_id, s.operator, not on_now, now=s.clock()
                        ).message
                    )
                )

        self.app.push_screen(ConfirmModal(question), answered)

    def action_lift_exclusion(self) -> None:
        detail = self._writable()
        if detail is None:
            return
        active = detail.active_exclusions
        host = printable(detail.facts.hostname)
        if not active:
            self.notify(f"no patch is excluded on {host}", markup=False)
            return
        if len(active) == 1:
            self._confirm_lift(active[0])
            return

        def picked(exclusion_id: int | None) -> None:
            chosen = next((e for e in active if e.id == exclusion_id), None)
            if chosen is not None:
                self._confirm_lift(chosen)

        self.app.push_screen(ExclusionPickScreen(active, host), picked)

    def _confirm_lift(self, item: exclusions.ExclusionView) -> None:
        question = Text("Lift the exclusion of ")
        question.append(printable(item.vendor_id), "bold")
        question.append(" on ")
        question.append(printable(item.hostname), "bold")
        question.append(f" (by {printable(item.excluded_by)}: ")
        question.append(printable(" ".join(item.reason.split()))[:120], "italic")
        question.append(")?")
        question.append(
            "\nThe engine targets the patch here again from the device's next window, when it "
            "is still approved and missing. Logged as you."
        )
        exclusion_id = item.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._write(
                    lambda s: (
                        exclusions.lift(s.database, exclusion_id, s.operator, now=s.clock()).message
                    )
                )

        self.app.push_screen(ConfirmModal(question), answered)

    def _write(self, operation: Callable[[Services], str]) -> None:
        self._write_worker(operation)

    @work(thread=True, exit_on_error=False, group="device-action")
    def _write_worker(self, operation: Callable[[Services], str]) -> None:
        try:
            message = operation(self.services)
        except Refused as refused:
            self.post_message(ActionDone(refusal_text(refused), refused=True))
            return
        self.post_message(ActionDone(message))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        text = printable(message.message)
        if message.refused:
            self.notify(text, title="Not done", severity="warning", markup=False)
        else:
            self.notify(text, markup=False)
        self.refresh_now()


class ExclusionPickScreen(ModalScreen[int | None]):
    """Several patches are excluded on the device: pick the one to lift (``enter``), ``esc``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="exclusion_pick.cancel"),
    ]

    DEFAULT_CSS = """
    ExclusionPickScreen { align: center middle; }
    ExclusionPickScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    ExclusionPickScreen OptionList { height: auto; max-height: 16; }
    ExclusionPickScreen .pick-keys { color: $text-muted; }
    """

    def __init__(self, active: tuple[exclusions.ExclusionView, ...], host: str) -> None:
        super().__init__()
        self.active = active
        self.host = host

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(
                    f"{len(self.active)} patches are excluded on {self.host}: lift which?", "bold"
                ),
                markup=False,
            )
            yield OptionList(
                *(Option(self._prompt(item), id=str(item.id)) for item in self.active),
                id="exclusion-choices",
            )
            yield Static(
                Text("↑↓ choose   enter lift   esc cancel"), classes="pick-keys", markup=False
            )

    @staticmethod
    def _prompt(item: exclusions.ExclusionView) -> Text:
        text = Text()
        text.append(printable(item.vendor_id), "bold")
        text.append(f"  by {printable(item.excluded_by)}", "dim")
        text.append(f"  {printable(' '.join(item.reason.split()))}")
        return text

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.active[event.option_index].id)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- finding a device by name ---------------------------------------------------------------


class DevicePickScreen(ModalScreen[int | None]):
    """Several devices match a hostname: pick one (``enter``), or ``esc``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="device_pick.cancel"),
    ]

    DEFAULT_CSS = """
    DevicePickScreen { align: center middle; }
    DevicePickScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    DevicePickScreen OptionList { height: auto; max-height: 16; }
    DevicePickScreen .pick-keys { color: $text-muted; }
    """

    def __init__(self, lookup: HostLookup) -> None:
        super().__init__()
        self.lookup = lookup

    def compose(self) -> ComposeResult:
        lookup = self.lookup
        query = printable(lookup.query)
        if lookup.exact:
            title = f"{len(lookup.matches)} devices are named “{query}”: which one?"
        else:
            title = f"No device is named “{query}”; devices whose name contains it:"
        with Vertical():
            yield Static(Text(title, "bold"), markup=False)
            yield OptionList(
                *(
                    Option(self._prompt(index), id=str(match.id))
                    for index, match in enumerate(lookup.matches)
                ),
                id="device-matches",
            )
            more = f"  (the first {len(lookup.matches)} only)" if lookup.more else ""
            yield Static(
                Text(f"↑↓ choose   enter open   esc cancel{more}"),
                classes="pick-keys",
                markup=False,
            )

    def _prompt(self, index: int) -> Text:
        match = self.lookup.matches[index]
        text = Text()
        text.append(printable(match.hostname), "bold")
        text.append(f"@{printable(match.client_id)}")
        text.append(f"  {printable(match.client_name)}", "dim")
        text.append(f" · {ROLE_WORDS[match.role]}")
        if match.site:
            text.append(f" · {printable(match.site)}")
        return text

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.lookup.matches[event.option_index].id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def show_device(app: App[Any], device_id: int, *, exception_id: int | None = None) -> None:
    """Push the device screen on the current mode's stack."""
    app.push_screen(DeviceDetailScreen(device_id, exception_id=exception_id))


def show_lookup(app: App[Any], lookup: HostLookup) -> None:
    """The device a lookup found, a pick list when it found several, or a message."""
    single = lookup.single
    if single is not None:
        show_device(app, single.id)
        return
    if not lookup.matches:
        app.notify(
            f"no device named “{printable(lookup.query)}” (HOST or HOST@CLIENT)",
            severity="warning",
            markup=False,
        )
        return

    def picked(device_id: int | None) -> None:
        if device_id is not None:
            show_device(app, device_id)

    app.push_screen(DevicePickScreen(lookup), picked)


def open_device(app: App[Any], host: str) -> None:
    """``:device HOST``: find the device named ``host`` (``HOST@CLIENT`` for one client's)
    in a worker and open its screen; several matches open a pick list, none a message."""
    services = services_of(app)

    def lookup() -> None:
        with services.database.session() as session:
            found = find_devices(session, host)
        app.call_from_thread(show_lookup, app, found)

    app.run_worker(lookup, thread=True, exit_on_error=False, group="device-lookup")
