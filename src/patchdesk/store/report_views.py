"""The post-patch report's data for one client and cycle (``store.report_model``).

Deployments are the cycle's when their occurrence started in the cycle (the client's local
Patch Tuesday to the next). Exceptions are the cycle's when they were opened or resolved in
it, or came from one of its deployments; each comes with its whole remediation history.
Emergency patches are the emergency approvals decided in the cycle.

A window's ``scheduled_end`` comes from its schedule, not from the deployment row (whose end
a retry after the window moves later); ``next_windows`` are the client's active windows'
next occurrences after ``as_of``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import CLASS_RANK, ApprovalDecisionKind, TargetState, tier_of
from patchdesk.rules.calendar import next_occurrences, occurrence_on
from patchdesk.rules.metrics.compliance import compliance
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.metrics.failures import failure_class_of
from patchdesk.rules.metrics.mttr import mttr
from patchdesk.rules.scope import device_in_scope
from patchdesk.store.approval_policy import load_scope, scoped_device
from patchdesk.store.compliance_facts import compliance_facts
from patchdesk.store.exception_log import exception_line
from patchdesk.store.metric_views import resolutions
from patchdesk.store.models import (
    ApprovalDecision,
    Client,
    ClientScope,
    Deployment,
    Device,
    MaintenanceWindow,
    Patch,
    PatchException,
    RemediationRecord,
    Site,
    Target,
    TargetPatch,
)
from patchdesk.store.report_model import (
    CycleReport,
    EmergencyLine,
    ExceptionLine,
    NextWindow,
    PatchLine,
    RemediationLine,
    ScopeSummary,
    TargetLine,
    WindowUsed,
)
from patchdesk.store.window_views import spec_of

EMERGENCY_NAME = "Emergency deployment"


def cycle_report(
    session: Session, client_id: str, cycle: Cycle, now: datetime
) -> CycleReport | None:
    """The report, or None for an unknown client."""
    client = session.get(Client, client_id)
    if client is None:
        return None
    zone = ZoneInfo(client.timezone)
    start, end = cycle.bounds(zone)
    as_of = min(end, now)
    before_at = min(start, now)
    before = compliance_facts(session, client_id, before_at)
    after = compliance_facts(session, client_id, as_of)
    after_figures = compliance(after.devices, as_of)
    deployments = session.scalars(
        select(Deployment)
        .where(
            Deployment.client_id == client_id,
            Deployment.occurrence_start >= start,
            Deployment.occurrence_start < end,
        )
        .order_by(Deployment.occurrence_start, Deployment.id)
    ).all()
    windows = _windows(session, {d.window_id for d in deployments if d.window_id is not None})
    names = {window_id: window.name for window_id, window in windows.items()}
    targets = _targets(session, [d.id for d in deployments])
    exceptions = _exceptions(session, client_id, start, end, [d.id for d in deployments])
    targets = _link(targets, exceptions, names, {d.id: d for d in deployments})
    return CycleReport(
        client_id=client.id,
        client_name=client.name,
        timezone=client.timezone,
        sla_tier=client.sla_tier,
        cycle=cycle,
        start=start,
        end=end,
        as_of=as_of,
        scope=_scope(session, client_id),
        windows=tuple(_windows_used(deployments, names, targets, windows, zone)),
        targets=tuple(targets),
        exceptions=tuple(exceptions),
        compliance_before=compliance(before.devices, before_at),
        compliance_after=after_figures,
        noncompliant_after=tuple(
            sorted((after.hostnames[device_id], n) for device_id, n in after_figures.noncompliant)
        ),
        emergencies=tuple(_emergencies(session, client_id, start, end)),
        mttr=mttr(resolutions(session, client_id, start, end)),
        next_windows=tuple(_next_windows(session, client_id, zone, as_of)),
    )


def _scope(session: Session, client_id: str) -> ScopeSummary:
    row = session.get(ClientScope, client_id)
    scope = load_scope(session, client_id)
    roles: Counter[str] = Counter()
    total = 0
    for device, site in session.execute(
        select(Device, Site.name)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Device.client_id == client_id)
    ):
        total += 1
        if device_in_scope(scope, scoped_device(device, site)):
            roles[device.role.value] += 1
    return ScopeSummary(
        include_roles=tuple(row.include_roles) if row else (),
        include_tags=tuple(row.include_tags) if row else (),
        include_sites=tuple(row.include_sites) if row else (),
        include_os=tuple(row.include_os) if row else (),
        exclude_devices=tuple(row.exclude_devices) if row else (),
        patch_os=row.patch_os if row else True,
        third_party=tuple(row.third_party) if row else (),
        notes=row.notes if row else "",
        devices_total=total,
        devices_in_scope=sum(roles.values()),
        in_scope_by_role=tuple(sorted(roles.items())),
    )


def _windows(session: Session, window_ids: set[int]) -> dict[int, MaintenanceWindow]:
    if not window_ids:
        return {}
    rows = session.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.id.in_(sorted(window_ids)))
    )
    return {window.id: window for window in rows}


def _scheduled_end(
    deployment: Deployment, windows: dict[int, MaintenanceWindow], zone: ZoneInfo
) -> datetime:
    """The occurrence's end as its window schedules it; the stored end when the window's
    schedule no longer gives this occurrence (edited since) or there is none (emergency)."""
    window = windows.get(deployment.window_id) if deployment.window_id is not None else None
    if window is None:
        return deployment.occurrence_end
    day = deployment.occurrence_start.astimezone(zone).date()
    occurrence = occurrence_on(spec_of(window), day, zone)
    if occurrence is None or occurrence.start_utc != deployment.occurrence_start:
        return deployment.occurrence_end
    return occurrence.end_utc


def _next_windows(
    session: Session, client_id: str, zone: ZoneInfo, after: datetime
) -> list[NextWindow]:
    """Each active window's first occurrence starting after ``after``, by start."""
    found = []
    for window in session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.client_id == client_id, MaintenanceWindow.active)
        .options(selectinload(MaintenanceWindow.blackouts))
        .order_by(MaintenanceWindow.name)
    ):
        upcoming = next_occurrences(spec_of(window), zone, after, 2)
        first = next((o for o in upcoming if o.start_utc > after), None)
        if first is not None:
            found.append(NextWindow(window.name, first.start_utc, first.end_utc))
    return sorted(found, key=lambda w: (w.start, w.name))


