"""The device screen's writes about the device itself rather than one of its exceptions:
switch maintenance mode (stored as an override the RMM sync does not undo) and lift a patch
exclusion (picked from a list when there are several). Each is confirmed first, then
written in the screen's write worker (``screens.queue_actions``) and logged as the operator.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from patchdesk.screens.queue_actions import ExceptionActions
from patchdesk.screens.widgets.device_sections import ROLE_WORDS
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.store import device_ops, exclusions
from patchdesk.store.device_views import DeviceDetail, DeviceFacts
from patchdesk.text import printable


def maintenance_question(facts: DeviceFacts) -> Text:
    """Put it in (take it out of) maintenance mode? What the engine does then, and whether
    that overrides what the RMM reports."""
    on_now = facts.maintenance_mode
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
    return question


def lift_question(item: exclusions.ExclusionView) -> Text:
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
    return question


class DeviceWrites:
    """The device-wide writes of one device screen, through its ``ExceptionActions``."""

    def __init__(self, actions: ExceptionActions) -> None:
        self.actions = actions

    def maintenance(self, detail: DeviceDetail) -> None:
        facts = detail.facts
        switch_on = not facts.maintenance_mode
        device_id = facts.id

        def answered(yes: bool | None) -> None:
            if yes:
                self.actions.write(
                    lambda s: (
                        device_ops.set_maintenance_mode(
                            s.database, device_id, s.operator, switch_on, now=s.clock()
                        ).message
                    )
                )

        self.actions.screen.app.push_screen(ConfirmModal(maintenance_question(facts)), answered)

    def lift_exclusion(self, detail: DeviceDetail) -> None:
        active = detail.active_exclusions
        host = printable(detail.facts.hostname)
        if not active:
            self.actions.screen.notify(f"no patch is excluded on {host}", markup=False)
            return
        if len(active) == 1:
            self._confirm_lift(active[0])
            return

        def picked(exclusion_id: int | None) -> None:
            chosen = next((e for e in active if e.id == exclusion_id), None)
            if chosen is not None:
                self._confirm_lift(chosen)

        self.actions.screen.app.push_screen(ExclusionPickScreen(active, host), picked)

    def _confirm_lift(self, item: exclusions.ExclusionView) -> None:
        exclusion_id = item.id

        def answered(yes: bool | None) -> None:
            if yes:
                self.actions.write(
                    lambda s: (
                        exclusions.lift(s.database, exclusion_id, s.operator, now=s.clock()).message
                    )
                )

        self.actions.screen.app.push_screen(ConfirmModal(lift_question(item)), answered)


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


__all__ = ["DeviceWrites", "ExclusionPickScreen", "lift_question", "maintenance_question"]
