"""Technicians' approval decisions into the store.

Recording (``record_decision``): one ``approval_decisions`` row, one ``approval.decided``
event and one remediation-log record (action ``approval.<kind>``, actor and operator the
technician) in the caller's transaction; use a ``Database.writer()`` session. A request is
validated whole first and refused with every problem (``DecisionError``), writing nothing.
The emergency-patch metric counts ``approval_decisions`` rows whose decision is
``emergency``, by ``decided_at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.domain import ApprovalDecisionKind
from patchdesk.rules.scope import device_in_scope
from patchdesk.store.approval_policy import client_ids, load_blocklist, load_scope, scoped_device
from patchdesk.store.events import record_event
from patchdesk.store.models import ApprovalDecision, Client, Device, Patch, Site
from patchdesk.store.remediation_log import LogEntry, append

EVENT_KIND = "approval.decided"
MAX_OPERATOR = 100


class DecisionError(Exception):
    """A decision that cannot be recorded; ``problems``: one line each, for people."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class DecisionRequest:
    """A technician's decision. ``patch_id`` is the vendor id (KB number, package+version);
    ``hostnames`` are the devices of an emergency."""

    client_id: str
    patch_id: str
    kind: ApprovalDecisionKind
    operator: str
    reason: str = ""
    until: datetime | None = None
    hostnames: tuple[str, ...] = ()


def find_patch(session: Session, vendor_id: str) -> Patch | None:
    """The patch with this id, else the only one equal to it ignoring case."""
    exact = session.scalars(select(Patch).where(Patch.vendor_id == vendor_id)).first()
    if exact is not None:
        return exact
    folded = session.scalars(
        select(Patch).where(func.lower(Patch.vendor_id) == vendor_id.lower())
    ).all()
    return folded[0] if len(folded) == 1 else None


@dataclass(frozen=True)
class RecordedDecision:
    """What was written: the decision's id, client, patch (vendor id) and its log note."""

    id: int
    client_id: str
    patch_id: str
    note: str