def _name(deployment: Deployment, names: dict[int, str]) -> str:
    if deployment.window_id is None:
        return EMERGENCY_NAME
    return names.get(deployment.window_id, f"window {deployment.window_id}")


def _targets(session: Session, deployment_ids: list[int]) -> list[TargetLine]:
    if not deployment_ids:
        return []
    rows = session.execute(
        select(Target, Device, Site.name)
        .join(Device, Device.id == Target.device_id)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Target.deployment_id.in_(deployment_ids))
        .order_by(Target.id)
    ).all()
    patches: dict[int, list[PatchLine]] = defaultdict(list)
    for target_id, patch, state, error_code in session.execute(
        select(TargetPatch.target_id, Patch, TargetPatch.state, TargetPatch.error_code)
        .join(Patch, Patch.id == TargetPatch.patch_id)
        .join(Target, Target.id == TargetPatch.target_id)
        .where(Target.deployment_id.in_(deployment_ids))
        .order_by(TargetPatch.target_id, Patch.vendor_id)
    ):
        patches[target_id].append(
            PatchLine(
                patch.vendor_id,
                patch.title,
                patch.classification.value,
                patch.severity.value,
                state.value,
                error_code,
            )
        )
    return [
        TargetLine(
            target_id=target.id,
            deployment_id=target.deployment_id,
            window="",
            window_start=target.updated_at,
            device_id=device.id,
            hostname=device.hostname,
            role=device.role.value,
            tier=tier_of(device.role, device.criticality),
            site=site,
            state=target.state,
            failure_class=failure_class_of(target.state, target.error_message),
            attempts=target.attempts,
            deferrals_used=target.deferrals_used,
            dispatched_at=target.dispatched_at,
            installed_at=target.installed_at,
            verified_at=target.verified_at,
            error_code=target.error_code,
            error_message=target.error_message,
            patches=tuple(patches.get(target.id, ())),
            exception_id=None,
        )
        for target, device, site in rows
    ]


