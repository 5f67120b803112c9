"""Step 5: every failure opens or updates one exception; install failures may retry first.

One open exception per device and class (the store's partial unique index enforces it):
a new failure of the same class on the same device updates the open one. Each exception the
engine opens or updates is also a remediation-log record with actor ``engine``.
"""

from __future__ import annotations

from datetime import datetime

from patchdesk.domain import FailureClass, TargetState, tier_of
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.rules.verdicts import Failure
from patchdesk.store.db import Session
from patchdesk.store.engine_exception_ops import failed_again, open_exception
from patchdesk.store.engine_exception_views import unresolved_of
from patchdesk.store.events import record_event
from patchdesk.store.remediation_log import LogEntry, append
from patchdesk.store.target_rows import DeploymentRow, DeviceRow, TargetRow


def may_retry(
    target: TargetRow, deployment: DeploymentRow, now: datetime, config: EngineConfig
) -> bool:
    """The automatic install retry: attempts left and enough of the window remaining."""
    return (
        target.attempts <= config.install_retries
        and deployment.occurrence_end - now >= config.retry_min_remaining
    )


def schedule_retry(
    session: Session,
    target: TargetRow,
    device: DeviceRow,
    failure: Failure,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> None:
    target.state = TargetState.PENDING
    target.job_id = None
    target.updated_at = now
    append(
        session,
        LogEntry(
            at=now,
            actor=config.actor,
            operator=config.actor,
            action="install.retry",
            outcome="scheduled",
            note=f"attempt {target.attempts} failed ({failure.reason}); retrying automatically",
            client_id=device.client_id,
            device_id=device.id,
        ),
    )
    record_event(
        session,
        at=now,
        kind="target.retry",
        entity="target",
        entity_id=target.id,
        client_id=device.client_id,
        payload={"attempt": target.attempts, "reason": failure.reason},
    )
    report.retries += 1


def open_exception_for(
    session: Session,
    target: TargetRow,
    device: DeviceRow,
    failure: Failure,
    now: datetime,
    config: EngineConfig,
    report: StepCounts,
) -> int:
    """Open the (device, class) exception, or update the one already open; returns its id."""
    failure_class = failure.failure_class
    patch_ids = sorted(p.patch_id for p in target.patches)
    existing = unresolved_of(session, device.id, failure_class)
    if existing is None:
        tier = tier_of(device.role, device.criticality)
        exception_id = open_exception(
            session,
            client_id=device.client_id,
            device_id=device.id,
            deployment_id=target.deployment_id,
            target_id=target.id,
            failure_class=failure_class,
            tier=tier,
            summary=failure.reason,
            patch_ids=patch_ids,
            now=now,
        )
        kind, action = "exception.opened", "exception.open"
        report.exceptions_opened += 1
    else:
        exception_id, tier = existing.id, existing.tier
        failed_again(
            session,
            exception_id,
            deployment_id=target.deployment_id,
            target_id=target.id,
            summary=failure.reason,
            patch_ids=sorted(set(existing.patch_ids) | set(patch_ids)),
            now=now,
        )
        kind, action = "exception.updated", "exception.update"
        report.exceptions_updated += 1
    report.failures[failure_class.value] += 1
    append(
        session,
        LogEntry(
            at=now,
            actor=config.actor,
            operator=config.actor,
            action=action,
            outcome=failure.cause.value,
            note=failure.reason,
            client_id=device.client_id,
            exception_id=exception_id,
            device_id=device.id,
        ),
    )
    record_event(
        session,
        at=now,
        kind=kind,
        entity="exception",
        entity_id=exception_id,
        client_id=device.client_id,
        payload={
            "device": device.hostname,
            "class": failure_class.value,
            "tier": tier.value,
            "target": target.id,
        },
    )
    return exception_id


def is_install(failure: Failure) -> bool:
    return failure.failure_class is FailureClass.INSTALL
