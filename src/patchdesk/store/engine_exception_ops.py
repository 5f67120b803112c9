"""The exceptions the engine writes itself: opened or updated for a failure
(``engine.failures``), resolved once the device is patched or back online
(``engine.missed``, ``engine.comeback``), reclassified or merged (``engine.comeback``).

Each function writes the exception row only: the engine appends the remediation-log record
and the event that go with it, in the same transaction. Written through the session's
connection (no ORM object is loaded for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from patchdesk.domain import CLASS_RANK, ExceptionState, FailureClass, Tier
from patchdesk.store.models import PatchException

_exceptions = cast(Table, PatchException.__table__)
_INSERT_EXCEPTION = insert(_exceptions).returning(_exceptions.c.id)


def open_exception(
    session: Session,
    *,
    client_id: str,
    device_id: int,
    deployment_id: int,
    target_id: int,
    failure_class: FailureClass,
    tier: Tier,
    summary: str,
    patch_ids: Sequence[int],
    now: datetime,
) -> int:
    """A new open exception (``opened by engine``); its id."""
    exception_id: int = (
        session.connection()
        .execute(
            _INSERT_EXCEPTION,
            {
                "client_id": client_id,
                "device_id": device_id,
                "deployment_id": deployment_id,
                "target_id": target_id,
                "failure_class": failure_class,
                "tier": tier,
                "class_rank": CLASS_RANK[failure_class],
                "state": ExceptionState.OPEN,
                "summary": summary,
                "patch_ids": list(patch_ids),
                "opened_at": now,
                "last_action": "opened by engine",
                "last_action_at": now,
                "updated_at": now,
            },
        )
        .scalar_one()
    )
    return exception_id


def failed_again(
    session: Session,
    exception_id: int,
    *,
    deployment_id: int,
    target_id: int,
    summary: str,
    patch_ids: Sequence[int],
    now: datetime,
) -> None:
    """An open exception whose failure happened again: now about this target."""
    session.connection().execute(
        update(_exceptions)
        .where(_exceptions.c.id == exception_id)
        .values(
            deployment_id=deployment_id,
            target_id=target_id,
            summary=summary,
            patch_ids=list(patch_ids),
            last_action="failed again",
            last_action_at=now,
            updated_at=now,
        )
    )


def resolve_by_engine(
    session: Session, exception_id: int, last_action: str, now: datetime, *, via_session: bool
) -> None:
    """Resolved, ``last_action`` saying why. ``via_session``: executed through the session
    (what it holds unflushed is flushed first), else straight on its connection."""
    statement = (
        update(_exceptions)
        .where(_exceptions.c.id == exception_id)
        .values(
            state=ExceptionState.RESOLVED,
            resolved_at=now,
            last_action=last_action,
            last_action_at=now,
            updated_at=now,
        )
    )
    if via_session:
        session.execute(statement)
    else:
        session.connection().execute(statement)


def add_patches(
    session: Session, exception_id: int, patch_ids: Sequence[int], now: datetime
) -> None:
    """Another exception's patches merged into this one (``updated by engine``)."""
    session.connection().execute(
        update(_exceptions)
        .where(_exceptions.c.id == exception_id)
        .values(
            patch_ids=list(patch_ids),
            last_action="updated by engine",
            last_action_at=now,
            updated_at=now,
        )
    )


def reclassify(
    session: Session,
    exception_id: int,
    failure_class: FailureClass,
    summary: str,
    patch_ids: Sequence[int],
    now: datetime,
) -> None:
    """The exception becomes class ``failure_class`` in place (same id, owner, state and
    history); its triage rank follows the class."""
    session.connection().execute(
        update(_exceptions)
        .where(_exceptions.c.id == exception_id)
        .values(
            failure_class=failure_class,
            class_rank=CLASS_RANK[failure_class],
            summary=summary,
            patch_ids=list(patch_ids),
            last_action=f"reclassified {failure_class.value} by engine",
            last_action_at=now,
            updated_at=now,
        )
    )
