"""Health metrics: pure rules over plain rows.

- ``cycles``: the monthly patch cycle (Patch Tuesday to the day before the next one).
- ``compliance``: device-level and patch-level compliance at an instant.
- ``failures``: failed deployment targets by failure class.
- ``emergencies``: emergency approvals per cycle.
- ``mttr``: mean, median and p90 time to remediate.

The queries that feed them live in ``patchdesk.store.metric_views``; nothing here does I/O.
"""

from patchdesk.rules.metrics.compliance import (
    ComplianceFigures,
    DeviceFacts,
    Interval,
    PairFacts,
    compliance,
    is_due,
)
from patchdesk.rules.metrics.cycles import Cycle, cycle_of, parse_cycle
from patchdesk.rules.metrics.emergencies import EmergencyFacts, emergencies_in
from patchdesk.rules.metrics.failures import TargetOutcome, failure_class_of, failures_by_class
from patchdesk.rules.metrics.mttr import MttrFigures, Resolution, mttr, mttr_by

__all__ = [
    "ComplianceFigures",
    "Cycle",
    "DeviceFacts",
    "EmergencyFacts",
    "Interval",
    "MttrFigures",
    "PairFacts",
    "Resolution",
    "TargetOutcome",
    "compliance",
    "cycle_of",
    "emergencies_in",
    "failure_class_of",
    "failures_by_class",
    "is_due",
    "mttr",
    "mttr_by",
    "parse_cycle",
]
