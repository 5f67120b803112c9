"""Every key binding of patchdesk, in one registry: the ids a user may remap in the config
file's ``[keys]`` table, and the order ``?`` lists them in. A class that declares
``BINDINGS`` is named in ``KEYED`` (a test walks the screens' modules and checks none is
missing). The app's own keys are declared here too: the app sits above the screens, so the
registry cannot import it; ``PatchdeskApp.BINDINGS`` is ``APP_BINDINGS``."""

from __future__ import annotations

from functools import cache

from textual.binding import Binding, BindingType
from textual.dom import DOMNode

from patchdesk.screens.approval_forms import ApprovalForm, EmergencyForm
from patchdesk.screens.approvals import ApprovalsScreen
from patchdesk.screens.board import BoardScreen
from patchdesk.screens.client_detail import ClientDetailScreen
from patchdesk.screens.clients import ClientsScreen, ClientTable
from patchdesk.screens.command_line import CommandLine
from patchdesk.screens.device_detail import DeviceDetailScreen
from patchdesk.screens.device_lookup import DevicePickScreen
from patchdesk.screens.device_writes import ExclusionPickScreen
from patchdesk.screens.exception_forms import ExceptionForm
from patchdesk.screens.handover import NoteModal
from patchdesk.screens.help import HelpScreen
from patchdesk.screens.missed import MissedScreen
from patchdesk.screens.operator_prompt import OperatorPrompt
from patchdesk.screens.queue import QueueScreen
from patchdesk.screens.queue_detail import ExceptionDetailScreen
from patchdesk.screens.quit_confirm import QuitScreen
from patchdesk.screens.remediation import ActionList, RemediationScreen
from patchdesk.screens.reports import ReportsScreen, ReportsTable
from patchdesk.screens.reports_detail import ReportDetailScreen
from patchdesk.screens.reports_export import ExportFormatModal
from patchdesk.screens.widgets.log_confirm import LogConfirm
from patchdesk.screens.widgets.queue_confirm import ConfirmModal
from patchdesk.screens.widgets.queue_table import QueueTable

# The mode keys stay out of the footer (each screen's own keys fill it at 80 columns);
# `?`, `:` and the palette list them.
APP_BINDINGS: list[BindingType] = [
    Binding("1", "show_mode('board')", "Board", show=False, id="app.board"),
    Binding("2", "show_mode('queue')", "Queue", show=False, id="app.queue"),
    Binding("3", "show_mode('reports')", "Reports", show=False, id="app.reports"),
    Binding("4", "show_mode('approvals')", "Approvals", show=False, id="app.approvals"),
    Binding("5", "show_mode('clients')", "Clients", show=False, id="app.clients"),
    Binding("colon", "command_line", "Command", key_display=":", id="app.command"),
    Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
    Binding("q", "request_quit", "Quit", id="app.quit"),
    # Textual's ctrl+q, asking first like q (it answers in text fields and forms too)
    Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit_anywhere"),
    Binding("escape", "walk_back", "Back", show=False, id="app.back"),
]
APP = "PatchdeskApp"

# Every class of ours that declares BINDINGS, in the order ``?`` lists their keys within a
# group: the focused widgets', the modal screens', the screens', then the app's.
KEYED: tuple[type[DOMNode], ...] = (
    ActionList,
    ClientTable,
    ReportsTable,
    QueueTable,
    ApprovalForm,
    EmergencyForm,
    RemediationScreen,
    OperatorPrompt,
    ExceptionForm,
    NoteModal,
    ConfirmModal,
    LogConfirm,
    ExclusionPickScreen,
    DevicePickScreen,
    CommandLine,
    HelpScreen,
    QuitScreen,
    ReportDetailScreen,
    ExportFormatModal,
    ExceptionDetailScreen,
    ApprovalsScreen,
    DeviceDetailScreen,
    MissedScreen,
    BoardScreen,
    ClientsScreen,
    ClientDetailScreen,
    ReportsScreen,
    QueueScreen,
)


def patchdesk_bindings() -> list[tuple[str, Binding]]:
    """(class name, binding) of every class in ``KEYED``, then the app's."""
    owned: list[tuple[str, list[BindingType]]] = [
        (cls.__name__, cls.__dict__.get("BINDINGS", [])) for cls in KEYED
    ]
    owned.append((APP, APP_BINDINGS))
    return [
        (owner, binding)
        for owner, bindings in owned
        for binding in bindings
        if isinstance(binding, Binding)
    ]


@cache
def all_binding_ids() -> frozenset[str]:
    return frozenset(b.id for _, b in patchdesk_bindings() if b.id)


@cache
def declaration_order() -> dict[str, int]:
    """Binding id -> its place in the registry (the order ``?`` lists)."""
    order: dict[str, int] = {}
    for _, binding in patchdesk_bindings():
        if binding.id:
            order.setdefault(binding.id, len(order))
    return order


# The bindings that act on the selected row (of a list, or the selected exception of a
# device page): ``?`` lists them apart, as "row actions". A registry of ids rather than a
# mark on the Binding (Textual rebuilds bindings, dropping anything but its own fields), so
# a key remapped in the config file stays a row action; a test checks every id exists.
ROW_ACTIONS: frozenset[str] = frozenset(
    {
        # the exception queue
        "queue.detail",
        "queue.summary",
        "queue.client",
        "queue.acknowledge",
        "queue.remediate",
        "queue.retry",
        "queue.reboot",
        "queue.escalate",
        "queue.resolve",
        "queue.release",
        "queue.assign",
        "queue.reopen",
        "queue.mark",
        # a device page: its selected exception
        "device.remediate",
        "device.retry",
        "device.reboot",
        "device.lift_exclusion",
        # approvals and the global block list
        "approvals.approve",
        "approvals.block",
        "approvals.defer",
        "approvals.emergency",
        "approvals.mark",
        "approvals.blocklist_remove",
        # reports: the row's client
        "reports.detail",
        "reports.detail_enter",
        "reports.export",
        # clients
        "clients.open",
    }
)
