"""Reading exceptions for people: the filtered queue (paged, triage order) and one
exception's full detail (device, client, patches, remediation history, operator commands).

Rows are plain frozen values, safe to hand from a worker thread to a screen. Their text
(hostnames, patch titles, notes, command results, owners) is untrusted and stored as given:
whatever displays it must escape it (``patchdesk.text.printable``, markup off in Textual).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select
from sqlalchemy.orm import Session

from patchdesk.domain import (
    Criticality,
    ExceptionState,
    FailureClass,
    MissingPatchState,
    OsFamily,
    RequestKind,
    RequestState,
    Role,
    Tier,
)
from patchdesk.rules.presence import DEFAULT_STALE_AFTER, Presence, presence
from patchdesk.rules.response_paths import Action, actions_for
from patchdesk.store.models import (
    Client,
    Device,
    EngineLease,
    OperatorRequest,
    Patch,
    PatchException,
    RemediationRecord,
    Site,
    TargetPatch,
)
from patchdesk.store.triage_order import TRIAGE_ORDER

LEASE_NAME = "engine"  # engine.lease.LEASE_NAME

_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")

UNRESOLVED: frozenset[ExceptionState] = frozenset(ExceptionState) - {ExceptionState.RESOLVED}
ALL_STATES: frozenset[ExceptionState] = frozenset(ExceptionState)


def unresolved() -> ColumnElement[bool]:
    """``state <> 'resolved'`` with the value written as a literal, exactly as the partial
    indexes over open exceptions say it: SQLite uses those indexes fully only when the
    predicate matches literally (with a bound parameter it checks every row's state in the
    table: 16 ms instead of 0.5 ms to count 10,000 open exceptions)."""
    return PatchException.state != literal_column(f"'{ExceptionState.RESOLVED.value}'")


@dataclass(frozen=True)
class QueueFilter:
    """Which exceptions to list. Every criterion given must hold.

    ``states``: the default is every unresolved state (the open queue); ``ALL_STATES``
    includes resolved ones. ``owner``: exactly this owner ("mine"); ``unassigned``: nobody owns
    it. ``search``: case-insensitive text in the hostname, client id or name, summary or
    owner. ``opened_since`` / ``resolved_since``: at or after that time.
    """

    client_id: str | None = None
    tier: Tier | None = None
    failure_class: FailureClass | None = None
    states: Collection[ExceptionState] = UNRESOLVED
    owner: str | None = None
    unassigned: bool = False
    search: str | None = None
    opened_since: datetime | None = None
    resolved_since: datetime | None = None


@dataclass(frozen=True)
class QueueRow:
    """One exception as the queue shows it; ``patches`` are vendor ids (KB numbers ...).

    ``failed_patches``: those of ``patches`` that failed: whose install failed on the
    exception's latest target, or, when none did (the reboot, the check-in or a health check
    failed after they installed), all of them."""

    id: int
    tier: Tier
    client_id: str
    client_name: str
    device_id: int
    hostname: str
    role: Role
    criticality: Criticality
    failure_class: FailureClass
    state: ExceptionState
    owner: str | None
    summary: str
    patch_ids: tuple[int, ...]
    patches: tuple[str, ...]
    opened_at: datetime
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    reopened_count: int
    last_action: str | None
    last_action_at: datetime | None
    updated_at: datetime
    failed_patches: tuple[str, ...] = ()

    def age(self, now: datetime) -> timedelta:
        """Time since it was opened (a reopened exception keeps its first opening)."""
        return now - self.opened_at


def queue_rows(
    session: Session, query: QueueFilter | None = None, *, offset: int = 0, limit: int = 200
) -> list[QueueRow]:
    """A page of the exceptions ``query`` selects, in triage order."""
    found = session.execute(queue_statement(query).offset(offset).limit(limit)).all()
    vendor_ids = _vendor_ids(session, {p for row in found for p in row[0].patch_ids})
    failed = failed_installs(session, {row[0].target_id for row in found})
    return [
        _row(exception, hostname, role, criticality, client_name, vendor_ids, failed)
        for exception, hostname, role, criticality, client_name in found
    ]


def queue_statement(
    query: QueueFilter | None = None,
) -> Select[PatchException, str, Role, Criticality, str]:
    """The SELECT behind ``queue_rows`` (exception, hostname, role, criticality, client
    name) in triage order; unresolved-only queries walk the ``ix_exceptions_triage`` index."""
    return _filtered(_base(), query or QueueFilter()).order_by(*TRIAGE_ORDER)


def count_queue(session: Session, query: QueueFilter | None = None) -> int:
    """How many exceptions ``query`` selects."""
    statement = _filtered(
        select(func.count(PatchException.id))
        .select_from(PatchException)
        .join(Device, Device.id == PatchException.device_id)
        .join(Client, Client.id == PatchException.client_id),
        query or QueueFilter(),
    )
    return int(session.scalar(statement) or 0)


def queue_row(session: Session, exception_id: int) -> QueueRow | None:
    """One exception as a queue row (any state), or None."""
    found = session.execute(_base().where(PatchException.id == exception_id)).first()
    if found is None:
        return None
    exception, hostname, role, criticality, client_name = found
    vendor_ids = _vendor_ids(session, set(exception.patch_ids))
    failed = failed_installs(session, {exception.target_id})
    return _row(exception, hostname, role, criticality, client_name, vendor_ids, failed)


# --- one exception in full ------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceView:
    id: int
    hostname: str
    role: Role
    criticality: Criticality
    os_family: OsFamily
    os_name: str
    os_version: str
    site: str | None
    tags: tuple[str, ...]
    maintenance_mode: bool
    online: bool | None
    last_seen: datetime | None
    last_boot: datetime | None
    fleet_read_at: datetime | None = None  # when an engine last read the fleet

    def presence(self, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER) -> Presence:
        """online, stale, offline or unknown, at ``now`` (``rules.presence``)."""
        return presence(self.online, self.last_seen, now, stale_after, self.fleet_read_at)


@dataclass(frozen=True)
class PatchView:
    id: int
    vendor_id: str
    title: str
    classification: str
    severity: str
    reboot_required: bool


@dataclass(frozen=True)
class HistoryEntry:
    """One remediation-log record about the exception (technicians' and the engine's)."""

    seq: int
    at: datetime
    actor: str
    operator: str
    action: str
    outcome: str
    note: str

    @classmethod
    def of(cls, record: RemediationRecord) -> HistoryEntry:
        return cls(record.seq, record.at, record.actor, record.operator, record.action,
                   record.outcome, record.note)  # fmt: skip


@dataclass(frozen=True)
class RequestView:
    """An operator command for the exception: queued, running, or finished with its result."""

    id: int
    kind: RequestKind
    state: RequestState
    patch: str | None  # vendor id
    args: Mapping[str, Any]
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    result: str
    not_before: datetime | None = None  # a scheduled reboot's time

    @classmethod
    def of(cls, command: OperatorRequest, vendor_id: str | None) -> RequestView:
        """The view of a stored command (``vendor_id``: of its patch, if it names one)."""
        return cls(
            id=command.id,
            kind=command.kind,
            state=command.state,
            patch=vendor_id,
            args=dict(command.args),
            requested_by=command.requested_by,
            requested_at=command.requested_at,
            started_at=command.started_at,
            completed_at=command.completed_at,
            result=command.result,
            not_before=command.not_before,
        )


@dataclass(frozen=True)
class ExceptionDetail:
    """Everything the detail view and ``patchdesk exceptions show`` need."""

    exception: QueueRow
    client_timezone: str
    device: DeviceView
    patches: tuple[PatchView, ...]
    history: tuple[HistoryEntry, ...]
    commands: tuple[RequestView, ...]
    # actions_for(class): the response path, then the common actions. Pass any of their ids
    # to exception_ops.log_remediation. "resolve" carries RequestKind.RESOLVE in classify but
    # is written directly by exception_ops.resolve, never queued for the engine.
    actions: tuple[Action, ...]


def fleet_read_at(session: Session) -> datetime | None:
    """When an engine last read the fleet: the lease's last renewal, while a lease is held
    (an engine holding it reads the fleet at every step; a stopped engine releases it)."""
    lease = session.get(EngineLease, LEASE_NAME)
    return None if lease is None else lease.renewed_at


def exception_detail(session: Session, exception_id: int) -> ExceptionDetail | None:
    row = queue_row(session, exception_id)
    if row is None:
        return None
    device, site = session.execute(
        select(Device, Site.name)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Device.id == row.device_id)
    ).one()
    client = session.get(Client, row.client_id)
    patches = session.scalars(select(Patch).where(Patch.id.in_(row.patch_ids))).all()
    by_id = {patch.id: patch for patch in patches}
    records = session.scalars(
        select(RemediationRecord)
        .where(RemediationRecord.exception_id == exception_id)
        .order_by(RemediationRecord.seq)
    ).all()
    commands = session.execute(
        select(OperatorRequest, Patch.vendor_id)
        .outerjoin(Patch, Patch.id == OperatorRequest.patch_id)
        .where(OperatorRequest.exception_id == exception_id)
        .order_by(OperatorRequest.id)
    ).all()
    return ExceptionDetail(
        exception=row,
        client_timezone=client.timezone if client is not None else "UTC",
        device=DeviceView(
            id=device.id,
            hostname=device.hostname,
            role=device.role,
            criticality=device.criticality,
            os_family=device.os_family,
            os_name=device.os_name,
            os_version=device.os_version,
            site=site,
            tags=tuple(device.tags),
            maintenance_mode=device.maintenance_mode,
            online=device.online,
            last_seen=device.last_seen,
            last_boot=device.last_boot,
            fleet_read_at=fleet_read_at(session),
        ),
        patches=tuple(_patch_view(by_id[pid]) for pid in row.patch_ids if pid in by_id),
        history=tuple(HistoryEntry.of(record) for record in records),
        commands=tuple(RequestView.of(command, vendor_id) for command, vendor_id in commands),
        actions=actions_for(row.failure_class),
    )


# --- the machinery --------------------------------------------------------------------------


def _base() -> Select[PatchException, str, Role, Criticality, str]:
    return (
        select(PatchException, Device.hostname, Device.role, Device.criticality, Client.name)
        .join(Device, Device.id == PatchException.device_id)
        .join(Client, Client.id == PatchException.client_id)
    )


def _filtered(statement: _S, query: QueueFilter) -> _S:
    states = frozenset(query.states)
    if states == UNRESOLVED:
        # The same predicate as the triage index's WHERE, so the planner can use it.
        statement = statement.where(unresolved())
    elif states != ALL_STATES:
        statement = statement.where(PatchException.state.in_(sorted(states)))
    if query.client_id is not None:
        statement = statement.where(PatchException.client_id == query.client_id)
    if query.tier is not None:
        statement = statement.where(PatchException.tier == query.tier)
    if query.failure_class is not None:
        statement = statement.where(PatchException.failure_class == query.failure_class)
    if query.owner is not None:
        statement = statement.where(PatchException.owner == query.owner)
    if query.unassigned:
        statement = statement.where(PatchException.owner.is_(None))
    if query.opened_since is not None:
        statement = statement.where(PatchException.opened_at >= query.opened_since)
    if query.resolved_since is not None:
        statement = statement.where(PatchException.resolved_at >= query.resolved_since)
    term = (query.search or "").strip().lower()
    if term:
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(term, autoescape=True)
                    for column in (
                        Device.hostname,
                        PatchException.client_id,
                        Client.name,
                        PatchException.summary,
                        PatchException.owner,
                    )
                )
            )
        )
    return statement


def _vendor_ids(session: Session, patch_ids: set[int]) -> dict[int, str]:
    if not patch_ids:
        return {}
    rows = session.execute(
        select(Patch.id, Patch.vendor_id).where(Patch.id.in_(sorted(patch_ids)))
    ).all()
    return {patch_id: vendor_id for patch_id, vendor_id in rows}


def failed_installs(
    session: Session, target_ids: Collection[int | None]
) -> dict[int, frozenset[int]]:
    """For each of these targets that has some, the patches whose install failed on it."""
    wanted = sorted(t for t in set(target_ids) if t is not None)
    failed: dict[int, set[int]] = {}
    for start in range(0, len(wanted), 500):
        for target_id, patch_id in session.execute(
            select(TargetPatch.target_id, TargetPatch.patch_id).where(
                TargetPatch.target_id.in_(wanted[start : start + 500]),
                TargetPatch.state == MissingPatchState.FAILED,
            )
        ):
            failed.setdefault(target_id, set()).add(patch_id)
    return {target_id: frozenset(ids) for target_id, ids in failed.items()}


def failed_patches(
    patch_ids: Sequence[int], vendor_ids: Sequence[str], failed: frozenset[int]
) -> tuple[str, ...]:
    """The vendor ids of the patches that failed (``QueueRow.failed_patches``): those in
    ``failed`` (their install failed), else all of them."""
    chosen = tuple(v for p, v in zip(patch_ids, vendor_ids, strict=True) if p in failed)
    return chosen or tuple(vendor_ids)


def _row(
    exception: PatchException,
    hostname: str,
    role: Role,
    criticality: Criticality,
    client_name: str,
    vendor_ids: Mapping[int, str],
    failed: Mapping[int, frozenset[int]],
) -> QueueRow:
    patch_ids = tuple(int(p) for p in exception.patch_ids)
    patches = tuple(vendor_ids.get(p, f"#{p}") for p in patch_ids)
    target = exception.target_id
    return QueueRow(
        id=exception.id,
        tier=exception.tier,
        client_id=exception.client_id,
        client_name=client_name,
        device_id=exception.device_id,
        hostname=hostname,
        role=role,
        criticality=criticality,
        failure_class=exception.failure_class,
        state=exception.state,
        owner=exception.owner,
        summary=exception.summary,
        patch_ids=patch_ids,
        patches=patches,
        opened_at=exception.opened_at,
        acknowledged_at=exception.acknowledged_at,
        escalated_at=exception.escalated_at,
        resolved_at=exception.resolved_at,
        reopened_count=exception.reopened_count,
        last_action=exception.last_action,
        last_action_at=exception.last_action_at,
        updated_at=exception.updated_at,
        failed_patches=failed_patches(
            patch_ids, patches, failed.get(target, frozenset()) if target else frozenset()
        ),
    )


def _patch_view(patch: Patch) -> PatchView:
    return PatchView(
        id=patch.id,
        vendor_id=patch.vendor_id,
        title=patch.title,
        classification=patch.classification.value,
        severity=patch.severity.value,
        reboot_required=patch.reboot_required,
    )


def tier_counts(rows: Sequence[tuple[Tier, int]]) -> dict[Tier, int]:
    """Counts per tier with every tier present (zero when none)."""
    counts = dict.fromkeys(Tier, 0)
    for tier, count in rows:
        counts[tier] = count
    return counts
