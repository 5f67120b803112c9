"""Steps 3 and 4: follow every target in flight, prove verification, turn deadlines into
failures.

Per target: read the install job's result, then let ``engine.classify`` judge the facts
(install result, reboot command, boot time, check-in, deadlines, health checks) and act on
the verdict: request the reboot (counting user deferrals, forcing it when they run out),
move the target along the lifecycle, mark it verified, or record the failure (an install
failure may retry first; every other failure raises an exception).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import MissingPatchState, TargetState
from patchdesk.engine.classify import (
    CAUSE_STATE,
    WAITING_STATE,
    Failure,
    HealthSnapshot,
    InstallResult,
    InstallStatus,
    Pending,
    TargetFacts,
    Verified,
    Waiting,
    classify,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.connectors.base import (
    Connector,
    JobState,
    JobStatus,
    RebootOutcome,
)
from patchdesk.engine.failures import is_install, may_retry, raise_exception, schedule_retry
from patchdesk.engine.report import StepReport
from patchdesk.store.events import record_event
from patchdesk.store.models import (
    Deployment,
    Device,
    DevicePatch,
    MaintenanceWindow,
    Patch,
    Target,
)

FOLLOWED = (
    TargetState.DISPATCHED,
    TargetState.INSTALLING,
    TargetState.INSTALLED,
    TargetState.REBOOT_PENDING,
    TargetState.REBOOTING,
    TargetState.AWAITING_CHECKIN,
    TargetState.DEFERRED,
)
AWAITING_JOB = (TargetState.DISPATCHED, TargetState.INSTALLING)
REBOOTING_STATES = frozenset(
    {
        TargetState.REBOOT_PENDING,
        TargetState.REBOOTING,
        TargetState.AWAITING_CHECKIN,
        TargetState.DEFERRED,
    }
)


@dataclass
class Context:
    target: Target
    deployment: Deployment
    window: MaintenanceWindow
    device: Device
    reboot_hint: bool


def _load(session: Session, now: datetime, config: EngineConfig) -> list[Context]:
    watching = (
        (Target.state == TargetState.VERIFIED)
        & (Target.verified_at.is_not(None))
        & (Target.verified_at > now - config.observation_period)
    )
    closed_pending = (Target.state == TargetState.PENDING) & (Deployment.occurrence_end <= now)
    query = (
        select(Target, Deployment, MaintenanceWindow, Device)
        .join(Deployment, Target.deployment_id == Deployment.id)
        .join(MaintenanceWindow, Deployment.window_id == MaintenanceWindow.id)
        .join(Device, Target.device_id == Device.id)
        .where(Target.state.in_(FOLLOWED) | watching | closed_pending)
        .options(selectinload(Target.patches))
        .order_by(Target.id)
    )
    rows = session.execute(query).all()
    patch_ids = {p.patch_id for target, *_ in rows for p in target.patches}
    hints = dict(
        session.execute(
            select(Patch.id, Patch.reboot_required).where(Patch.id.in_(patch_ids))
        ).all()
    )
    return [
        Context(
            target,
            deployment,
            window,
            device,
            any(hints.get(p.patch_id, True) for p in target.patches),
        )
        for target, deployment, window, device in rows
    ]


def follow(
    session: Session,
    connector: Connector,
    now: datetime,
    config: EngineConfig,
    report: StepReport,
) -> None:
    contexts = _load(session, now, config)
    job_ids = [
        c.target.job_id for c in contexts if c.target.state in AWAITING_JOB and c.target.job_id
    ]
    jobs = connector.job_status(job_ids) if job_ids else {}
    watched = [
        c.device.connector_id
        for c in contexts
        if c.target.state is TargetState.VERIFIED and c.device.connector_id
    ]
    health = connector.health(watched) if watched else {}
    for context in contexts:
        target = context.target
        job = jobs.get(target.job_id) if target.job_id is not None else None
        install = InstallResult(InstallStatus.UNKNOWN)
        if target.state in AWAITING_JOB:
            if job is not None:
                install = _apply_job(session, context, job, now)
        elif target.job_id is not None:
            install = InstallResult(InstallStatus.SUCCEEDED)  # past installing: it succeeded
        snapshot = health.get(context.device.connector_id or "")
        if target.state is TargetState.VERIFIED and snapshot is not None:
            target.health_after = dict(snapshot)
            target.health_after_at = now
        verdict = classify(_facts(context, install, config), now)
        _act(session, connector, context, verdict, now, config, report)


def _apply_job(session: Session, context: Context, job: JobStatus, now: datetime) -> InstallResult:
    target = context.target
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        _move(session, context, TargetState.INSTALLING, now)
        return InstallResult(InstallStatus.RUNNING)
    results = {r.vendor_id: r for r in job.patches}
    vendor = dict(
        session.execute(
            select(Patch.id, Patch.vendor_id).where(
                Patch.id.in_([p.patch_id for p in target.patches])
            )
        ).all()
    )
    installed_ids = []
    for patch in target.patches:
        result = results.get(vendor.get(patch.patch_id, ""))
        ok = result.succeeded if result is not None else job.state is JobState.SUCCEEDED
        patch.state = MissingPatchState.INSTALLED if ok else MissingPatchState.FAILED
        patch.error_code = None if ok or result is None else result.error_code
        if ok:
            installed_ids.append(patch.patch_id)
    if installed_ids:
        session.execute(
            update(DevicePatch)
            .where(
                DevicePatch.device_id == target.device_id,
                DevicePatch.patch_id.in_(installed_ids),
            )
            .values(
                state=MissingPatchState.INSTALLED,
                installed_at=job.finished_at or now,
                updated_at=now,
            )
        )
    if job.state is JobState.FAILED:
        target.error_code = job.error_code
        target.error_message = job.message
        return InstallResult(InstallStatus.FAILED, job.error_code, job.message)
    target.installed_at = job.finished_at or now
    _move(session, context, TargetState.INSTALLED, now)
    if job.needs_reboot:
        context.reboot_hint = True
    return InstallResult(InstallStatus.SUCCEEDED)


def _facts(context: Context, install: InstallResult, config: EngineConfig) -> TargetFacts:
    target, device, window = context.target, context.device, context.window
    rebooting = target.state in REBOOTING_STATES or target.reboot_requested_at is not None
    health_after = (
        HealthSnapshot(target.health_after_at, target.health_after)
        if target.health_after is not None and target.health_after_at is not None
        else None
    )
    return TargetFacts(
        window_start=context.deployment.occurrence_start,
        window_end=context.deployment.occurrence_end,
        dispatched=target.job_id is not None,
        install=install if target.job_id is not None else InstallResult(),
        reboot_policy=window.reboot_policy,
        patch_reboot_hint=context.reboot_hint,
        connector_needs_reboot=rebooting,
        reboot_sent_at=target.reboot_requested_at,
        last_boot=device.last_boot,
        last_seen=device.last_seen,
        reboot_deadline=target.reboot_deadline,
        checkin_deadline=target.checkin_deadline,
        deferrals_used=target.deferrals_used,
        deferrals_allowed=window.max_deferrals,
        health_before=target.health_before,
        health_after=health_after,
        observation_end=(
            target.verified_at + config.observation_period if target.verified_at else None
        ),
    )


def _act(
    session: Session,
    connector: Connector,
    context: Context,
    verdict: object,
    now: datetime,
    config: EngineConfig,
    report: StepReport,
) -> None:
    target = context.target
    if isinstance(verdict, Verified):
        if target.state is not TargetState.VERIFIED:
            target.verified_at = now
            _move(session, context, TargetState.VERIFIED, now)
            report.verified += 1
    elif isinstance(verdict, Pending):
        if verdict.waiting is Waiting.REBOOT:
            _reboot(session, connector, context, now, config, report)
        elif verdict.waiting is Waiting.NEXT_WINDOW:
            target.error_message = "window closed before dispatch (capacity); carried over"
            _move(session, context, TargetState.MISSED, now)
        else:
            _move(session, context, WAITING_STATE[verdict.waiting], now)
    elif isinstance(verdict, Failure):
        _fail(session, context, verdict, now, config, report)


def _reboot(
    session: Session,
    connector: Connector,
    context: Context,
    now: datetime,
    config: EngineConfig,
    report: StepReport,
) -> None:
    target, window, device = context.target, context.window, context.device
    if target.next_action_at is not None and target.next_action_at > now:
        _move(session, context, TargetState.DEFERRED, now)
        return
    assert device.connector_id is not None
    allow = target.deferrals_used < window.max_deferrals
    result = connector.reboot(
        device.connector_id,
        allow_deferral=allow,
        deferral_minutes=window.deferral_minutes,
        idempotency_key=f"{target.idempotency_key}-r{target.deferrals_used}",
    )
    if result.outcome is RebootOutcome.ACCEPTED:
        target.reboot_requested_at = result.at
        target.reboot_deadline = result.at + config.reboot_timeout
        target.checkin_deadline = result.at + _minutes(window.checkin_timeout_minutes)
        target.next_action_at = None
        report.reboots_requested += 1
        _move(session, context, TargetState.REBOOTING, now, forced=not allow)
    elif result.outcome is RebootOutcome.DEFERRED:
        until = result.deferred_until or now + _minutes(window.deferral_minutes)
        target.deferrals_used += 1
        target.next_action_at = until
        target.reboot_deadline = until + config.reboot_timeout
        _move(session, context, TargetState.DEFERRED, now, deferrals=target.deferrals_used)
    else:
        _move(session, context, TargetState.REBOOT_PENDING, now)


def _fail(
    session: Session,
    context: Context,
    failure: Failure,
    now: datetime,
    config: EngineConfig,
    report: StepReport,
) -> None:
    target, device = context.target, context.device
    target.error_message = failure.reason
    _move(session, context, CAUSE_STATE[failure.cause], now, cause=failure.cause.value)
    if is_install(failure) and may_retry(target, context.deployment, now, config):
        schedule_retry(session, target, device, failure, now, config, report)
        return
    raise_exception(session, target, device, failure, now, config, report)


def _move(
    session: Session, context: Context, state: TargetState, now: datetime, **payload: object
) -> None:
    target = context.target
    if target.state is state:
        return
    previous = target.state
    target.state = state
    target.updated_at = now
    record_event(
        session,
        at=now,
        kind="target.state",
        entity="target",
        entity_id=target.id,
        client_id=context.device.client_id,
        payload={
            "from": previous.value,
            "to": state.value,
            "device": context.device.hostname,
            **payload,
        },
    )


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)
