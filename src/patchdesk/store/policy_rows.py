"""Policy models <-> store rows, as plain values (no session, no I/O).

``*_columns`` give the column values ``apply`` writes; ``client_document`` turns stored rows
back into the policy-file structure (what ``export`` shows and what re-validates as a
``[client]`` table).
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from patchdesk.domain import RecurrenceKind, RuleAction
from patchdesk.policy.durations import format_clock, format_duration
from patchdesk.policy.models import (
    ApprovalRule,
    BlockEntry,
    ClientPolicy,
    Monthly,
    Ring,
    Scope,
    Weekly,
    Window,
)
from patchdesk.store import models as store

Columns = dict[str, object]
BlackoutValue = tuple[date, date, str]
RuleValue = tuple[str, dict[str, Any], str, int]
RingValue = tuple[str, list[str], int, float]

# Column -> the policy-file key a person knows it by (for "what changed" summaries).
FILE_KEYS: dict[str, str] = {
    "applies_roles": "applies_to",
    "applies_tags": "applies_to",
    "applies_sites": "applies_to",
    "recurrence": "recurrence",
    "weekdays": "recurrence",
    "nth": "recurrence",
    "offset_days": "recurrence",
    "start_time": "start",
    "duration_minutes": "duration",
    "reboot_policy": "reboot",
    "checkin_timeout_minutes": "checkin_timeout",
}


def client_columns(client: ClientPolicy) -> Columns:
    return {"name": client.name, "timezone": client.timezone, "sla_tier": client.sla_tier}


def scope_columns(scope: Scope) -> Columns:
    return {
        "include_roles": [str(role) for role in scope.include_roles],
        "include_tags": list(scope.include_tags),
        "include_sites": list(scope.include_sites),
        "include_os": [str(family) for family in scope.include_os],
        "exclude_devices": list(scope.exclude_devices),
        "patch_os": scope.patch_os,
        "third_party": list(scope.third_party),
        "notes": scope.notes,
    }


def window_columns(window: Window) -> Columns:
    """Every column of a window except its key (client, name), ``active`` and ``updated_at``."""
    recurrence = window.recurrence
    weekdays: list[str] = []
    nth: int | None = None
    offset_days: int | None = None
    if isinstance(recurrence, Weekly):
        weekdays = list(recurrence.days)
    elif isinstance(recurrence, Monthly):
        weekdays, nth = [recurrence.weekday], recurrence.nth
    else:
        offset_days = recurrence.offset_days
    return {
        "applies_roles": [str(role) for role in window.applies_to.roles],
        "applies_tags": list(window.applies_to.tags),
        "applies_sites": list(window.applies_to.sites),
        "recurrence": RecurrenceKind(recurrence.type),
        "weekdays": weekdays,
        "nth": nth,
        "offset_days": offset_days,
        "start_time": window.start,
        "duration_minutes": window.duration,
        "reboot_policy": window.reboot,
        "max_deferrals": window.max_deferrals,
        "deferral_minutes": window.deferral_minutes,
        "checkin_timeout_minutes": window.checkin_timeout,
        "max_concurrent": window.max_concurrent,
    }


def blackout_values(window: Window) -> list[BlackoutValue]:
    return sorted((b.start, b.end, b.reason) for b in window.blackouts)


def stored_blackouts(row: store.MaintenanceWindow) -> list[BlackoutValue]:
    return sorted((b.start_date, b.end_date, b.reason) for b in row.blackouts)


def rule_values(rules: list[ApprovalRule]) -> list[RuleValue]:
    """The ordered rules as stored: catch-all ``any = true`` is an empty match."""
    return [(rule.name, rule.match.criteria(), str(rule.action), rule.days or 0) for rule in rules]


def stored_rules(rows: list[store.ApprovalRule]) -> list[RuleValue]:
    return [(row.name, dict(row.match), str(row.action), row.days) for row in rows]


def ring_values(rings: list[Ring]) -> list[RingValue]:
    return [(ring.name, list(ring.tags), ring.soak, ring.min_success_rate) for ring in rings]


def stored_rings(rows: list[store.Ring]) -> list[RingValue]:
    return [(row.name, list(row.tags), row.soak_hours, row.min_success_rate) for row in rows]


def block_columns(entry: BlockEntry) -> Columns:
    return {
        "reason": entry.reason,
        "blocked_by": entry.blocked_by,
        "blocked_at": entry.blocked_at.astimezone(UTC),
    }


def changed_columns(row: object, wanted: Columns) -> list[str]:
    """The columns of ``row`` whose value differs from ``wanted``."""
    return [column for column, value in wanted.items() if getattr(row, column) != value]


def file_keys(columns: list[str]) -> list[str]:
    """Column names as policy-file keys, each once, in order."""
    return list(dict.fromkeys(FILE_KEYS.get(column, column) for column in columns))


# --- stored rows back to the file structure -------------------------------------------------


def client_document(
    client: store.Client,
    scope: store.ClientScope | None,
    windows: list[store.MaintenanceWindow],
    rules: list[store.ApprovalRule],
    rings: list[store.Ring],
) -> dict[str, Any]:
    """A ``[client]`` table (as Python values) for the stored policy of one client."""
    document: dict[str, Any] = {
        "id": client.id,
        "name": client.name,
        "timezone": client.timezone,
        "sla_tier": client.sla_tier,
        "windows": [window_document(row) for row in windows],
        "approval_rules": [rule_document(row) for row in rules],
        "rings": [
            {
                "name": row.name,
                "tags": list(row.tags),
                "soak": f"{row.soak_hours}h",
                "min_success_rate": row.min_success_rate,
            }
            for row in rings
        ],
    }
    if scope is not None:
        document["scope"] = {
            "include_roles": list(scope.include_roles),
            "include_tags": list(scope.include_tags),
            "include_sites": list(scope.include_sites),
            "include_os": list(scope.include_os),
            "exclude_devices": list(scope.exclude_devices),
            "patch_os": scope.patch_os,
            "third_party": list(scope.third_party),
            "notes": scope.notes,
        }
    return document


def window_document(row: store.MaintenanceWindow) -> dict[str, Any]:
    recurrence: dict[str, Any] = {"type": str(row.recurrence)}
    if row.recurrence is RecurrenceKind.WEEKLY:
        recurrence["days"] = list(row.weekdays)
    elif row.recurrence is RecurrenceKind.MONTHLY:
        recurrence["nth"] = row.nth
        recurrence["weekday"] = row.weekdays[0] if row.weekdays else ""
    else:
        recurrence["offset_days"] = row.offset_days or 0
    return {
        "name": row.name,
        "applies_to": {
            "roles": list(row.applies_roles),
            "tags": list(row.applies_tags),
            "sites": list(row.applies_sites),
        },
        "recurrence": recurrence,
        "start": format_clock(row.start_time),
        "duration": format_duration(row.duration_minutes),
        "reboot": str(row.reboot_policy),
        "max_deferrals": row.max_deferrals,
        "deferral_minutes": row.deferral_minutes,
        "checkin_timeout": format_duration(row.checkin_timeout_minutes),
        "max_concurrent": row.max_concurrent,
        "blackouts": [
            {"from": b.start_date, "to": b.end_date, "reason": b.reason} for b in row.blackouts
        ],
    }


def rule_document(row: store.ApprovalRule) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": row.name,
        "match": dict(row.match) or {"any": True},
        "action": str(row.action),
    }
    if row.action in (RuleAction.AUTO, RuleAction.DEFER):
        document["days"] = row.days
    return document


def block_document(row: store.BlockedPatch) -> dict[str, Any]:
    return {
        "patch_id": row.patch_vendor_id,
        "reason": row.reason,
        "blocked_by": row.blocked_by,
        "blocked_at": row.blocked_at,
    }
