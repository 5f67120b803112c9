"""What every phase of a reconcile step works with, passed as one object.

A phase reads and writes the store through ``session`` (one transaction, the step's or its
own), talks to the fleet through ``connector``, takes the time from ``now`` (never from the
wall clock: a simulated engine runs on virtual time), its tunables from ``config``, and
counts what it did in ``counts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patchdesk.connectors.base import Connector
from patchdesk.engine.config import EngineConfig
from patchdesk.engine.counts import StepCounts
from patchdesk.store.db import Session


@dataclass(frozen=True)
class Step:
    session: Session
    connector: Connector
    now: datetime
    config: EngineConfig
    counts: StepCounts
