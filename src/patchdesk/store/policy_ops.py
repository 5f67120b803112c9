"""Writing validated policies to the store, in the caller's transaction.

``apply_policies`` compares each client's stored policy with the files and writes only what
differs, so applying the same files twice changes nothing (no row, event or audit record):

- the client row is upserted by id; its ``updated_at`` moves only when its own fields change;
- the scope is one row per client;
- windows are keyed by (client, name): a window no longer in the file is marked inactive, not
  deleted (deployments point at it), and comes back active when it returns; blackouts are
  replaced when they differ;
- approval rules and rings are ordered lists, replaced whole (delete + insert) when they differ;
- block-list entries are upserted by patch id. Entries missing from the files stay: lifting a
  block is a technician's action, not something a policy file does by leaving a line out.

Each changed client gets one ``policy.applied`` event and one remediation-log record; a
changed block list gets one of each too (with no client).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from patchdesk.policy.load import PolicySet
from patchdesk.policy.models import BlockEntry, ClientPolicy, Window
from patchdesk.store import policy_rows as rows
from patchdesk.store.events import record_event
from patchdesk.store.models import (
    ApprovalRule,
    BlockedPatch,
    Client,
    ClientScope,
    MaintenanceWindow,
    Ring,
    WindowBlackout,
)
from patchdesk.store.remediation_log import LogEntry, append

EVENT_KIND = "policy.applied"
AUDIT_ACTION = "policy.apply"


@dataclass
class ClientChanges:
    """What one apply changed for one client (empty lists: nothing of that kind)."""

    client_id: str
    created: bool = False
    fields: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)
    windows_added: list[str] = field(default_factory=list)
    windows_changed: dict[str, list[str]] = field(default_factory=dict)
    windows_reactivated: list[str] = field(default_factory=list)
    windows_deactivated: list[str] = field(default_factory=list)
    approval_rules: int | None = None  # the new number of rules, when they were replaced
    rings: int | None = None  # likewise for rings

    @property
    def changed(self) -> bool:
        return self.created or any(
            (
                self.fields,
                self.scope,
                self.windows_added,
                self.windows_changed,
                self.windows_reactivated,
                self.windows_deactivated,
                self.approval_rules is not None,
                self.rings is not None,
            )
        )

    def summary(self) -> str:
        """One line for people: what changed, or "unchanged"."""
        if self.created:
            return (
                f"created with {_count(len(self.windows_added), 'window')}, "
                f"{_count(self.approval_rules or 0, 'approval rule')}, "
                f"{_count(self.rings or 0, 'ring')}"
            )
        parts: list[str] = []
        if self.fields:
            parts.append(f"{', '.join(self.fields)} changed")
        if self.scope:
            parts.append(f"scope changed ({', '.join(self.scope)})")
        parts += [f"window {name!r} added" for name in self.windows_added]
        parts += [f"window {name!r} reactivated" for name in self.windows_reactivated]
        parts += [
            f"window {name!r} changed ({', '.join(keys)})"
            for name, keys in self.windows_changed.items()
        ]
        parts += [
            f"window {name!r} deactivated (no longer in the policy)"
            for name in self.windows_deactivated
        ]
        if self.approval_rules is not None:
            parts.append(f"approval rules replaced ({_count(self.approval_rules, 'rule')})")
        if self.rings is not None:
            parts.append(f"rings replaced ({_count(self.rings, 'ring')})")
        return "; ".join(parts) or "unchanged"

    def payload(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


@dataclass
class BlocklistChanges:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)

    def summary(self) -> str:
        parts = [
            f"{verb} {', '.join(ids)}"
            for verb, ids in (("added", self.added), ("updated", self.updated))
            if ids
        ]
        return "; ".join(parts) or "unchanged"


@dataclass
class ApplyReport:
    clients: list[ClientChanges]
    blocklist: BlocklistChanges
    blocklist_entries: int

    @property
    def changed(self) -> bool:
        return self.blocklist.changed or any(client.changed for client in self.clients)


def apply_policies(
    session: Session, policies: PolicySet, *, now: datetime, operator: str
) -> ApplyReport:
    """Bring the store in line with ``policies``; the caller's session commits or rolls back."""
    report = ApplyReport(
        clients=[_apply_client(session, client, now) for client in policies.clients],
        blocklist=_apply_blocklist(session, policies.blocklist),
        blocklist_entries=len(policies.blocklist),
    )
    for changes in report.clients:
        if changes.changed:
            _log(session, now, operator, changes.client_id, changes.summary(), changes.payload())
    if report.blocklist.changed:
        note = f"block list: {report.blocklist.summary()}"
        _log(session, now, operator, None, note, {**asdict(report.blocklist), "summary": note})
    return report


def _log(
    session: Session,
    now: datetime,
    operator: str,
    client_id: str | None,
    note: str,
    payload: dict[str, Any],
) -> None:
    record_event(
        session,
        at=now,
        kind=EVENT_KIND,
        entity="client" if client_id else "blocklist",
        entity_id=client_id or "global",
        client_id=client_id,
        payload=payload,
    )
    append(
        session,
        LogEntry(
            at=now,
            actor=operator,
            operator=operator,
            action=AUDIT_ACTION,
            outcome="applied",
            note=note,
            client_id=client_id,
        ),
    )


# --- one client -----------------------------------------------------------------------------


