"""Emergency patches per cycle (pure): ``approval_decisions`` rows whose decision is
``emergency``, counted by ``decided_at`` in the client's cycle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from patchdesk.rules.metrics.cycles import Cycle


@dataclass(frozen=True)
class EmergencyFacts:
    decision_id: int
    client_id: str
    patch: str  # vendor id
    decided_at: datetime


def emergencies_in(
    decisions: Iterable[EmergencyFacts], cycle: Cycle, zone: tzinfo
) -> list[EmergencyFacts]:
    """The emergency decisions made during ``cycle`` (in ``zone``), oldest first."""
    start, end = cycle.bounds(zone)
    found = [d for d in decisions if start <= d.decided_at < end]
    return sorted(found, key=lambda d: (d.decided_at, d.decision_id))
