"""What the engine writes while it carries out an operator request (``engine.requests``):
the request's progress and result, and the exception and target it acts on.

Each function changes the rows a ``store.request_views`` reference holds, in the engine's
transaction (written with it when it commits).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, RequestState, TargetState
from patchdesk.store.exclusions import active_for_devices
from patchdesk.store.models import Deployment, Patch
from patchdesk.store.request_views import ExceptionRef, RequestRef, TargetRef


def start_request(request: RequestRef, now: datetime) -> None:
    request._row.started_at = now


def finish_request(request: RequestRef, state: RequestState, result: str, now: datetime) -> None:
    row = request._row
    row.state = state
    row.result = result
    row.completed_at = now


def resolve_for_request(exception: ExceptionRef, now: datetime) -> None:
    """Resolved at a technician's request (the request's record says who)."""
    row = exception._row
    row.state = ExceptionState.RESOLVED
    row.resolved_at = now
    row.last_action = "resolved"
    row.last_action_at = now
    row.updated_at = now


def note_on_exception(exception: ExceptionRef, last_action: str, now: datetime) -> None:
    """The exception's last action: what a request did about it."""
    row = exception._row
    row.last_action = last_action
    row.last_action_at = now
    row.updated_at = now


def reinstall_vendor_ids(session: Session, target: TargetRef) -> list[str]:
    """The target's patches to install again, by vendor id. Those excluded on its device
    since are taken out of the target (as dispatch does with a pending one's), unless that
    leaves none (then none are returned)."""
    row = target._row
    excluded = active_for_devices(session, [row.device_id])
    kept = [p for p in row.patches if (row.device_id, p.patch_id) not in excluded]
    if not kept:
        return []
    if len(kept) < len(row.patches):
        row.patches = kept
    ids = [p.patch_id for p in kept]
    return list(
        session.scalars(select(Patch.vendor_id).where(Patch.id.in_(ids)).order_by(Patch.vendor_id))
    )


def redispatched(
    session: Session, target: TargetRef, attempt: int, key: str, job_id: str, now: datetime
) -> None:
    """The target's install sent again (attempt ``attempt``, job ``job_id``): dispatched,
    looked at again at the engine's next step. A deployment whose window has ended gets
    its own hour from now to report a result."""
    row = target._row
    row.attempts, row.idempotency_key, row.job_id = attempt, key, job_id
    row.state = TargetState.DISPATCHED
    row.dispatched_at = now
    row.reboot_requested_at = None
    row.reboot_deadline = row.checkin_deadline = None
    row.updated_at = now
    row.check_at = now  # the engine looks at it again at its next step
    deployment = session.get(Deployment, row.deployment_id)
    if deployment is not None and deployment.occurrence_end <= now:
        # Outside the window: give the retry its own hour to report a result.
        deployment.occurrence_end = now + timedelta(hours=1)


def rebooting(
    target: TargetRef,
    requested_at: datetime,
    reboot_deadline: datetime,
    checkin_deadline: datetime,
    now: datetime,
) -> None:
    """A reboot sent for the target: followed as any other (boot, then check-in, by their
    deadlines), looked at again at the engine's next step."""
    row = target._row
    row.reboot_requested_at = requested_at
    row.reboot_deadline = reboot_deadline
    row.checkin_deadline = checkin_deadline
    row.state = TargetState.REBOOTING
    row.updated_at = now
    row.check_at = now  # the engine looks at it again at its next step
