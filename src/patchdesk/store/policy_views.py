"""Policy documents for a client's IT contact: markdown, or one JSON document.

The document is built from what is applied in the store (not from files): the client's patch
scope, maintenance windows, approval rules and rings, and the global block list. The JSON
``client`` and ``blocklist`` members use the policy-file structure, so they validate as a
policy file again; ``in_words`` holds the same sentences as the markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.policy import describe
from patchdesk.policy.describe import Lines
from patchdesk.policy.models import BlockEntry, ClientPolicy
from patchdesk.rules.calendar import Occurrence, next_occurrences
from patchdesk.store import policy_rows as rows
from patchdesk.store.models import (
    ApprovalRule,
    BlockedPatch,
    Client,
    ClientScope,
    MaintenanceWindow,
    Ring,
)
from patchdesk.store.window_views import spec_of
from patchdesk.text import printable

FORMAT = "patchdesk.policy-export/1"
NEXT_OCCURRENCES = 3


@dataclass(frozen=True)
class PolicyExport:
    client: ClientPolicy
    blocklist: list[BlockEntry]
    generated_at: datetime
    # window name -> its next occurrences after generated_at (open ones included)
    upcoming: dict[str, list[Occurrence]]


def read_export(session: Session, client_id: str, *, now: datetime) -> PolicyExport | None:
    """The applied policy of ``client_id`` (active windows only), or None for an unknown id.

    Raises pydantic.ValidationError when the stored client rows no longer form a valid policy.
    """
    client = session.get(Client, client_id)
    if client is None:
        return None
    windows = session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.client_id == client_id, MaintenanceWindow.active)
        .order_by(MaintenanceWindow.id)
    ).all()
    rules = session.scalars(
        select(ApprovalRule)
        .where(ApprovalRule.client_id == client_id)
        .order_by(ApprovalRule.position)
    ).all()
    rings = session.scalars(
        select(Ring).where(Ring.client_id == client_id).order_by(Ring.position)
    ).all()
    document = rows.client_document(
        client, session.get(ClientScope, client_id), list(windows), list(rules), list(rings)
    )
    blocked = session.scalars(select(BlockedPatch).order_by(BlockedPatch.patch_vendor_id)).all()
    return PolicyExport(
        client=ClientPolicy.model_validate(document),
        # Not validated: technicians also block patches outside policy files (with any reason).
        blocklist=[BlockEntry.model_construct(**rows.block_document(row)) for row in blocked],
        generated_at=now,
        upcoming={
            window.name: next_occurrences(
                spec_of(window), ZoneInfo(client.timezone), now, NEXT_OCCURRENCES
            )
            for window in windows
        },
    )


def known_client_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Client.id).order_by(Client.id)))


# --- JSON -----------------------------------------------------------------------------------


def export_json(export: PolicyExport) -> dict[str, Any]:
    client = export.client
    return {
        "format": FORMAT,
        "generated_at": export.generated_at.astimezone(UTC).isoformat(),
        "client": client.model_dump(mode="json", by_alias=True, exclude_none=True),
        "blocklist": [entry.model_dump(mode="json") for entry in export.blocklist],
        "in_words": {
            "scope": dict(describe.scope_lines(client.scope)),
            "windows": [
                {"name": window.name, **dict(describe.window_lines(window, client.timezone))}
                for window in client.windows
            ],
            "next_occurrences": {
                name: [_occurrence_json(o) for o in found]
                for name, found in export.upcoming.items()
            },
            "approval_rules": [describe.rule_text(rule) for rule in client.approval_rules],
            "unmatched_patches": describe.unmatched_text(client.approval_rules),
            "rings": [
                f"{ring.name}: {describe.ring_text(ring, index == len(client.rings) - 1)}"
                for index, ring in enumerate(client.rings)
            ],
            "blocklist": [
                f"{entry.patch_id}: {describe.block_text(entry)}" for entry in export.blocklist
            ],
        },
    }


def _occurrence_json(occurrence: Occurrence) -> dict[str, str]:
    return {
        "start_local": occurrence.start_local.isoformat(),
        "end_local": occurrence.end_local.isoformat(),
        "start_utc": occurrence.start_utc.isoformat(),
        "end_utc": occurrence.end_utc.isoformat(),
    }


# --- markdown -------------------------------------------------------------------------------

_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~])")


def md(text: str) -> str:
    """Policy text made inert in markdown: through ``printable`` (control characters
    dropped, newlines and tabs as spaces, invisible and bidi characters as ``<U+XXXX>``),
    then markup escaped."""
    return _MARKDOWN.sub(r"\\\1", printable(text))


def md_code(text: str) -> str:
    """Text as a markdown code span (shown exactly, nothing to escape but backticks)."""
    return "`` " + printable(text).replace("`", "'") + " ``"


def export_markdown(export: PolicyExport) -> str:
    client = export.client
    sections = [
        _title(export),
        _section("Patch scope", _bullets(describe.scope_lines(client.scope, md))),
        _windows(client, export.upcoming),
        _rules(client),
        _rings(client),
        _blocklist(export.blocklist),
    ]
    return "\n\n".join(sections) + "\n"


def _title(export: PolicyExport) -> str:
    client = export.client
    generated = export.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"# Patch policy: {md(client.name)}\n\n"
        f"Client id: {md(client.id)} · Time zone: {client.timezone} · "
        f"SLA tier: {client.sla_tier}  \n"
        f"Generated {generated} from the policy applied in patchdesk."
    )


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body}"


def _bullets(lines: Lines) -> str:
    return "\n".join(f"- **{label}:** {text}" for label, text in lines)


def _windows(client: ClientPolicy, upcoming: dict[str, list[Occurrence]]) -> str:
    if not client.windows:
        return _section("Maintenance windows", describe.NO_WINDOWS)
    parts = [describe.wall_clock_note(client.timezone)]
    for window in client.windows:
        parts.append(
            f"### {md(window.name)}\n\n"
            + _bullets(describe.window_lines(window, client.timezone, md))
            + _next_lines(upcoming.get(window.name, []))
        )
    return _section("Maintenance windows", "\n\n".join(parts))


def _next_lines(found: list[Occurrence]) -> str:
    if not found:
        return "\n- **Next:** no occurrence in the next ten years (blacked out)"
    lines = ["\n- **Next:**"]
    for occurrence in found:
        start, end = occurrence.start_local, occurrence.end_local
        end_day = "" if end.date() == start.date() else f"{end:%a} "
        utc_start, utc_end = occurrence.start_utc, occurrence.end_utc
        utc_end_text = (
            f"{utc_end:%H:%M}" if utc_end.date() == utc_start.date() else f"{utc_end:%m-%d %H:%M}"
        )
        lines.append(
            f"  - {start:%a %Y-%m-%d %H:%M} {start.tzname()} to {end_day}{end:%H:%M} "
            f"{end.tzname()} ({utc_start:%Y-%m-%d %H:%M}–{utc_end_text} UTC)"
        )
    return "\n".join(lines)


def _rules(client: ClientPolicy) -> str:
    unmatched = describe.unmatched_text(client.approval_rules)
    if not client.approval_rules:
        return _section("Approval rules", f"No approval rules. {unmatched}")
    items = [
        f"{number}. **{md(rule.name)}**: {describe.rule_text(rule, md, md_code)}"
        for number, rule in enumerate(client.approval_rules, start=1)
    ]
    tail = ["", unmatched] if unmatched else []
    return _section("Approval rules", "\n".join([describe.RULES_INTRO, "", *items, *tail]))


def _rings(client: ClientPolicy) -> str:
    if not client.rings:
        return _section("Deployment rings", describe.NO_RINGS)
    last = len(client.rings) - 1
    items = [
        f"{number}. **{md(ring.name)}**: {describe.ring_text(ring, number - 1 == last, md)}"
        for number, ring in enumerate(client.rings, start=1)
    ]
    return _section("Deployment rings", "\n".join([describe.RINGS_INTRO, "", *items]))


def _blocklist(entries: list[BlockEntry]) -> str:
    if not entries:
        return _section("Global block list", "No patches are blocked globally.")
    items = [f"- **{md(entry.patch_id)}**: {describe.block_text(entry, md)}" for entry in entries]
    intro = "These patches are never installed, for any client, whatever the rules above say:"
    return _section("Global block list", "\n".join([intro, "", *items]))
