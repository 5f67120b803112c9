"""The fixed plain words of the client's report (``reports.client_view``): what each code the
report model carries becomes for a client. A code missing here adds nothing to the report."""

from __future__ import annotations

from patchdesk.domain import ExceptionState, FailureClass, RequestKind, TargetState
from patchdesk.rules.response_paths import RESPONSE_PATHS
from patchdesk.rules.verdicts import Cause

URGENT_WINDOW = "Urgent update (outside the regular windows)"

# Why a device failed, by the cause the engine recorded when it opened (or updated) the
# exception (the log record's outcome).
CAUSE_WORDS: dict[str, str] = {
    Cause.INSTALL_ERROR: "the update failed to install",
    Cause.INSTALL_NO_RESULT: "the update did not finish installing before the window closed",
    Cause.REBOOT_NOT_STARTED: "the device did not restart as the update required",
    Cause.REBOOT_NO_BOOT: "the device did not come back after its restart",
    Cause.REBOOT_SKIPPED: "the device did not restart when asked to",
    Cause.NO_CHECKIN: "the device did not come back online after its restart",
    Cause.MISSED: "the device was offline for its whole maintenance window",
    Cause.HEALTH_REGRESSION: "a service on the device stopped working properly after the update",
}
# The record actions that carry a cause in their outcome.
CAUSE_ACTIONS = frozenset({"exception.open", "exception.update"})

CLASS_WORDS: dict[FailureClass, str] = {
    FailureClass.INSTALL: "the update failed to install",
    FailureClass.REBOOT: "the device did not restart properly after the update",
    FailureClass.REGRESSION: "a service on the device stopped working properly after the update",
    FailureClass.OFFLINE: "the device was offline and could not be updated",
}
GENERIC_PROBLEM = "the device needed an engineer's attention"

# What a technician did, by the action id logged as ``remediate:<id>``: (done, to do), each
# following "an engineer". An action the engine carries out is "done" only once the
# engine's ``command.<kind>`` record after it says so ("tried to" when it failed, "arranged
# to" while it waits); one the technician did by hand, when its outcome is ``done``.
ACTION_WORDS: dict[str, tuple[str, str]] = {
    "retry_install": ("retried the installation", "retry the installation"),
    "clear_update_cache": ("cleared the update cache", "clear the update cache"),
    "free_disk": ("freed disk space", "free disk space"),
    "manual_install": ("installed the update by hand", "install the update by hand"),
    "exclude_patch": ("took the update off this device", "take the update off this device"),
    "force_reboot": ("restarted the device remotely", "restart the device remotely"),
    "schedule_reboot": (
        "restarted the device at a planned time",
        "restart the device at a planned time",
    ),
    "contact_user": ("contacted the device's user", "contact the device's user"),
    "rollback_patch": ("rolled the update back", "roll the update back"),
    "block_patch_client": (
        "withheld the update from your devices",
        "withhold the update from your devices",
    ),
    "block_patch_global": (
        "withheld the update from every device",
        "withhold the update from every device",
    ),
    "vendor_case": ("opened a case with the vendor", "open a case with the vendor"),
    "wake_on_lan": ("woke the device over the network", "wake the device over the network"),
    "power_cycle": ("power-cycled the device remotely", "power-cycle the device remotely"),
    "contact_site": ("contacted the site", "contact the site"),
    "dispatch_onsite": ("went on site", "go on site"),
}
ESCALATED = "escalated it for specialist help"
# The command the engine runs for an action (None: the technician does it by hand).
ACTION_COMMANDS: dict[str, RequestKind | None] = {
    action.id: action.command for path in RESPONSE_PATHS.values() for action in path
}
REMEDIATE_PREFIX = "remediate:"
# Record actions by which a technician resolves an exception (by hand, or through the
# command the engine carries out for them).
ENGINEER_RESOLUTIONS = frozenset({"resolve", "command.resolve"})

OPEN_WORDS: dict[ExceptionState, str] = {
    ExceptionState.OPEN: "waiting for an engineer",
    ExceptionState.ACKNOWLEDGED: "an engineer has taken it on",
    ExceptionState.IN_PROGRESS: "an engineer is working on it",
    ExceptionState.ESCALATED: "escalated for specialist help and being worked on",
}

IN_PROGRESS_STATES = frozenset(
    {
        TargetState.PENDING,
        TargetState.DISPATCHED,
        TargetState.INSTALLING,
        TargetState.INSTALLED,
        TargetState.REBOOT_PENDING,
        TargetState.REBOOTING,
        TargetState.AWAITING_CHECKIN,
    }
)

OUTCOME_WORDS: dict[TargetState, str] = {
    TargetState.VERIFIED: "updated",
    TargetState.INSTALL_FAILED: "the update failed to install",
    TargetState.REBOOT_FAILED: "did not restart properly",
    TargetState.NO_CHECKIN: "did not come back online after its restart",
    TargetState.REGRESSION: "a problem appeared after the update",
    TargetState.MISSED: "not updated: offline for the whole window",
    TargetState.SKIPPED: "skipped (in maintenance, or the update was withdrawn)",
    TargetState.DEFERRED: "postponed by its user",
    **{state: "in progress" for state in IN_PROGRESS_STATES},
}
NOT_REACHED = "not reached before the window closed: carried to the next window"

ROLE_WORDS: dict[str, tuple[str, str]] = {
    "server": ("server", "servers"),
    "shared_workstation": ("shared workstation", "shared workstations"),
    "single_user": ("single-user device", "single-user devices"),
}

DEVICE_MEANING = (
    "Device compliance counts devices: the share of your devices in scope that have every "
    "approved update installed once a maintenance window has passed for it, so one missing "
    "update makes the whole device count as not compliant."
)
PATCH_MEANING = (
    "Patch compliance counts updates: of every approved update on every device in scope, "
    "the share already installed, including updates whose maintenance window is still to "
    "come, which is why it is usually the lower figure while a cycle runs."
)