def record_decision(
    session: Session, request: DecisionRequest, *, now: datetime
) -> RecordedDecision:
    """Validate ``request`` whole (``DecisionError`` with every problem), then write it."""
    problems = _request_problems(request, now)
    client = session.get(Client, request.client_id)
    if client is None:
        known = client_ids(session)
        hint = f" (known: {', '.join(known[:20])})" if known else " (run 'patchdesk policy apply')"
        problems.append(f"unknown client {request.client_id!r}{hint}")
    patch = find_patch(session, request.patch_id)
    if patch is None:
        problems.append(
            f"unknown patch {request.patch_id!r} (patches come from 'patchdesk inventory patches')"
        )
    else:
        problems += _blocklist_problems(session, patch, request.kind)
    devices: list[Device] = []
    if client is not None and request.kind is ApprovalDecisionKind.EMERGENCY:
        devices, device_problems = _emergency_devices(session, client.id, request.hostnames)
        problems += device_problems
    if problems or patch is None or client is None:
        raise DecisionError(problems)
    row = ApprovalDecision(
        client_id=client.id,
        patch_id=patch.id,
        decision=request.kind,
        until=request.until,
        reason=request.reason.strip(),
        device_ids=[device.id for device in devices],
        operator=request.operator,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    note = decision_note(row, patch.vendor_id, [device.hostname for device in devices])
    _log(session, row, patch, devices, note, now)
    return RecordedDecision(row.id, row.client_id, patch.vendor_id, note)


def _request_problems(request: DecisionRequest, now: datetime) -> list[str]:
    """What is wrong with the request on its own (no database needed)."""
    problems: list[str] = []
    kind = request.kind
    operator = request.operator.strip()
    if not operator:
        problems.append("operator: must not be blank (set --operator or the operator setting)")
    elif len(operator) > MAX_OPERATOR:
        problems.append(f"operator: longer than {MAX_OPERATOR} characters")
    if "\x00" in request.reason:
        problems.append("--reason: must not contain NUL characters")
    if kind in (ApprovalDecisionKind.BLOCK, ApprovalDecisionKind.EMERGENCY) and not (
        request.reason.strip()
    ):
        problems.append(f"--reason: required for {kind.value}: say why, for the log")
    if kind is ApprovalDecisionKind.DEFER:
        if request.until is None:
            problems.append("--until: required for defer: the date or time the patch may go")
        elif request.until <= now:
            problems.append(
                f"--until: {request.until.isoformat()} is not in the future "
                f"(now is {now.isoformat(timespec='seconds')})"
            )
    elif request.until is not None:
        problems.append(f"--until: only for defer, not {kind.value}")
    if kind is ApprovalDecisionKind.EMERGENCY:
        if not request.hostnames:
            problems.append("--device: an emergency needs at least one device")
    elif request.hostnames:
        problems.append(f"--device: only for emergency, not {kind.value}")
    return problems


def _blocklist_problems(session: Session, patch: Patch, kind: ApprovalDecisionKind) -> list[str]:
    if kind not in (ApprovalDecisionKind.APPROVE, ApprovalDecisionKind.EMERGENCY):
        return []
    entry = load_blocklist(session).find(patch.vendor_id)
    if entry is None:
        return []
    return [
        f"{patch.vendor_id} is on the global block list ({entry.reason}); the block list wins "
        "over every approval, so lift the block first"
    ]


def _emergency_devices(
    session: Session, client_id: str, hostnames: Iterable[str]
) -> tuple[list[Device], list[str]]:
    """The client's devices named by ``hostnames`` (ignoring case), and what is wrong."""
    rows = session.execute(
        select(Device, Site.name)
        .outerjoin(Site, Device.site_id == Site.id)
        .where(Device.client_id == client_id)
    )
    by_name: dict[str, list[tuple[Device, str | None]]] = defaultdict(list)
    for row_device, row_site in rows:
        by_name[row_device.hostname.casefold()].append((row_device, row_site))
    scope = load_scope(session, client_id)
    chosen: dict[int, Device] = {}
    problems: list[str] = []
    for hostname in hostnames:
        exact = [(d, s) for d, s in by_name.get(hostname.casefold(), []) if d.hostname == hostname]
        matches = exact or by_name.get(hostname.casefold(), [])
        if len(matches) != 1:
            problems.append(f"--device: {hostname!r} is not a device of client {client_id!r}")
            continue
        device, site = matches[0]
        if not device_in_scope(scope, scoped_device(device, site)):
            problems.append(
                f"--device: {device.hostname!r} is outside the patch scope of {client_id!r}; "
                "patchdesk never patches it"
            )
            continue
        chosen[device.id] = device
    return list(chosen.values()), problems


def _log(
    session: Session,
    row: ApprovalDecision,
    patch: Patch,
    devices: Sequence[Device],
    note: str,
    now: datetime,
) -> None:
    hostnames = [device.hostname for device in devices]
    payload: dict[str, Any] = {
        "decision": row.decision.value,
        "patch_id": patch.vendor_id,
        "patch": patch.id,
        "operator": row.operator,
        "reason": row.reason,
        "until": row.until.isoformat() if row.until else None,
        "device_ids": list(row.device_ids),
        "hostnames": hostnames,
        "emergency": row.decision is ApprovalDecisionKind.EMERGENCY,
    }
    record_event(
        session,
        at=now,
        kind=EVENT_KIND,
        entity="approval_decision",
        entity_id=row.id,
        client_id=row.client_id,
        payload=payload,
    )
    append(
        session,
        LogEntry(
            at=now,
            actor=row.operator,
            operator=row.operator,
            action=f"approval.{row.decision.value}",
            outcome="recorded",
            note=note,
            client_id=row.client_id,
            device_id=devices[0].id if len(devices) == 1 else None,
        ),
    )


def decision_note(row: ApprovalDecision, vendor_id: str, hostnames: Sequence[str]) -> str:
    """The remediation-log note: what was decided, on what, and why."""
    words = {
        ApprovalDecisionKind.APPROVE: f"approved {vendor_id}",
        ApprovalDecisionKind.BLOCK: f"blocked {vendor_id}",
        ApprovalDecisionKind.DEFER: f"deferred {vendor_id}"
        + (f" until {row.until.isoformat()}" if row.until else ""),
        ApprovalDecisionKind.EMERGENCY: f"emergency approval of {vendor_id} for "
        + ", ".join(hostnames),
    }[row.decision]
    return f"{words}: {row.reason}" if row.reason else words
