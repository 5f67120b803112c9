"""What the approvals screen reads: the patches waiting for a technician, per client, and
the global block list.

The decisions come from the same functions as ``patchdesk approvals``: ``store.approval_inputs``
loads each client's inputs, ``rules.approval_rows`` decides and groups the devices of a
patch by identical decision (one line per ring for a client with rings). This module adds
what a screen needs beside them: the client's name and zone, the rule (or the missing rule
or ring) that sent a patch to manual approval, and how long the oldest of its devices has
been missing it. Pure reads; run them off the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.domain import Classification, MissingPatchState, Severity
from patchdesk.rules.approval import ApprovalState, DecidedBy, Decision, StateFilter
from patchdesk.rules.approval_rows import ApprovalRow, client_rows, filter_rows, patch_rows
from patchdesk.store.approval_inputs import load_approvals, load_client
from patchdesk.store.approval_policy import load_blocklist
from patchdesk.store.models import BlockedPatch, Client, Device, DevicePatch, Patch

NO_RING = "device in no ring"


@dataclass(frozen=True)
class ApprovalLine:
    """One decision on one patch of one client (a ring's devices, with rings), for a table.

    ``waiting_since``: when the first of the client's devices was found missing the patch.
    ``why``: the rule that decided, in words, or what stood in for one (no rule matched, the
    device is in no ring, a technician, the global block list)."""

    client_id: str
    client_name: str
    zone: str
    patch_id: str  # the vendor id (KB number, package+version)
    title: str
    product: str
    classification: Classification
    severity: Severity
    release_date: date
    state: ApprovalState
    reason: str
    why: str
    ring: str | None
    hostnames: tuple[str, ...]
    waiting_since: datetime | None
    emergency: bool = False
    decision_id: int | None = None  # the technician's decision in effect, if one is

    @property
    def devices(self) -> int:
        return len(self.hostnames)

    @property
    def key(self) -> str:
        """Unique per line: client, patch, the ring, and the decision (an emergency's devices
        are a line of their own)."""
        decision = "" if self.decision_id is None else str(self.decision_id)
        parts = (self.client_id, self.patch_id, self.ring or "", self.state.value, decision)
        return "\x1f".join(parts)


@dataclass(frozen=True)
class ApprovalsRead:
    lines: tuple[ApprovalLine, ...]
    clients: tuple[tuple[str, str], ...]  # (id, name) of every client, by id


def why(decision: Decision) -> str:
    """What decided, in a few words: ``rule 8 "Everything else"``, ``no rule matches`` ..."""
    if decision.decided_by is DecidedBy.NO_RING:
        return NO_RING
    if decision.rule is not None:
        return f'rule {decision.rule.number} "{decision.rule.name}"'
    return {
        DecidedBy.BLOCKLIST: "global block list",
        DecidedBy.EMERGENCY: "emergency",
        DecidedBy.MANUAL: "technician",
        DecidedBy.RULE: "rule",
        DecidedBy.NO_RULE: "no rule matches",
        DecidedBy.NO_RING: NO_RING,
    }[decision.decided_by]


def read_approvals(
    session: Session,
    *,
    now: datetime,
    state: StateFilter | None = StateFilter.PENDING,
    client_id: str | None = None,
) -> ApprovalsRead:
    """Every client's (or one client's) decisions in ``state`` (None: all), as of ``now``:
    clients by id, each client's patches newest release first (``client_rows``' order)."""
    facts = session.execute(select(Client.id, Client.name, Client.timezone).order_by(Client.id))
    zones: dict[str, str] = {}
    names: dict[str, str] = {}
    for cid, name, zone in facts:
        names[cid], zones[cid] = name, zone
    clients = tuple(names.items())
    blocklist = load_blocklist(session)
    lines: list[ApprovalLine] = []
    for loaded in load_approvals(session, client_id):
        rows = filter_rows(client_rows(loaded, blocklist=blocklist, now=now), state)
        if not rows:
            continue
        since = _waiting_since(session, loaded.client_id, {row.patch.vendor_id for row in rows})
        lines += (
            _line(row, names.get(row.client_id, ""), zones.get(row.client_id, "UTC"), since)
            for row in rows
        )
    return ApprovalsRead(tuple(lines), clients)


def _line(row: ApprovalRow, name: str, zone: str, since: dict[str, datetime]) -> ApprovalLine:
    patch = row.patch
    return ApprovalLine(
        client_id=row.client_id,
        client_name=name,
        zone=zone,
        patch_id=patch.vendor_id,
        title=patch.title,
        product=patch.product,
        classification=patch.classification,
        severity=patch.severity,
        release_date=patch.release_date,
        state=row.decision.state,
        reason=row.decision.reason,
        why=why(row.decision),
        ring=row.decision.ring,
        hostnames=row.hostnames,
        waiting_since=since.get(patch.vendor_id),
        emergency=row.decision.emergency,
        decision_id=None if row.decision.manual is None else row.decision.manual.id,
    )


def _waiting_since(session: Session, client_id: str, vendor_ids: set[str]) -> dict[str, datetime]:
    """Vendor id -> the earliest detection among the client's devices still missing it."""
    if not vendor_ids:
        return {}
    rows = session.execute(
        select(Patch.vendor_id, func.min(DevicePatch.detected_at))
        .join(DevicePatch, DevicePatch.patch_id == Patch.id)
        .join(Device, Device.id == DevicePatch.device_id)
        .where(
            Device.client_id == client_id,
            DevicePatch.state != MissingPatchState.INSTALLED,
            Patch.vendor_id.in_(sorted(vendor_ids)),
        )
        .group_by(Patch.vendor_id)
    )
    return {vendor_id: at for vendor_id, at in rows if at is not None}


