"""The engine lease's row (``engine_lease``): taken, renewed, taken over and given up.

What the lease is for and when an engine renews it: ``engine.lease``. Each function here is
one transaction of its own, as the lease must be (it is read and written apart from any
step)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patchdesk.store.db import Database
from patchdesk.store.events import record_event
from patchdesk.store.models import EngineLease

LEASE_NAME = "engine"


@dataclass(frozen=True)
class LeaseState:
    held: bool  # we hold it now
    holder: str
    expires_at: datetime
    taken_over_from: str | None = None  # an expired holder we replaced
    acquired_at: datetime | None = None  # when the holder took it (renewals keep it)


def _claim(session: Session, me: str, now: datetime, ttl: timedelta) -> LeaseState:
    lease = session.scalars(
        select(EngineLease).where(EngineLease.name == LEASE_NAME).with_for_update()
    ).one_or_none()
    if lease is None:
        lease = EngineLease(
            name=LEASE_NAME, holder=me, acquired_at=now, renewed_at=now, expires_at=now + ttl
        )
        session.add(lease)
        session.flush()
        record_event(session, at=now, kind="lease.acquired", entity="engine", entity_id=me)
        return LeaseState(True, me, lease.expires_at, acquired_at=now)
    if lease.holder == me:
        lease.renewed_at = now
        lease.expires_at = now + ttl
        return LeaseState(True, me, lease.expires_at, acquired_at=lease.acquired_at)
    if lease.expires_at <= now:
        previous = lease.holder
        lease.holder, lease.acquired_at = me, now
        lease.renewed_at, lease.expires_at = now, now + ttl
        record_event(
            session,
            at=now,
            kind="lease.taken_over",
            entity="engine",
            entity_id=me,
            payload={"from": previous},
        )
        return LeaseState(True, me, lease.expires_at, taken_over_from=previous, acquired_at=now)
    return LeaseState(False, lease.holder, lease.expires_at, acquired_at=lease.acquired_at)


def acquire_lease(db: Database, me: str, now: datetime, ttl: timedelta) -> LeaseState:
    """Take or renew the lease if we can; otherwise say who holds it."""
    for _ in range(3):
        try:
            with db.writer() as session:
                return _claim(session, me, now, ttl)
        except IntegrityError:  # two engines inserted the first row at once: read again
            continue
    raise RuntimeError("could not read the engine lease")


def release_lease(db: Database, me: str) -> None:
    """Give the lease up, if it is ours."""
    with db.writer() as session:
        session.execute(
            delete(EngineLease).where(EngineLease.name == LEASE_NAME, EngineLease.holder == me)
        )
