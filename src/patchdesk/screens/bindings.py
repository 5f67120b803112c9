"""Every key binding of patchdesk's screens and widgets, found by walking their modules: the
ids a user may remap in the config file's ``[keys]`` table (and a test checks that every
binding has one)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from textual.binding import Binding
from textual.dom import DOMNode

import patchdesk.screens


def _subclasses(cls: type[DOMNode]) -> list[type[DOMNode]]:
    found: list[type[DOMNode]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def patchdesk_bindings() -> list[tuple[str, Binding]]:
    """(class name, binding) of every class of ours with ``BINDINGS``, the app's included."""
    for module in pkgutil.walk_packages(patchdesk.screens.__path__, "patchdesk.screens."):
        importlib.import_module(module.name)
    importlib.import_module("patchdesk.app")
    found: list[tuple[str, Binding]] = []
    seen: set[type[DOMNode]] = set()
    for cls in _subclasses(DOMNode):
        if cls in seen or not cls.__module__.startswith("patchdesk."):
            continue
        seen.add(cls)
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding):
                found.append((cls.__name__, binding))
    return found


@cache
def all_binding_ids() -> frozenset[str]:
    return frozenset(b.id for _, b in patchdesk_bindings() if b.id)


@cache
def declaration_order() -> dict[str, int]:
    """Binding id -> its place among the classes' ``BINDINGS`` (the order ``?`` lists)."""
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
