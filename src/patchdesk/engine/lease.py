"""The engine lease: one engine dispatches at a time (docs/architecture.md).

The lease is one row in ``engine_lease``. An engine takes it when it is free, expired, or
already its own, and renews it once half of its time has gone (``Reconciler``); anyone else
runs attached (reads, writes operator requests, dispatches nothing) and is told who holds
it. A lease that is not renewed expires, so another engine takes over after a crash.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from patchdesk.store.db import Database
from patchdesk.store.lease_ops import LeaseState, acquire_lease, release_lease

__all__ = ["DEFAULT_TTL", "LeaseState", "acquire", "holder_id", "release"]

DEFAULT_TTL = timedelta(seconds=60)


def holder_id(operator: str) -> str:
    """Who we are, for people reading "the lease is held by ...": operator@host:pid."""
    return f"{operator}@{socket.gethostname()}:{os.getpid()}"


def acquire(db: Database, me: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> LeaseState:
    """Take or renew the lease if we can; otherwise report who holds it."""
    return acquire_lease(db, me, now, ttl)


def release(db: Database, me: str) -> None:
    """Give the lease up (on a clean stop), if it is ours."""
    release_lease(db, me)
