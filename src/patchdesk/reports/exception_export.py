"""The exception log export: JSON (one document, exceptions with nested history) or CSV
(one row per remediation record, the exception's columns repeated; an exception with no
record gets one row with the record columns empty)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from patchdesk.reports.cycle_json import exception_document
from patchdesk.reports.escape import csv_cell
from patchdesk.reports.formatting import iso
from patchdesk.store.exception_log import LoggedException

COLUMNS = (
    "exception_id",
    "client",
    "device",
    "role",
    "tier",
    "class",
    "state",
    "owner",
    "patches",
    "summary",
    "opened_at_utc",
    "acknowledged_at_utc",
    "escalated_at_utc",
    "resolved_at_utc",
    "reopened_count",
    "record_seq",
    "record_at_utc",
    "record_actor",
    "record_operator",
    "record_action",
    "record_outcome",
    "record_note",
)


def document(
    entries: Sequence[LoggedException], *, since: datetime | None, client_id: str | None
) -> dict[str, Any]:
    return {
        "export": "exceptions",
        "since": iso(since),
        "client": client_id,
        "count": len(entries),
        "exceptions": [
            {
                "client": entry.client_id,
                "client_name": entry.client_name,
                "timezone": entry.timezone,
                "device_id": entry.device_id,
                "role": entry.role,
                **exception_document(entry.exception),
            }
            for entry in entries
        ],
    }


def render_csv(entries: Sequence[LoggedException]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        e = entry.exception
        head = (
            e.id,
            entry.client_id,
            e.hostname,
            entry.role,
            e.tier.value,
            e.failure_class.value,
            e.state.value,
            e.owner,
            " ".join(e.patches),
            e.summary,
            iso(e.opened_at),
            iso(e.acknowledged_at),
            iso(e.escalated_at),
            iso(e.resolved_at),
            e.reopened_count,
        )
        records: list[tuple[object, ...]] = [
            (h.seq, iso(h.at), h.actor, h.operator, h.action, h.outcome, h.note) for h in e.history
        ] or [(None,) * 7]
        for record in records:
            writer.writerow([csv_cell(value) for value in (*head, *record)])
    return out.getvalue()
