"""Health metrics over several cycles: each client's compliance and failed installs per
cycle, for the trend the Reports screen draws next to the current cycle's figures.

A point per (client, cycle), counted as ``metric_views`` counts the current cycle: the
client's own cycle (its local dates), compliance as of the cycle's end or ``now`` while it
runs, failed deployment targets of window occurrences that started in the cycle. A cycle
that had not begun at ``now`` (in the client's zone) has no figures. The overall point adds
the clients' counts up (never an average of percentages).

Points already known (the current cycle's, from ``metric_views``; closed cycles' read before)
can be passed in and are not read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.domain import PATCH_FAILURE_CLASSES, FailureClass
from patchdesk.rules.metrics.compliance import ComplianceFigures, combined, compliance
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.metrics.failures import failures_by_class
from patchdesk.store.compliance_facts import compliance_facts
from patchdesk.store.metric_views import ClientMetrics, target_outcomes
from patchdesk.store.models import Client

NO_FAILURES: dict[FailureClass, int] = {failure: 0 for failure in PATCH_FAILURE_CLASSES}


@dataclass(frozen=True)
class TrendPoint:
    cycle: Cycle
    # Compliance as of the cycle's end (or now while it runs); None: not begun at now.
    compliance: ComplianceFigures | None
    failures: dict[FailureClass, int]

    @property
    def begun(self) -> bool:
        return self.compliance is not None

    @property
    def failed_total(self) -> int:
        return sum(self.failures.values())


@dataclass(frozen=True)
class ClientTrend:
    client_id: str
    points: tuple[TrendPoint, ...]  # in the order of the cycles asked for


Known = Mapping[tuple[str, Cycle], TrendPoint]


def point_of(metrics: ClientMetrics) -> TrendPoint:
    """The point ``client_metrics`` already computed for its cycle (same instant, same
    bounds): the current cycle's point need not be computed twice."""
    return TrendPoint(metrics.cycle, metrics.compliance_end, dict(metrics.failures))


def closed(point: TrendPoint, now: datetime) -> bool:
    """The point's cycle had ended at ``now``: its figures no longer move with time."""
    return point.compliance is not None and point.compliance.at < now


def client_trend(
    session: Session,
    client: Client,
    cycles: Sequence[Cycle],
    now: datetime,
    known: Known | None = None,
) -> ClientTrend:
    zone = ZoneInfo(client.timezone)
    points = []
    for cycle in cycles:
        found = known.get((client.id, cycle)) if known else None
        if found is not None:
            points.append(found)
            continue
        start, end = cycle.bounds(zone)
        if start > now:
            points.append(TrendPoint(cycle, None, dict(NO_FAILURES)))
            continue
        at = min(end, now)
        figures = compliance(compliance_facts(session, client.id, at).devices, at)
        failures = failures_by_class(target_outcomes(session, client.id, start, end))
        points.append(TrendPoint(cycle, figures, failures))
    return ClientTrend(client.id, tuple(points))


def metric_trends(
    session: Session,
    cycles: Sequence[Cycle],
    now: datetime,
    client_ids: Sequence[str] | None = None,
    known: Known | None = None,
) -> tuple[ClientTrend, ...]:
    """Every client's points for ``cycles`` (or those of ``client_ids``), by client id;
    points in ``known`` (by client id and cycle) are taken as they are, not read again."""
    query = select(Client).order_by(Client.id)
    if client_ids is not None:
        query = query.where(Client.id.in_(list(client_ids)))
    clients = session.scalars(query).all()
    return tuple(client_trend(session, client, cycles, now, known) for client in clients)


def overall_trend(trends: Sequence[ClientTrend], cycles: Sequence[Cycle]) -> tuple[TrendPoint, ...]:
    """The clients' points added up per cycle; a cycle no client had begun has no figures."""
    points = []
    for index, cycle in enumerate(cycles):
        begun = [t.points[index] for t in trends if t.points[index].compliance is not None]
        figures: ComplianceFigures | None = None
        if begun:
            at = max(p.compliance.at for p in begun if p.compliance is not None)
            figures = combined((p.compliance for p in begun if p.compliance is not None), at)
        failures = {
            failure: sum(t.points[index].failures[failure] for t in trends)
            for failure in PATCH_FAILURE_CLASSES
        }
        points.append(TrendPoint(cycle, figures, failures))
    return tuple(points)