def _apply_client(session: Session, policy: ClientPolicy, now: datetime) -> ClientChanges:
    changes = ClientChanges(policy.id)
    _sync_client(session, policy, now, changes)
    _sync_scope(session, policy, changes)
    _sync_windows(session, policy, now, changes)
    _sync_rules(session, policy, changes)
    _sync_rings(session, policy, changes)
    return changes


def _sync_client(
    session: Session, policy: ClientPolicy, now: datetime, changes: ClientChanges
) -> None:
    wanted = rows.client_columns(policy)
    row = session.get(Client, policy.id)
    if row is None:
        session.add(Client(id=policy.id, created_at=now, updated_at=now, **wanted))
        session.flush()  # the policy rows below refer to it
        changes.created = True
        return
    changes.fields = rows.changed_columns(row, wanted)
    if changes.fields:
        _assign(row, wanted)
        row.updated_at = now


def _sync_scope(session: Session, policy: ClientPolicy, changes: ClientChanges) -> None:
    wanted = rows.scope_columns(policy.scope)
    row = session.get(ClientScope, policy.id)
    if row is None:
        session.add(ClientScope(client_id=policy.id, **wanted))
        if not changes.created:
            changes.scope = ["created"]
        return
    changes.scope = rows.changed_columns(row, wanted)
    _assign(row, wanted)


def _sync_windows(
    session: Session, policy: ClientPolicy, now: datetime, changes: ClientChanges
) -> None:
    stored = {
        row.name: row
        for row in session.scalars(
            select(MaintenanceWindow).where(MaintenanceWindow.client_id == policy.id)
        )
    }
    for window in policy.windows:
        row = stored.pop(window.name, None)
        if row is None:
            session.add(_new_window(policy.id, window, now))
            changes.windows_added.append(window.name)
            continue
        changed = _update_window(row, window)
        if not row.active:
            row.active = True
            row.updated_at = now
            changes.windows_reactivated.append(window.name)
        elif changed:
            row.updated_at = now
            changes.windows_changed[window.name] = changed
    for name, row in stored.items():
        if row.active:
            row.active = False
            row.updated_at = now
            changes.windows_deactivated.append(name)


def _new_window(client_id: str, window: Window, now: datetime) -> MaintenanceWindow:
    return MaintenanceWindow(
        client_id=client_id,
        name=window.name,
        active=True,
        updated_at=now,
        blackouts=_blackout_rows(window),
        **rows.window_columns(window),
    )


def _update_window(row: MaintenanceWindow, window: Window) -> list[str]:
    """Bring ``row`` in line with ``window``; the file keys that changed."""
    wanted = rows.window_columns(window)
    changed = rows.file_keys(rows.changed_columns(row, wanted))
    _assign(row, wanted)
    if rows.stored_blackouts(row) != rows.blackout_values(window):
        row.blackouts = _blackout_rows(window)
        changed.append("blackouts")
    return changed


def _blackout_rows(window: Window) -> list[WindowBlackout]:
    return [
        WindowBlackout(start_date=start, end_date=end, reason=reason)
        for start, end, reason in rows.blackout_values(window)
    ]


def _sync_rules(session: Session, policy: ClientPolicy, changes: ClientChanges) -> None:
    stored = session.scalars(
        select(ApprovalRule)
        .where(ApprovalRule.client_id == policy.id)
        .order_by(ApprovalRule.position)
    ).all()
    wanted = rows.rule_values(policy.approval_rules)
    if rows.stored_rules(list(stored)) == wanted:
        return
    session.execute(delete(ApprovalRule).where(ApprovalRule.client_id == policy.id))
    session.add_all(
        ApprovalRule(
            client_id=policy.id, position=position, name=name, match=match, action=action, days=days
        )
        for position, (name, match, action, days) in enumerate(wanted)
    )
    changes.approval_rules = len(wanted)


def _sync_rings(session: Session, policy: ClientPolicy, changes: ClientChanges) -> None:
    stored = session.scalars(
        select(Ring).where(Ring.client_id == policy.id).order_by(Ring.position)
    ).all()
    wanted = rows.ring_values(policy.rings)
    if rows.stored_rings(list(stored)) == wanted:
        return
    session.execute(delete(Ring).where(Ring.client_id == policy.id))
    session.add_all(
        Ring(
            client_id=policy.id,
            position=position,
            name=name,
            tags=tags,
            soak_hours=soak_hours,
            min_success_rate=rate,
        )
        for position, (name, tags, soak_hours, rate) in enumerate(wanted)
    )
    changes.rings = len(wanted)


# --- the block list -------------------------------------------------------------------------


def _apply_blocklist(session: Session, entries: list[BlockEntry]) -> BlocklistChanges:
    changes = BlocklistChanges()
    if not entries:
        return changes
    ids = [entry.patch_id for entry in entries]
    stored = {
        row.patch_vendor_id: row
        for row in session.scalars(
            select(BlockedPatch).where(BlockedPatch.patch_vendor_id.in_(ids))
        )
    }
    for entry in entries:
        wanted = rows.block_columns(entry)
        row = stored.get(entry.patch_id)
        if row is None:
            session.add(BlockedPatch(patch_vendor_id=entry.patch_id, **wanted))
            changes.added.append(entry.patch_id)
        elif rows.changed_columns(row, wanted):
            _assign(row, wanted)
            changes.updated.append(entry.patch_id)
    return changes


def _assign(row: object, values: rows.Columns) -> None:
    for column, value in values.items():
        if getattr(row, column) != value:
            setattr(row, column, value)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
