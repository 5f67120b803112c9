"""The approvals screen's decisions: which form a key opens, on what, and what happens once
it is saved.

``a``, ``b``, ``d`` open a form on the patch under the cursor, or on every marked line
while some are marked (``screens.approval_bulk``); ``E`` reads the devices that need the
patch first (in a worker: the keys typed after it wait for the form), then opens the
emergency form if the screen is still in front; the block list's ``n`` and ``x`` add and
remove an entry. A read-only session, or no line under the cursor, is refused with a
warning and opens nothing. Once a form is saved its message is shown (and, for a form on
marked lines, the marks are cleared) and the screen reads again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen
from textual.worker import Worker

from patchdesk.screens.approval_blocklist_forms import BlocklistAddForm, BlocklistRemoveForm
from patchdesk.screens.approval_form_base import ApprovalForm
from patchdesk.screens.approval_forms import EmergencyForm
from patchdesk.screens.approval_reads import DevicesRead
from patchdesk.screens.burst import keys_wait_for
from patchdesk.screens.form_screen import push_if_in_front
from patchdesk.screens.services import Services, services_of
from patchdesk.screens.widgets.marks import Marks
from patchdesk.store.approval_views import ApprovalLine, BlockLine
from patchdesk.text import printable


class ApprovalDecisions:
    """Opens the approvals' forms for ``screen`` and follows them up.

    ``marks`` are the screen's marked lines; ``read_now`` reads the screen again,
    ``clear_marks`` clears the marks and shows it, ``select_block`` puts the block list's
    cursor on an entry once a read lists it, ``read_devices`` starts the worker that reads
    the devices needing a line's patch (its result: ``devices_read``)."""

    def __init__(
        self,
        screen: Screen[Any],
        marks: Marks[str, ApprovalLine],
        *,
        read_now: Callable[[], None],
        clear_marks: Callable[[], None],
        select_block: Callable[[str], None],
        read_devices: Callable[[ApprovalLine], Worker[None]],
    ) -> None:
        self.screen = screen
        self.marks = marks
        self.read_now = read_now
        self.clear_marks = clear_marks
        self.select_block = select_block
        self.read_devices = read_devices

    @property
    def services(self) -> Services:
        return services_of(self.screen.app)

    def writable(self) -> bool:
        if self.services.readonly:
            self.screen.notify("read-only session: nothing can be changed", severity="warning")
            return False
        return True

    def _line(self, line: ApprovalLine | None) -> ApprovalLine | None:
        if line is None:
            self.screen.notify("no patch under the cursor", severity="warning")
            return None
        return line if self.writable() else None

    def decide(
        self,
        single: Callable[[ApprovalLine], ApprovalForm],
        bulk: Callable[[list[ApprovalLine]], ApprovalForm],
        line: ApprovalLine | None,
    ) -> None:
        """The ``bulk`` form on the marked lines if any, else the ``single`` form on ``line``
        (the line under the cursor)."""
        if self.marks:
            self._bulk(bulk)
        elif (chosen := self._line(line)) is not None:
            self._form(single(chosen))

    def _bulk(self, form: Callable[[list[ApprovalLine]], ApprovalForm]) -> None:
        if not self.writable():
            return
        lines = self.marks.rows()

        def done(message: str | None) -> None:
            if message:
                self.clear_marks()
                self.screen.notify(printable(message), markup=False)
                self.read_now()

        self.screen.app.push_screen(form(lines), done)

    # --- emergency: the devices first ------------------------------------------------------

    def emergency(self, line: ApprovalLine | None) -> None:
        if (chosen := self._line(line)) is not None:
            keys_wait_for(self.screen.app, self.read_devices(chosen))

    def devices_read(self, message: DevicesRead) -> None:
        if not message.devices:
            self.screen.notify(
                f"no device of {printable(message.line.client_id)} needs "
                f"{printable(message.line.patch_id)} any more",
                severity="warning",
                markup=False,
            )
            self.read_now()
            return
        # The devices were read in a worker: by now another form may be open (b pressed
        # meanwhile). It stays in front, and keeps its keys.
        form = EmergencyForm(message.line, message.devices)
        push_if_in_front(self.screen, form, self._form_done(form), what="the emergency form")

    # --- the global block list -------------------------------------------------------------

    def blocklist_add(self) -> None:
        if self.writable():
            self._form(BlocklistAddForm())

    def blocklist_remove(self, block: BlockLine | None) -> None:
        if block is None:
            self.screen.notify("no block-list entry under the cursor", severity="warning")
            return
        if self.writable():
            self._form(BlocklistRemoveForm(block))

    # --- after a form ----------------------------------------------------------------------

    def _form(self, form: ApprovalForm) -> None:
        self.screen.app.push_screen(form, self._form_done(form))

    def _form_done(self, form: ApprovalForm) -> Callable[[str | None], None]:
        def done(message: str | None) -> None:
            if isinstance(form, BlocklistAddForm) and form.added is not None:
                self.select_block(form.added)  # the cursor goes to the new entry
            if message:
                self.screen.notify(printable(message), markup=False)
                self.read_now()

        return done


__all__ = ["ApprovalDecisions"]
