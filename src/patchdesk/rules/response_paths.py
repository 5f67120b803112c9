"""The response paths: what an operator can do about an exception of each failure class,
in the order the screens and ``patchdesk exceptions act`` number them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from patchdesk.domain import FailureClass, RequestKind


@dataclass(frozen=True)
class Action:
    """A remediation action offered for an exception; ``command`` if the engine executes it.

    An action with a command has its effect through the engine (the technician's record says
    it was asked for, the engine's record what came of it). One without is a record of work
    the technician did themselves, outside patchdesk (a cache cleared in a remote session, a
    call to the site, a vendor case): its outcome and note say what happened. No action
    promises an effect patchdesk does not carry out.
    """

    id: str
    label: str
    command: RequestKind | None = None


RESPONSE_PATHS: Mapping[FailureClass, tuple[Action, ...]] = MappingProxyType(
    {
        FailureClass.INSTALL: (
            Action("retry_install", "Retry install", RequestKind.RETRY_INSTALL),
            Action("clear_update_cache", "Clear update cache"),
            Action("free_disk", "Free disk space"),
            Action("manual_install", "Install manually"),
            Action("exclude_patch", "Exclude patch for this device", RequestKind.EXCLUDE_PATCH),
        ),
        FailureClass.REBOOT: (
            Action("force_reboot", "Force reboot", RequestKind.FORCE_REBOOT),
            Action("schedule_reboot", "Schedule reboot", RequestKind.SCHEDULE_REBOOT),
            Action("contact_user", "Contact user"),
        ),
        FailureClass.REGRESSION: (
            Action("rollback_patch", "Roll back patch", RequestKind.ROLLBACK_PATCH),
            Action("block_patch_client", "Block patch for this client", RequestKind.BLOCK_PATCH),
            Action("block_patch_global", "Block patch globally", RequestKind.BLOCK_PATCH),
            Action("vendor_case", "Open vendor case"),
        ),
        FailureClass.OFFLINE: (
            Action("wake_on_lan", "Wake-on-LAN", RequestKind.WAKE_DEVICE),
            Action("power_cycle", "Out-of-band power cycle"),
            Action("contact_site", "Contact site"),
            Action("dispatch_onsite", "Dispatch on-site"),
        ),
        # The engine carries the device to its next window by itself and resolves the
        # exception when a window patches it; these record what the technician did besides.
        FailureClass.MISSED: (
            Action("extend_window", "Extend or add a window (policy)"),
            Action("next_window", "Patch in the next window"),
            Action("emergency_deploy", "Emergency deploy (approvals)"),
        ),
    }
)

COMMON_ACTIONS: tuple[Action, ...] = (
    Action("note", "Add note"),
    Action("acknowledge", "Acknowledge / assign"),
    Action("escalate", "Escalate"),
    Action("resolve", "Resolve", RequestKind.RESOLVE),
    Action("reopen", "Reopen"),
)


def actions_for(failure_class: FailureClass) -> tuple[Action, ...]:
    """The numbered actions of a class: its response path first, then the common actions."""
    return RESPONSE_PATHS[failure_class] + COMMON_ACTIONS