# --- the devices an emergency may name ------------------------------------------------------


@dataclass(frozen=True)
class DeviceChoice:
    """A device of the client that needs the patch, with its decision now."""

    hostname: str
    state: ApprovalState
    ring: str | None
    emergency: bool  # an emergency approval already covers it


def devices_needing(
    session: Session, client_id: str, vendor_id: str, *, now: datetime
) -> list[DeviceChoice]:
    """Every in-scope device of the client that misses the patch, by hostname, with the
    decision that applies to it now (the same decision ``patchdesk approvals`` prints)."""
    loaded = load_client(session, client_id)
    if loaded is None:
        return []
    blocklist = load_blocklist(session)
    folded = vendor_id.casefold()
    choices: list[DeviceChoice] = []
    for need in loaded.needs:
        if need.patch.vendor_id.casefold() != folded:
            continue
        rows = patch_rows(client_id, need, policy=loaded.policy, blocklist=blocklist, now=now)
        for row in rows:
            choices += (
                DeviceChoice(
                    hostname, row.decision.state, row.decision.ring, row.decision.emergency
                )
                for hostname in row.hostnames
            )
    return sorted(choices, key=lambda choice: (choice.hostname.casefold(), choice.hostname))


# --- the global block list ------------------------------------------------------------------


@dataclass(frozen=True)
class BlockLine:
    """One entry of the global block list, with what patchdesk knows of the patch."""

    patch_id: str
    reason: str
    blocked_by: str
    blocked_at: datetime
    title: str | None  # None: no device has reported this patch yet
    devices_missing: int  # devices (of any client) that report it missing


def read_blocklist(session: Session) -> list[BlockLine]:
    """The global block list, by patch id (ignoring case)."""
    entries = session.scalars(select(BlockedPatch)).all()
    folded = sorted({entry.patch_vendor_id.casefold() for entry in entries})
    titles: dict[str, str] = {}
    missing: dict[str, int] = {}
    if folded:
        for vendor_id, title in session.execute(
            select(Patch.vendor_id, Patch.title).where(func.lower(Patch.vendor_id).in_(folded))
        ):
            titles.setdefault(vendor_id.casefold(), title)
        counts = session.execute(
            select(func.lower(Patch.vendor_id), func.count(DevicePatch.id))
            .join(DevicePatch, DevicePatch.patch_id == Patch.id)
            .where(
                func.lower(Patch.vendor_id).in_(folded),
                DevicePatch.state != MissingPatchState.INSTALLED,
            )
            .group_by(func.lower(Patch.vendor_id))
        )
        missing = {key: int(count) for key, count in counts}
    lines = [
        BlockLine(
            patch_id=entry.patch_vendor_id,
            reason=entry.reason,
            blocked_by=entry.blocked_by,
            blocked_at=entry.blocked_at,
            title=titles.get(entry.patch_vendor_id.casefold()),
            devices_missing=missing.get(entry.patch_vendor_id.casefold(), 0),
        )
        for entry in entries
    ]
    return sorted(lines, key=lambda line: (line.patch_id.casefold(), line.patch_id))
