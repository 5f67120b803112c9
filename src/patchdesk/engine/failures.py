"""Step 5: every failure opens or updates one exception; install failures may retry first.

One open exception per device and class (the store's partial unique index enforces it):
a new failure of the same class on the same device updates the open one. Each exception the
engine opens or updates is also a remediation-log record with actor ``engine``.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from patchdesk.domain import CLASS_RANK, ExceptionState, FailureClass, TargetState, tier_of
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.rows import DeploymentRow, DeviceRow, TargetRow
from patchdesk.rules.verdicts import Failure
from patchdesk.store import direct
from patchdesk.store.events import record_event
from patchdesk.store.models import PatchException
from patchdesk.store.remediation_log import LogEntry, append


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


_exceptions = cast(Table, PatchException.__table__)
_OPEN_EXCEPTION = select(_exceptions.c.id, _exceptions.c.patch_ids, _exceptions.c.tier).where(
    _exceptions.c.device_id == bindparam("device"),
    _exceptions.c.failure_class == bindparam("failure_class"),
    _exceptions.c.state != ExceptionState.RESOLVED,
)
_INSERT_EXCEPTION = insert(_exceptions).returning(_exceptions.c.id)


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
    found = direct.rows(
        session.connection(), _OPEN_EXCEPTION, {"device": device.id, "failure_class": failure_class}
    )
    existing = found[0] if found else None  # (one at most: a unique index says so)
    if existing is None:
        tier = tier_of(device.role, device.criticality)
        exception_id: int = (
            session.connection()
            .execute(
                _INSERT_EXCEPTION,
                {
                    "client_id": device.client_id,
                    "device_id": device.id,
                    "deployment_id": target.deployment_id,
                    "target_id": target.id,
                    "failure_class": failure_class,
                    "tier": tier,
                    "class_rank": CLASS_RANK[failure_class],
                    "state": ExceptionState.OPEN,
                    "summary": failure.reason,
                    "patch_ids": patch_ids,
                    "opened_at": now,
                    "last_action": "opened by engine",
                    "last_action_at": now,
                    "updated_at": now,
                },
            )
            .scalar_one()
        )
        kind, action = "exception.opened", "exception.open"
        report.exceptions_opened += 1
    else:
        exception_id, known_patches, tier = existing
        session.connection().execute(
            update(_exceptions)
            .where(_exceptions.c.id == exception_id)
            .values(
                deployment_id=target.deployment_id,
                target_id=target.id,
                summary=failure.reason,
                patch_ids=sorted(set(known_patches) | set(patch_ids)),
                last_action="failed again",
                last_action_at=now,
                updated_at=now,
            )
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
