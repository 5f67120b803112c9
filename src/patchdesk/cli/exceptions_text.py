"""``patchdesk exceptions``' output: the listing's table and JSON rows, and one exception in
full (text and JSON). Untrusted text goes through ``printable`` in the plain-text forms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from patchdesk.ages import age
from patchdesk.domain import TIER_LABELS
from patchdesk.rules.presence import DEFAULT_STALE_AFTER
from patchdesk.rules.response_paths import Action
from patchdesk.store import exception_ops as ops
from patchdesk.store.exception_views import ExceptionDetail, QueueRow
from patchdesk.text import printable

MAX_PATCHES_SHOWN = 2
LAST_ACTION_WIDTH = 40


def row_document(row: QueueRow, now: datetime) -> dict[str, Any]:
    """One exception as JSON: every key always present (null when it does not apply)."""
    return {
        "id": row.id,
        "tier": int(row.tier.value),
        "tier_label": TIER_LABELS[row.tier],
        "class": row.failure_class.value,
        "state": row.state.value,
        "client": row.client_id,
        "client_name": row.client_name,
        "device_id": row.device_id,
        "device": row.hostname,
        "role": row.role.value,
        "criticality": row.criticality.value,
        "patches": list(row.patches),
        "summary": row.summary,
        "owner": row.owner,
        "opened_at": _iso(row.opened_at),
        "age_seconds": int(row.age(now).total_seconds()),
        "acknowledged_at": _iso(row.acknowledged_at),
        "escalated_at": _iso(row.escalated_at),
        "resolved_at": _iso(row.resolved_at),
        "reopened_count": row.reopened_count,
        "last_action": row.last_action,
        "last_action_at": _iso(row.last_action_at),
    }


HEADER = (
    "ID",
    "TIER",
    "CLIENT",
    "DEVICE",
    "ROLE",
    "CLASS",
    "PATCHES",
    "AGE",
    "OWNER",
    "STATE",
    "LAST ACTION",
)


def table_lines(rows: Sequence[QueueRow], now: datetime) -> list[str]:
    """Plain text, one line per exception; untrusted text through ``printable``."""
    cells = [
        (
            str(row.id),
            row.tier.value,
            printable(row.client_id),
            printable(row.hostname),
            row.role.value,
            row.failure_class.value,
            _patches(row.patches),
            age(row.age(now)),
            printable(row.owner) if row.owner else "-",
            row.state.value,
            _clip(printable(row.last_action or ""), LAST_ACTION_WIDTH) or "-",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [HEADER, *cells]) for i in range(len(HEADER))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [HEADER, *cells]
    ]


def detail_document(
    detail: ExceptionDetail, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> dict[str, Any]:
    device = detail.device
    return {
        "exception": row_document(detail.exception, now),
        "client": {
            "id": detail.exception.client_id,
            "name": detail.exception.client_name,
            "timezone": detail.client_timezone,
        },
        "device": {
            "id": device.id,
            "hostname": device.hostname,
            "role": device.role.value,
            "criticality": device.criticality.value,
            "os_family": device.os_family.value,
            "os_name": device.os_name,
            "os_version": device.os_version,
            "site": device.site,
            "tags": list(device.tags),
            "maintenance_mode": device.maintenance_mode,
            "online": device.online,
            "status": device.presence(now, stale_after).value,
            "last_seen": _iso(device.last_seen),
            "last_boot": _iso(device.last_boot),
        },
        "patches": [
            {
                "id": patch.vendor_id,
                "title": patch.title,
                "classification": patch.classification,
                "severity": patch.severity,
                "reboot_required": patch.reboot_required,
            }
            for patch in detail.patches
        ],
        "actions": [
            {
                "id": action.id,
                "label": action.label,
                "engine_command": _engine_command(action),
            }
            for action in detail.actions
        ],
        "history": [
            {
                "seq": entry.seq,
                "at": _iso(entry.at),
                "actor": entry.actor,
                "operator": entry.operator,
                "action": entry.action,
                "outcome": entry.outcome,
                "note": entry.note,
            }
            for entry in detail.history
        ],
        "commands": [
            {
                "id": command.id,
                "kind": command.kind.value,
                "state": command.state.value,
                "patch": command.patch,
                "args": dict(command.args),
                "requested_by": command.requested_by,
                "requested_at": _iso(command.requested_at),
                "started_at": _iso(command.started_at),
                "completed_at": _iso(command.completed_at),
                "not_before": _iso(command.not_before),
                "result": command.result,
            }
            for command in detail.commands
        ],
    }


def detail_lines(
    detail: ExceptionDetail, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> list[str]:
    row, device = detail.exception, detail.device
    p = printable
    os_text = " ".join(part for part in (device.os_name, device.os_version) if part)
    facts = [device.role.value, device.criticality.value, p(os_text or device.os_family.value)]
    if device.site:
        facts.append(f"site {p(device.site)}")
    if device.maintenance_mode:
        facts.append("maintenance mode")
    seen = device.presence(now, stale_after).value
    seen += f", last seen {_when(device.last_seen, now)}"
    owner = f"{p(row.owner)} since {_when(row.acknowledged_at, now)}" if row.owner else "nobody"
    lines = [
        f"exception {row.id}: {row.failure_class.value}, tier {row.tier.value} "
        f"({TIER_LABELS[row.tier]}), {row.state.value}",
        f"  client    {p(row.client_id)} ({p(row.client_name)}, {p(detail.client_timezone)})",
        f"  device    {p(device.hostname)} ({', '.join(facts)}; {seen})",
        f"  summary   {p(row.summary) or '-'}",
        f"  opened    {_when(row.opened_at, now)}"
        + (f", reopened {plural(row.reopened_count, 'time')}" if row.reopened_count else ""),
        f"  owner     {owner}",
    ]
    if row.escalated_at:
        lines.append(f"  escalated {_when(row.escalated_at, now)}")
    if row.resolved_at:
        lines.append(f"  resolved  {_when(row.resolved_at, now)}")
    lines.append(f"  last      {p(row.last_action or '-')} ({_when(row.last_action_at, now)})")
    lines += ["", "patches"]
    lines += [
        f"  {p(patch.vendor_id)}  {p(patch.title)} ({patch.classification}, {patch.severity})"
        for patch in detail.patches
    ] or ["  (none)"]
    lines += ["", "actions (patchdesk remediate ID --action ACTION)"]
    lines += [f"  {a.id:<20} {a.label}{_action_note(a)}" for a in detail.actions]
    lines += ["", "history"]
    lines += [
        f"  #{entry.seq} {_utc(entry.at)}  {p(entry.actor)}"
        + (f" (for {p(entry.operator)})" if entry.operator != entry.actor else "")
        + f"  {p(entry.action)}: {p(entry.outcome)}"
        + (f"  {p(entry.note)}" if entry.note else "")
        for entry in detail.history
    ] or ["  (none)"]
    lines += ["", "commands"]
    lines += [
        f"  {command.id}  {command.kind.value}"
        + (f" {p(command.patch)}" if command.patch else "")
        + f"  {command.state.value}  by {p(command.requested_by)} at {_utc(command.requested_at)}"
        + (f", for {_utc(command.not_before)}" if command.not_before else "")
        + (f"  {p(command.result)}" if command.result else "")
        for command in detail.commands
    ] or ["  (none)"]
    return lines


def _action_note(action: Action) -> str:
    """What choosing the action does beyond its log record."""
    command = _engine_command(action)
    if command is not None:
        return f"  [engine: {command}]"
    if action.command is None and action.id not in ops.COMMON_ACTION_IDS:
        return "  [your own work: logs what you did]"
    return ""


def _engine_command(action: Action) -> str | None:
    """The command the action queues for the engine (resolve has a command kind in classify,
    but is written directly)."""
    if action.command is None or action.id in ops.COMMON_ACTION_IDS:
        return None
    return action.command.value


def _patches(vendor_ids: Sequence[str]) -> str:
    if not vendor_ids:
        return "-"
    shown = ",".join(printable(v) for v in vendor_ids[:MAX_PATCHES_SHOWN])
    more = len(vendor_ids) - MAX_PATCHES_SHOWN
    return f"{shown} +{more}" if more > 0 else shown


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _when(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    ago = f"{age(now - at)} ago" if at <= now else f"in {age(at - now)}"
    return f"{_utc(at)} ({ago})"
