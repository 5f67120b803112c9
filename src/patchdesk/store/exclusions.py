"""Per-device patch exclusions: one patch the engine must not target on one device until a
technician lifts the exclusion.

An exclusion is made when the engine carries out an ``exclude_patch`` command (a
technician's remediation of an install exception: ``exclude``, in the engine's command
transaction, whose log record says it was done). It is lifted from the device screen (``l``)
or ``patchdesk exclusions lift ID`` (``lift``: its own transaction, one remediation-log
record about the device, action ``exclusion.lift``, and an ``exclusion.lifted`` event).
Lifted rows stay, with who lifted them and when.

What an active exclusion changes (each reads it here):

- approvals (``store.approval_inputs``): the device does not count as needing the patch, so no
  target of it gets the patch (windows and emergencies), and its ring does not wait for it;
- dispatch (``engine.skips``): a pending target loses the patch (skipped when nothing is
  left); an operator's install retry leaves it out;
- compliance (``store.compliance_facts``): the pair is not a due patch while the exclusion
  was active, as a patch blocked for the device would not be (a deliberate, logged decision
  by a named technician, shown on the device screen, not a gap in the patching).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from patchdesk.store import direct
from patchdesk.store import operator_input as clean
from patchdesk.store.db import Database, locked
from patchdesk.store.events import record_event
from patchdesk.store.models import Device, Patch, PatchExclusion
from patchdesk.store.operator_input import Refused
from patchdesk.store.remediation_log import LogEntry, append

__all__ = [
    "ExclusionView",
    "LiftResult",
    "Refused",
    "active_for_devices",
    "active_pairs",
    "device_exclusions",
    "exclude",
    "find_active",
    "lift",
    "list_exclusions",
    "pairs_at",
]


@dataclass(frozen=True)
class ExclusionView:
    """One exclusion with its device and patch (untrusted text inside: display escaped)."""

    id: int
    client_id: str
    device_id: int
    hostname: str
    patch_id: int
    vendor_id: str
    title: str
    reason: str
    exception_id: int | None
    excluded_by: str
    excluded_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_note: str

    @property
    def active(self) -> bool:
        return self.lifted_at is None


@dataclass(frozen=True)
class LiftResult:
    exclusion: ExclusionView
    record_seq: int
    message: str  # untrusted text inside (hostname, patch id)


# --- what the engine and the approvals read --------------------------------------------------

_ACTIVE_OF_CLIENT = select(PatchExclusion.device_id, PatchExclusion.patch_id).where(
    PatchExclusion.client_id == bindparam("client"), PatchExclusion.lifted_at.is_(None)
)
_ACTIVE_OF_DEVICES = select(PatchExclusion.device_id, PatchExclusion.patch_id).where(
    PatchExclusion.device_id.in_(bindparam("devices", expanding=True)),
    PatchExclusion.lifted_at.is_(None),
)


def active_pairs(session: Session, client_id: str) -> frozenset[tuple[int, int]]:
    """(device id, patch id) of the client's active exclusions."""
    session.flush()
    return frozenset(direct.rows(session.connection(), _ACTIVE_OF_CLIENT, {"client": client_id}))


def active_for_devices(session: Session, device_ids: Iterable[int]) -> frozenset[tuple[int, int]]:
    """(device id, patch id) of these devices' active exclusions."""
    ids = sorted(set(device_ids))
    if not ids:
        return frozenset()
    session.flush()
    return frozenset(direct.rows(session.connection(), _ACTIVE_OF_DEVICES, {"devices": ids}))


def pairs_at(session: Session, client_id: str, at: datetime) -> frozenset[tuple[int, int]]:
    """(device id, patch id) of the client's exclusions active at ``at`` (made by then and
    not lifted by then)."""
    rows = session.execute(
        select(PatchExclusion.device_id, PatchExclusion.patch_id).where(
            PatchExclusion.client_id == client_id,
            PatchExclusion.excluded_at <= at,
            or_(PatchExclusion.lifted_at.is_(None), PatchExclusion.lifted_at > at),
        )
    )
    return frozenset((device_id, patch_id) for device_id, patch_id in rows)


def find_active(session: Session, device_id: int, patch_id: int) -> PatchExclusion | None:
    return session.scalars(
        select(PatchExclusion).where(
            PatchExclusion.device_id == device_id,
            PatchExclusion.patch_id == patch_id,
            PatchExclusion.lifted_at.is_(None),
        )
    ).first()


# --- views -----------------------------------------------------------------------------------


def _view(row: PatchExclusion, hostname: str, vendor_id: str, title: str) -> ExclusionView:
    return ExclusionView(
        id=row.id,
        client_id=row.client_id,
        device_id=row.device_id,
        hostname=hostname,
        patch_id=row.patch_id,
        vendor_id=vendor_id,
        title=title,
        reason=row.reason,
        exception_id=row.exception_id,
        excluded_by=row.excluded_by,
        excluded_at=row.excluded_at,
        lifted_by=row.lifted_by,
        lifted_at=row.lifted_at,
        lift_note=row.lift_note,
    )


