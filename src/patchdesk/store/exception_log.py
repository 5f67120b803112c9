"""The exception log for export: exceptions with every remediation record about them.

``since`` selects the exceptions with activity at or after it: opened then, or with a
remediation-log record then (a resolution, a note, the engine updating it ...). Each comes
with its whole history, so an export never shows half a story. Ordered by opening, then id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from patchdesk.store.models import Client, Device, Patch, PatchException, RemediationRecord
from patchdesk.store.report_model import ExceptionLine, RemediationLine


@dataclass(frozen=True)
class LoggedException:
    client_id: str
    client_name: str
    timezone: str
    device_id: int
    role: str
    exception: ExceptionLine


def exception_log(
    session: Session, *, since: datetime | None = None, client_id: str | None = None
) -> list[LoggedException]:
    query = (
        select(PatchException, Device.hostname, Device.role, Client.name, Client.timezone)
        .join(Device, Device.id == PatchException.device_id)
        .join(Client, Client.id == PatchException.client_id)
        .order_by(PatchException.opened_at, PatchException.id)
    )
    if client_id is not None:
        query = query.where(PatchException.client_id == client_id)
    if since is not None:
        active = select(RemediationRecord.exception_id).where(
            RemediationRecord.at >= since, RemediationRecord.exception_id.is_not(None)
        )
        query = query.where(or_(PatchException.opened_at >= since, PatchException.id.in_(active)))
    rows = session.execute(query).all()
    ids = [row[0].id for row in rows]
    history: dict[int, list[RemediationLine]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for record in session.scalars(
            select(RemediationRecord)
            .where(RemediationRecord.exception_id.in_(chunk))
            .order_by(RemediationRecord.seq)
        ):
            if record.exception_id is not None:
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
    patch_ids = sorted({p for row in rows for p in row[0].patch_ids})
    vendor_ids: dict[int, str] = {}
    for start in range(0, len(patch_ids), 500):
        chunk = patch_ids[start : start + 500]
        vendor_ids.update(
            dict(
                session.execute(select(Patch.id, Patch.vendor_id).where(Patch.id.in_(chunk))).all()
            )
        )
    return [
        LoggedException(
            client_id=exception.client_id,
            client_name=client_name,
            timezone=timezone,
            device_id=exception.device_id,
            role=role.value,
            exception=exception_line(exception, hostname, vendor_ids, history),
        )
        for exception, hostname, role, client_name, timezone in rows
    ]


def exception_line(
    exception: PatchException,
    hostname: str,
    vendor_ids: Mapping[int, str],
    history: Mapping[int, Iterable[RemediationLine]],
) -> ExceptionLine:
    """One exception as reports show it, with its remediation history."""
    return ExceptionLine(
        id=exception.id,
        hostname=hostname,
        tier=exception.tier,
        failure_class=exception.failure_class,
        state=exception.state,
        owner=exception.owner,
        summary=exception.summary,
        patches=tuple(vendor_ids.get(p, str(p)) for p in exception.patch_ids),
        opened_at=exception.opened_at,
        acknowledged_at=exception.acknowledged_at,
        escalated_at=exception.escalated_at,
        resolved_at=exception.resolved_at,
        reopened_count=exception.reopened_count,
        history=tuple(history.get(exception.id, ())),
    )