def _exceptions(
    session: Session, client_id: str, start: datetime, end: datetime, deployment_ids: list[int]
) -> list[ExceptionLine]:
    linked = [
        and_(PatchException.opened_at >= start, PatchException.opened_at < end),
        and_(PatchException.resolved_at >= start, PatchException.resolved_at < end),
    ]
    if deployment_ids:
        linked.append(PatchException.deployment_id.in_(deployment_ids))
    rows = session.execute(
        select(PatchException, Device.hostname)
        .join(Device, Device.id == PatchException.device_id)
        .where(PatchException.client_id == client_id, or_(*linked))
    ).all()
    rows = sorted(
        rows,
        key=lambda r: (r[0].tier.value, CLASS_RANK[r[0].failure_class], r[0].opened_at, r[0].id),
    )
    ids = [exception.id for exception, _ in rows]
    history: dict[int, list[RemediationLine]] = defaultdict(list)
    if ids:
        for record in session.scalars(
            select(RemediationRecord)
            .where(RemediationRecord.exception_id.in_(ids))
            .order_by(RemediationRecord.seq)
        ):
            assert record.exception_id is not None
            history[record.exception_id].append(
                RemediationLine(
                    record.seq,
                    record.at,
                    record.actor,
                    record.operator,
                    record.action,
                    record.outcome,
                    record.note,
                )
            )
    vendor_ids = _vendor_ids(session, {p for exception, _ in rows for p in exception.patch_ids})
    return [
        exception_line(exception, hostname, vendor_ids, history) for exception, hostname in rows
    ]


def _vendor_ids(session: Session, patch_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(patch_ids))
    if not wanted:
        return {}
    return dict(
        session.execute(select(Patch.id, Patch.vendor_id).where(Patch.id.in_(wanted))).all()
    )


def _link(
    targets: list[TargetLine],
    exceptions: list[ExceptionLine],
    names: dict[int, str],
    deployments: dict[int, Deployment],
) -> list[TargetLine]:
    """Each target with its window's name and start, and the exception its failure raised
    (same device and class, opened no earlier than the window)."""
    linked = []
    for target in targets:
        deployment = deployments[target.deployment_id]
        exception_id = None
        if target.failure_class is not None:
            exception_id = next(
                (
                    e.id
                    for e in exceptions
                    if e.hostname == target.hostname
                    and e.failure_class is target.failure_class
                    and e.opened_at >= deployment.occurrence_start
                ),
                next(
                    (
                        e.id
                        for e in exceptions
                        if e.hostname == target.hostname and e.failure_class is target.failure_class
                    ),
                    None,
                ),
            )
        linked.append(
            TargetLine(
                **{
                    **target.__dict__,
                    "window": _name(deployment, names),
                    "window_start": deployment.occurrence_start,
                    "exception_id": exception_id,
                }
            )
        )
    return sorted(
        linked,
        key=lambda t: (t.window_start, t.deployment_id, t.tier.value, t.hostname, t.target_id),
    )


def _windows_used(
    deployments: Iterable[Deployment],
    names: dict[int, str],
    targets: list[TargetLine],
    windows: dict[int, MaintenanceWindow],
    zone: ZoneInfo,
) -> list[WindowUsed]:
    by_deployment: dict[int, list[TargetLine]] = defaultdict(list)
    for target in targets:
        by_deployment[target.deployment_id].append(target)
    return [
        WindowUsed(
            deployment_id=d.id,
            name=_name(d, names),
            emergency=d.emergency,
            start=d.occurrence_start,
            end=d.occurrence_end,
            scheduled_end=_scheduled_end(d, windows, zone),
            state=d.state.value,
            targets=len(by_deployment[d.id]),
            verified=sum(1 for t in by_deployment[d.id] if t.state is TargetState.VERIFIED),
            failed=sum(1 for t in by_deployment[d.id] if t.failure_class is not None),
        )
        for d in deployments
    ]


def _emergencies(
    session: Session, client_id: str, start: datetime, end: datetime
) -> list[EmergencyLine]:
    rows = session.execute(
        select(ApprovalDecision, Patch)
        .join(Patch, Patch.id == ApprovalDecision.patch_id)
        .where(
            ApprovalDecision.client_id == client_id,
            ApprovalDecision.decision == ApprovalDecisionKind.EMERGENCY,
            ApprovalDecision.decided_at >= start,
            ApprovalDecision.decided_at < end,
        )
        .order_by(ApprovalDecision.decided_at, ApprovalDecision.id)
    ).all()
    found = []
    for decision, patch in rows:
        hostnames = sorted(
            session.scalars(select(Device.hostname).where(Device.id.in_(decision.device_ids)))
        )
        states = list(
            session.scalars(
                select(Target.state)
                .join(Deployment, Deployment.id == Target.deployment_id)
                .where(Deployment.approval_decision_id == decision.id)
            )
        )
        found.append(
            EmergencyLine(
                decision_id=decision.id,
                patch=patch.vendor_id,
                title=patch.title,
                decided_at=decision.decided_at,
                operator=decision.operator,
                reason=decision.reason,
                hostnames=tuple(hostnames),
                targets=len(states),
                verified=sum(1 for s in states if s is TargetState.VERIFIED),
            )
        )
    return found
