"""Steps 3 and 4: follow the targets in flight, prove verification, turn deadlines into
failures.

A step looks at the targets that may have news (``engine.attention``). Per target: read the
install job's result, then let ``rules.classify`` judge the facts (install result, reboot
command, boot time, check-in, deadlines, health checks) and act on the verdict: request the
reboot (counting user deferrals, forcing it when they run out), move the target along the
lifecycle, mark it verified, or record the failure (an install failure may retry first;
every other failure raises an exception). Then note when to look at the target again
without news (``check_at``), or, once verified, when to read its health next (at once, then
on the grid of ``health_interval`` until the observation period ends: ``attention
.next_read``; a snapshot is stored when it differs from the one before, with the time it was
first seen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from patchdesk.connectors.base import JobState, JobStatus, RebootOutcome
from patchdesk.domain import MissingPatchState, TargetState
from patchdesk.engine.attention import (
    Started,
    Watch,
    Watched,
    needing_attention,
    next_read,
)
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.emergency import emergency_window
from patchdesk.engine.failures import is_install, may_retry, open_exception_for, schedule_retry
from patchdesk.engine.missed import is_server, open_missed, resolve_missed
from patchdesk.engine.step import Step
from patchdesk.engine.sync import News
from patchdesk.rules.classify import (
    HealthSnapshot,
    InstallResult,
    InstallStatus,
    TargetFacts,
    classify,
)
from patchdesk.rules.verdicts import (
    CAUSE_STATE,
    WAITING_STATE,
    Cause,
    Failure,
    Pending,
    Verified,
    Waiting,
)
from patchdesk.store.attention_views import AWAITING_JOB
from patchdesk.store.db import Session
from patchdesk.store.events import record_event
from patchdesk.store.patch_views import install_facts
from patchdesk.store.target_ops import mark_installed, mark_installing, store_snapshots
from patchdesk.store.target_rows import (
    DeploymentRow,
    DeviceRow,
    TargetRow,
    WindowRow,
    load_around,
    load_targets,
    save,
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
# Settled for good: nothing more to follow (verified targets are still watched).
DONE = frozenset(
    {
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
        TargetState.MISSED,
        TargetState.SKIPPED,
    }
)
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
    target: TargetRow
    deployment: DeploymentRow
    window: WindowRow
    device: DeviceRow
    reboot_hint: bool
    vendor_ids: Mapping[int, str]  # patch id -> vendor id, for the job's per-patch results


def _load(session: Session, ids: Sequence[int], config: EngineConfig) -> list[Context]:
    if not ids:
        return []
    targets = load_targets(session, ids)
    around = load_around(session, [target.id for target in targets])
    patches = install_facts(session, sorted({p.patch_id for t in targets for p in t.patches}))
    vendor_ids = {patch_id: vendor_id for patch_id, (vendor_id, _) in patches.items()}
    contexts = []
    for target in targets:
        device, deployment, found = around[target.id]
        if deployment.window_id is None:
            window = emergency_window(config)  # an emergency deployment has no window
        elif found is not None:
            window = found
        else:
            continue  # its window was deleted since: nothing to follow it by
        hint = any(patches.get(p.patch_id, ("", True))[1] for p in target.patches)
        contexts.append(Context(target, deployment, window, device, hint, vendor_ids))
    return contexts


def follow(
    step: Step,
    changed: Mapping[int, News] | None = None,
    watch: Watch | None = None,
    jobs_since: datetime | None = None,
) -> None:
    """Follow the targets that may have news (``attention``): ``changed`` are the devices
    whose facts changed since the last step, ``jobs_since`` when the last step polled the jobs
    (None for either: unknown, look at everything in flight)."""
    session, connector, now, config = step.session, step.connector, step.now, step.config
    watch = watch if watch is not None else Watch()
    if not watch.loaded:
        watch.load(session, now, config.observation_period)
    attention = needing_attention(session, connector, now, config, changed, watch, jobs_since)
    if attention.snapshots:
        # Snapshots of verified targets that differ from the stored ones but fail no check
        # that passed before the patch: stored, nothing else to decide.
        store_snapshots(session, attention.snapshots, now)
    contexts = _load(session, attention.target_ids, config)
    unpolled = [
        c.target.job_id
        for c in contexts
        if c.target.state in AWAITING_JOB
        and c.target.job_id
        and c.target.job_id not in attention.jobs
    ]
    jobs = {**attention.jobs, **connector.job_status(unpolled)} if unpolled else attention.jobs
    unread = [
        c.device.connector_id
        for c in contexts
        if _watched(c, now, config)
        and c.device.connector_id
        and c.target.id not in attention.health
    ]
    read = connector.health(unread) if unread else {}
    installed: list[tuple[int, int, datetime]] = []  # device patches the jobs installed
    # In target order (so are the events): the targets looked at, and those only starting.
    by_id: dict[int, Context | Started] = {c.target.id: c for c in contexts}
    by_id.update(attention.started)
    for target_id in sorted(by_id):
        context = by_id[target_id]
        if isinstance(context, Started):
            _installing(session, target_id, context, now)
            continue
        snapshot = attention.health.get(context.target.id)
        if snapshot is None:
            snapshot = read.get(context.device.connector_id or "")
        job = jobs.get(context.target.job_id or "")
        _follow_one(step, context, job, snapshot, installed)
        _plan(context, now, config, watch)
    save(session, [context.target for context in contexts])
    if attention.started:
        mark_installing(session, sorted(attention.started), now)
    if installed:
        mark_installed(session, installed, now)
    step.counts.watching = len(watch)


def _installing(session: Session, target_id: int, started: Started, now: datetime) -> None:
    """What following a target just dispatched, its job queued or running, comes to."""
    record_event(
        session,
        at=now,
        kind="target.state",
        entity="target",
        entity_id=target_id,
        client_id=started.client_id,
        payload={
            "from": TargetState.DISPATCHED.value,
            "to": TargetState.INSTALLING.value,
            "device": started.hostname,
        },
    )


def _follow_one(
    step: Step,
    context: Context,
    job: JobStatus | None,
    snapshot: Mapping[str, bool] | None,
    installed: list[tuple[int, int, datetime]],
) -> None:
    session, now, config = step.session, step.now, step.config
    target = context.target
    install = InstallResult(InstallStatus.UNKNOWN)
    if target.state in AWAITING_JOB:
        if job is not None:
            install = _apply_job(session, context, job, now, installed)
    elif target.job_id is not None:
        install = InstallResult(InstallStatus.SUCCEEDED)  # past installing: it succeeded
    if _watched(context, now, config) and snapshot is not None and target.health_after != snapshot:
        target.health_after = dict(snapshot)  # the latest snapshot, first seen now
        target.health_after_at = now
    verdict = classify(_facts(context, install, now, config), now)
    _act(step, context, verdict)


def _watched(context: Context, now: datetime, config: EngineConfig) -> bool:
    """Verified and within the observation period: its health is read."""
    target = context.target
    return (
        target.state is TargetState.VERIFIED
        and target.verified_at is not None
        and target.verified_at > now - config.observation_period
    )


def _plan(context: Context, now: datetime, config: EngineConfig, watch: Watch) -> None:
    """When to look at the target again if nothing new is reported (``check_at``): the
    first of the instants its verdict can turn at, which are the window's end, its reboot
    and check-in deadlines and the end of a user deferral; once verified, when to read its
    health next (``Watch``)."""
    target = context.target
    check_at: datetime | None = None
    if target.state is TargetState.VERIFIED:
        assert target.verified_at is not None
        connector_id = context.device.connector_id
        until = target.verified_at + config.observation_period
        watched = Watched(connector_id or "", target.health_before, target.health_after, until)
        if not connector_id:
            watch.drop(target.id)
        elif target.health_after is None:
            watch.schedule(target.id, now, watched)
        else:
            watch.schedule(target.id, next_read(now, config.health_interval), watched)
    elif target.state in DONE:
        watch.drop(target.id)
    else:
        instants = (
            context.deployment.occurrence_end,
            target.reboot_deadline,
            target.checkin_deadline,
            target.next_action_at,
        )
        check_at = min((at for at in instants if at is not None and at >= now), default=None)
    target.check_at = check_at


def _apply_job(
    session: Session,
    context: Context,
    job: JobStatus,
    now: datetime,
    installed: list[tuple[int, int, datetime]],
) -> InstallResult:
    target = context.target
    if job.state in (JobState.QUEUED, JobState.RUNNING):
        _move(session, context, TargetState.INSTALLING, now)
        return InstallResult(InstallStatus.RUNNING)
    results = {r.vendor_id: r for r in job.patches}
    for patch in target.patches:
        result = results.get(context.vendor_ids.get(patch.patch_id, ""))
        ok = result.succeeded if result is not None else job.state is JobState.SUCCEEDED
        patch.state = MissingPatchState.INSTALLED if ok else MissingPatchState.FAILED
        patch.error_code = None if ok or result is None else result.error_code
        if ok:
            installed.append((target.device_id, patch.patch_id, job.finished_at or now))
    if job.state is JobState.FAILED:
        target.error_code = job.error_code
        target.error_message = job.message
        return InstallResult(InstallStatus.FAILED, job.error_code, job.message)
    target.installed_at = job.finished_at or now
    _move(session, context, TargetState.INSTALLED, now)
    if job.needs_reboot:
        context.reboot_hint = True
    return InstallResult(InstallStatus.SUCCEEDED)


def _facts(
    context: Context, install: InstallResult, now: datetime, config: EngineConfig
) -> TargetFacts:
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
        # An online device is checking in now (its stored last_seen moves only on news).
        last_seen=now if device.online else device.last_seen,
        reboot_deadline=target.reboot_deadline,
        checkin_deadline=target.checkin_deadline,
        checkin_timeout=_minutes(window.checkin_timeout_minutes),
        deferrals_used=target.deferrals_used,
        deferrals_allowed=window.max_deferrals,
        health_before=target.health_before,
        health_after=health_after,
        observation_end=(
            target.verified_at + config.observation_period if target.verified_at else None
        ),
    )


def _act(step: Step, context: Context, verdict: object) -> None:
    session, now, config, report = step.session, step.now, step.config, step.counts
    target = context.target
    if target.state is TargetState.VERIFIED and not (
        isinstance(verdict, Failure) and verdict.cause is Cause.HEALTH_REGRESSION
    ):
        # Verified stays verified: during the observation period only a health check that
        # newly fails changes it (a later reboot or a day offline is not this target's).
        return
    never_dispatched = (
        isinstance(verdict, Pending) and verdict.waiting is Waiting.NEXT_WINDOW
    ) or (isinstance(verdict, Failure) and verdict.cause is Cause.MISSED)
    if never_dispatched and context.device.maintenance_mode:
        # Not missed: the device was taken out of patching (skipped).
        target.error_message = "window closed before dispatch; the device is in maintenance mode"
        _move(session, context, TargetState.SKIPPED, now)
        return
    if isinstance(verdict, Verified):
        if target.state is not TargetState.VERIFIED:
            target.verified_at = now
            _move(session, context, TargetState.VERIFIED, now)
            report.verified += 1
            resolve_missed(session, target, context.device, context.deployment, now, config)
    elif isinstance(verdict, Pending):
        if verdict.waiting is Waiting.CHECKIN and verdict.deadline is not None:
            # Booted: the check-in deadline runs from the boot (a slow reboot moves it on).
            target.checkin_deadline = max(target.checkin_deadline or verdict.deadline,
                                          verdict.deadline)  # fmt: skip
        if verdict.waiting is Waiting.REBOOT:
            _reboot(step, context)
        elif verdict.waiting is Waiting.NEXT_WINDOW:
            target.error_message = "window closed before dispatch (capacity); carried over"
            _move(session, context, TargetState.MISSED, now)
            if is_server(context.device):  # someone owns a server the window did not reach
                open_missed(session, target, context.device, context.deployment, now, config,
                            report)  # fmt: skip
        else:
            _move(session, context, WAITING_STATE[verdict.waiting], now)
    elif isinstance(verdict, Failure):
        _fail(step, context, verdict)


def _reboot(step: Step, context: Context) -> None:
    session, now, config = step.session, step.now, step.config
    target, window, device = context.target, context.window, context.device
    if target.next_action_at is not None and target.next_action_at > now:
        _move(session, context, TargetState.DEFERRED, now)
        return
    if device.connector_id is None:
        # Its link was cleared while it was in flight (migration 0007): no reboot can be
        # sent; the target waits for one, as for a device that did not answer.
        _move(session, context, TargetState.REBOOT_PENDING, now)
        return
    allow = target.deferrals_used < window.max_deferrals
    result = step.connector.reboot(
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
        step.counts.reboots_requested += 1
        _move(session, context, TargetState.REBOOTING, now, forced=not allow)
    elif result.outcome is RebootOutcome.DEFERRED:
        until = result.deferred_until or now + _minutes(window.deferral_minutes)
        target.deferrals_used += 1
        target.next_action_at = until
        target.reboot_deadline = until + config.reboot_timeout
        _move(session, context, TargetState.DEFERRED, now, deferrals=target.deferrals_used)
    else:
        _move(session, context, TargetState.REBOOT_PENDING, now)


def _fail(step: Step, context: Context, failure: Failure) -> None:
    session, now, config, report = step.session, step.now, step.config, step.counts
    target, device = context.target, context.device
    target.error_message = failure.reason
    _move(session, context, CAUSE_STATE[failure.cause], now, cause=failure.cause.value)
    if is_install(failure) and may_retry(target, context.deployment, now, config):
        schedule_retry(session, target, device, failure, now, config, report)
        return
    open_exception_for(session, target, device, failure, now, config, report)


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