def list_exclusions(
    session: Session,
    *,
    client_id: str | None = None,
    device_id: int | None = None,
    include_lifted: bool = False,
    limit: int | None = None,
) -> tuple[ExclusionView, ...]:
    """Exclusions, active ones first (by client, host, patch), then lifted ones (the most
    recently lifted first) when ``include_lifted``."""
    statement = (
        select(PatchExclusion, Device.hostname, Patch.vendor_id, Patch.title)
        .join(Device, Device.id == PatchExclusion.device_id)
        .join(Patch, Patch.id == PatchExclusion.patch_id)
    )
    if client_id is not None:
        statement = statement.where(PatchExclusion.client_id == client_id)
    if device_id is not None:
        statement = statement.where(PatchExclusion.device_id == device_id)
    if not include_lifted:
        statement = statement.where(PatchExclusion.lifted_at.is_(None))
    views = [_view(*row) for row in session.execute(statement)]
    views.sort(
        key=lambda v: (
            not v.active,
            (v.client_id, v.hostname.casefold(), v.vendor_id) if v.active else ("", "", ""),
            -(v.lifted_at or v.excluded_at).timestamp() if not v.active else 0.0,
            v.id,
        )
    )
    return tuple(views[:limit] if limit is not None else views)


def device_exclusions(
    session: Session, device_id: int, *, lifted: int = 5
) -> tuple[ExclusionView, ...]:
    """The device's active exclusions, then its ``lifted`` most recently lifted ones."""
    everything = list_exclusions(session, device_id=device_id, include_lifted=True)
    active = [v for v in everything if v.active]
    return tuple(active + [v for v in everything if not v.active][:lifted])


# --- writing ---------------------------------------------------------------------------------


def exclude(
    session: Session,
    *,
    device_id: int,
    patch_id: int,
    reason: str,
    operator: str,
    now: datetime,
    exception_id: int | None = None,
    command_id: int | None = None,
) -> tuple[PatchExclusion, bool]:
    """Exclude the patch on the device in the caller's transaction; (the exclusion, True)
    when made now, (the one already active, False) otherwise. An ``exclusion.added`` event
    is written with a new one; the caller logs it (the engine's command record)."""
    existing = find_active(session, device_id, patch_id)
    if existing is not None:
        return existing, False
    device = session.get(Device, device_id)
    if device is None:
        raise Refused(f"no device with id {device_id}")
    row = PatchExclusion(
        client_id=device.client_id,
        device_id=device_id,
        patch_id=patch_id,
        reason=reason,
        exception_id=exception_id,
        command_id=command_id,
        excluded_by=operator,
        excluded_at=now,
        lift_note="",
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        at=now,
        kind="exclusion.added",
        entity="device",
        entity_id=device_id,
        client_id=device.client_id,
        payload={"exclusion": row.id, "patch": patch_id, "operator": operator},
    )
    return row, True


def lift(
    database: Database,
    exclusion_id: int,
    operator: str,
    *,
    now: datetime,
    note: str | None = None,
) -> LiftResult:
    """Lift an active exclusion as ``operator``: the engine targets the patch on the device
    again from its next window (if it is still approved and missing). One transaction with
    its log record and event; refused (writing nothing) when there is no such exclusion or
    it was lifted already."""
    operator = clean.name(operator)
    text = clean.note(note, required=False)
    now = clean.instant(now)
    with database.writer() as session:
        row = locked(session, PatchExclusion, exclusion_id)
        if row is None:
            raise Refused(f"no exclusion with id {exclusion_id}")
        device = session.get_one(Device, row.device_id)
        patch = session.get_one(Patch, row.patch_id)
        if row.lifted_at is not None:
            raise Refused(
                f"exclusion {row.id} of {patch.vendor_id} on {device.hostname} was lifted "
                f"already, by {row.lifted_by} at {row.lifted_at.astimezone(UTC):%Y-%m-%d %H:%M} "
                "UTC"
            )
        row.lifted_by = operator
        row.lifted_at = now
        row.lift_note = text
        record = append(
            session,
            LogEntry(
                at=now,
                actor=operator,
                operator=operator,
                action="exclusion.lift",
                outcome=f"{patch.vendor_id} targeted again"[: clean.MAX_OUTCOME],
                note=text,
                client_id=row.client_id,
                device_id=row.device_id,
            ),
        )
        record_event(
            session,
            at=now,
            kind="exclusion.lifted",
            entity="device",
            entity_id=row.device_id,
            client_id=row.client_id,
            payload={"exclusion": row.id, "patch": row.patch_id, "operator": operator},
        )
        view = _view(row, device.hostname, patch.vendor_id, patch.title)
        return LiftResult(
            exclusion=view,
            record_seq=record.seq,
            message=(
                f"exclusion lifted: {patch.vendor_id} is targeted on {device.hostname} again "
                "from its next window (when still approved and missing)"
            ),
        )
