"""The shift handover as Markdown (to paste into the shift log) and JSON, from
``store.handover.handover_summary``: opened, resolved, still open by tier, unassigned,
escalations, the devices not patched this cycle (reason, next window), and the handover
notes written during the shift. Times in the operator's zone (labelled) in Markdown, UTC ISO
8601 in JSON. Both end with the remediation log's anchor line (``patchdesk audit verify
--anchors`` reads it from a saved handover)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from patchdesk.ages import age
from patchdesk.domain import TIER_LABELS, Tier
from patchdesk.reports.escape import md_multiline, md_text
from patchdesk.reports.formatting import iso, local
from patchdesk.store.exception_views import QueueRow
from patchdesk.store.handover import HandoverSummary, NoteView
from patchdesk.store.not_patched import NotPatched


def _row_document(row: QueueRow, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "tier": int(row.tier.value),
        "class": row.failure_class.value,
        "state": row.state.value,
        "client": row.client_id,
        "device": row.hostname,
        "patches": list(row.patches),
        "owner": row.owner,
        "summary": row.summary,
        "opened_at": iso(row.opened_at),
        "resolved_at": iso(row.resolved_at),
        "escalated_at": iso(row.escalated_at),
        "age_seconds": int(row.age(now).total_seconds()),
        "last_action": row.last_action,
    }


def _not_patched_document(row: NotPatched) -> dict[str, Any]:
    following = row.next_window
    return {
        "tier": int(row.tier.value),
        "client": row.client_id,
        "device": row.hostname,
        "reason": row.reason,
        "reason_text": row.reason_text,
        "window_closed_at": iso(row.window_end),
        "next_window": (
            {"name": following.name, "start": iso(following.start_utc)} if following else None
        ),
        "exception_id": row.exception_id,
    }


def _not_patched_line(row: NotPatched, zone: ZoneInfo) -> str:
    following = row.next_window
    carried = (
        f"next window {md_text(following.name)} {local(following.start_utc, zone)}"
        if following
        else "no window ahead"
    )
    owner = f"; exception #{row.exception_id}" if row.exception_id else ""
    return (
        f"- T{row.tier.value} {md_text(row.client_id)} / {md_text(row.hostname)}: "
        f"{row.reason_text}; {carried}{owner}"
    )


def _note_document(note: NoteView) -> dict[str, Any]:
    return {"id": note.id, "author": note.author, "at": iso(note.at), "text": note.text}


def document(summary: HandoverSummary, notes: Sequence[NoteView]) -> dict[str, Any]:
    return {
        "since": iso(summary.since),
        "now": iso(summary.now),
        "open_total": summary.open_total,
        "open_by_tier": {t.value: summary.open_by_tier.get(t, 0) for t in Tier},
        "unassigned_total": summary.unassigned_total,
        "unassigned_by_tier": {t.value: summary.unassigned_by_tier.get(t, 0) for t in Tier},
        "opened_count": summary.opened_count,
        "opened": [_row_document(r, summary.now) for r in summary.opened],
        "resolved_count": summary.resolved_count,
        "resolved": [_row_document(r, summary.now) for r in summary.resolved],
        "escalated_count": summary.escalated_count,
        "escalated": [_row_document(r, summary.now) for r in summary.escalated],
        "not_patched_count": summary.not_patched_count,
        "not_patched": [_not_patched_document(r) for r in summary.not_patched],
        "notes": [_note_document(n) for n in notes],
        "anchor": None
        if summary.anchor is None
        else {
            "seq": summary.anchor.seq,
            "at": summary.anchor.at_text,
            "mac": summary.anchor.mac,
            "line": summary.anchor.line,
        },
    }


def _line(row: QueueRow, now: datetime, zone: ZoneInfo) -> str:
    owner = md_text(row.owner) if row.owner else "unassigned"
    patches = ", ".join(md_text(p) for p in row.patches[:3]) or "-"
    return (
        f"- #{row.id} T{row.tier.value} {md_text(row.client_id)} / {md_text(row.hostname)}: "
        f"{row.failure_class.value}, {row.state.value.replace('_', ' ')}, {owner}; "
        f"opened {local(row.opened_at, zone)} "
        f"({age(row.age(now))} ago); {patches}"
    )


def _section(
    title: str, count: int, rows: Sequence[QueueRow], now: datetime, zone: ZoneInfo
) -> list[str]:
    lines = [f"## {title} ({count})", ""]
    if not rows:
        return [*lines, "None.", ""]
    lines += [_line(row, now, zone) for row in rows]
    if count > len(rows):
        lines.append(f"- … and {count - len(rows)} more")
    return [*lines, ""]


def markdown(summary: HandoverSummary, notes: Sequence[NoteView], zone: ZoneInfo) -> str:
    now = summary.now
    lines = [
        f"# Shift handover, {local(now, zone)}",
        "",
        f"Shift from {local(summary.since, zone)} to {local(now, zone)} "
        f"({age(now - summary.since)}).",
        "",
        f"## Still open by tier ({summary.open_total}; {summary.unassigned_total} unassigned)",
        "",
        "| Tier | Open | Unassigned |",
        "|---|---|---|",
    ]
    lines += [
        f"| {t.value} {TIER_LABELS[t]} | {summary.open_by_tier.get(t, 0)} | "
        f"{summary.unassigned_by_tier.get(t, 0)} |"
        for t in Tier
    ]
    lines.append("")
    lines += _section("Opened this shift", summary.opened_count, summary.opened, now, zone)
    lines += _section("Resolved this shift", summary.resolved_count, summary.resolved, now, zone)
    lines += _section("Escalated", summary.escalated_count, summary.escalated, now, zone)
    lines += [f"## Not patched this cycle ({summary.not_patched_count})", ""]
    lines += [_not_patched_line(row, zone) for row in summary.not_patched] or ["None."]
    if summary.not_patched_count > len(summary.not_patched):
        lines.append(f"- … and {summary.not_patched_count - len(summary.not_patched)} more")
    lines.append("")
    lines += [f"## Handover notes ({len(notes)})", ""]
    if not notes:
        lines += ["None written this shift.", ""]
    for note in notes:
        lines += [
            f"**{md_text(note.author)}**, {local(note.at, zone)}:",
            "",
            md_multiline(note.text),
            "",
        ]
    lines += ["## Remediation log", ""]
    if summary.anchor is None:
        lines += ["No anchor: the log is empty or not keyed yet.", ""]
    else:
        lines += [
            f"Anchor: `{summary.anchor.line}`",
            "",
            "Keep this line outside patchdesk: `patchdesk audit verify --anchors FILE` reports "
            "a log that no longer matches it.",
            "",
        ]
    return "\n".join(lines)
