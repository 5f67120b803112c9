"""The exception queue as the database serves it: open exceptions in triage order, paged.

The ORDER BY matches ``ix_exceptions_triage`` (a partial index over open exceptions), so a
page of the queue is an index walk, not a sort, however long the queue grows. The order is
defined by ``patchdesk.rules.triage.triage_key``; a test checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState
from patchdesk.store.models import PatchException

TRIAGE_ORDER = (
    PatchException.tier,
    PatchException.class_rank,
    PatchException.opened_at,
    PatchException.id,
)


def open_queue_query() -> Select[PatchException]:
    """Open exceptions in triage order (the WHERE clause matches the partial index)."""
    return (
        select(PatchException)
        .where(PatchException.state != ExceptionState.RESOLVED)
        .order_by(*TRIAGE_ORDER)
    )


def queue_page(session: Session, *, offset: int = 0, limit: int = 200) -> list[PatchException]:
    return list(session.scalars(open_queue_query().offset(offset).limit(limit)))
