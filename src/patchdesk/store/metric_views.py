"""Store queries feeding the health metrics (``rules.metrics``), and one client's or every
client's figures for a cycle.

Per client, everything is counted in the client's own cycle (its local dates): failed
deployment targets of window occurrences that started in the cycle, emergency approvals
decided in it, exceptions resolved in it (MTTR), and compliance at the cycle's start and at
its end (or at ``now`` while the cycle runs). Overall figures add the clients' counts up
(MTTR pools every resolution; it is not an average of averages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from patchdesk.domain import (
    PATCH_FAILURE_CLASSES,
    ApprovalDecisionKind,
    ExceptionState,
    FailureClass,
    Tier,
)
from patchdesk.rules.metrics.compliance import ComplianceFigures, combined, compliance
from patchdesk.rules.metrics.cycles import Cycle
from patchdesk.rules.metrics.emergencies import EmergencyFacts
from patchdesk.rules.metrics.failures import TargetOutcome, failures_by_class
from patchdesk.rules.metrics.mttr import MttrFigures, Resolution, mttr, mttr_by
from patchdesk.store.compliance_facts import compliance_facts
from patchdesk.store.models import (
    ApprovalDecision,
    Client,
    Deployment,
    Patch,
    PatchException,
    Target,
)


def target_outcomes(
    session: Session, client_id: str, start: datetime, end: datetime
) -> list[TargetOutcome]:
    """The client's targets of deployments whose occurrence started in [start, end)."""
    rows = session.execute(
        select(Target.state, Target.error_message)
        .join(Deployment, Deployment.id == Target.deployment_id)
        .where(
            Deployment.client_id == client_id,
            Deployment.occurrence_start >= start,
            Deployment.occurrence_start < end,
        )
        .order_by(Target.id)
    )
    return [TargetOutcome(state, message) for state, message in rows]


def emergency_decisions(
    session: Session, client_id: str, start: datetime, end: datetime
) -> list[EmergencyFacts]:
    """Emergency approvals decided in [start, end), oldest first."""
    rows = session.execute(
        select(ApprovalDecision.id, ApprovalDecision.decided_at, Patch.vendor_id)
        .join(Patch, Patch.id == ApprovalDecision.patch_id)
        .where(
            ApprovalDecision.client_id == client_id,
            ApprovalDecision.decision == ApprovalDecisionKind.EMERGENCY,
            ApprovalDecision.decided_at >= start,
            ApprovalDecision.decided_at < end,
        )
        .order_by(ApprovalDecision.decided_at, ApprovalDecision.id)
    )
    return [EmergencyFacts(did, client_id, vendor_id, at) for did, at, vendor_id in rows]


def resolutions(
    session: Session, client_id: str, start: datetime, end: datetime
) -> list[Resolution]:
    """Exceptions whose (last) resolution falls in [start, end)."""
    rows = session.execute(
        select(
            PatchException.id,
            PatchException.tier,
            PatchException.opened_at,
            PatchException.resolved_at,
        )
        .where(
            PatchException.client_id == client_id,
            PatchException.state == ExceptionState.RESOLVED,
            PatchException.resolved_at >= start,
            PatchException.resolved_at < end,
        )
        .order_by(PatchException.id)
    )
    return [
        Resolution(eid, client_id, tier, opened, resolved)
        for eid, tier, opened, resolved in rows
        if resolved is not None
    ]


@dataclass(frozen=True)
class ClientMetrics:
    client_id: str
    client_name: str
    timezone: str
    cycle: Cycle
    start: datetime  # the cycle in UTC, [start, end)
    end: datetime
    compliance_start: ComplianceFigures  # at the cycle's start
    compliance_end: ComplianceFigures  # at its end, or now while it runs
    failures: dict[FailureClass, int]
    emergencies: tuple[EmergencyFacts, ...]
    resolutions: tuple[Resolution, ...]

    @property
    def failed_total(self) -> int:
        return sum(self.failures.values())

    @property
    def mttr(self) -> MttrFigures:
        return mttr(self.resolutions)

    @property
    def mttr_by_tier(self) -> dict[Tier, MttrFigures]:
        return mttr_by(self.resolutions, lambda r: r.tier)


@dataclass(frozen=True)
class MetricsSummary:
    cycle: Cycle
    now: datetime
    clients: tuple[ClientMetrics, ...]

    @property
    def compliance_end(self) -> ComplianceFigures:
        return combined((c.compliance_end for c in self.clients), self.now)

    @property
    def compliance_start(self) -> ComplianceFigures:
        return combined((c.compliance_start for c in self.clients), self.now)

    @property
    def failures(self) -> dict[FailureClass, int]:
        return {f: sum(c.failures[f] for c in self.clients) for f in PATCH_FAILURE_CLASSES}

    @property
    def emergencies(self) -> int:
        return sum(len(c.emergencies) for c in self.clients)

    @property
    def resolutions(self) -> list[Resolution]:
        return [r for c in self.clients for r in c.resolutions]

    @property
    def mttr(self) -> MttrFigures:
        return mttr(self.resolutions)

    @property
    def mttr_by_tier(self) -> dict[Tier, MttrFigures]:
        return mttr_by(self.resolutions, lambda r: r.tier)


def client_metrics(session: Session, client: Client, cycle: Cycle, now: datetime) -> ClientMetrics:
    zone = ZoneInfo(client.timezone)
    start, end = cycle.bounds(zone)
    closing = min(end, now)
    return ClientMetrics(
        client_id=client.id,
        client_name=client.name,
        timezone=client.timezone,
        cycle=cycle,
        start=start,
        end=end,
        compliance_start=_compliance(session, client.id, min(start, now)),
        compliance_end=_compliance(session, client.id, closing),
        failures=failures_by_class(target_outcomes(session, client.id, start, end)),
        emergencies=tuple(emergency_decisions(session, client.id, start, end)),
        resolutions=tuple(resolutions(session, client.id, start, end)),
    )


def metrics_summary(
    session: Session, cycle: Cycle, now: datetime, client_ids: Sequence[str] | None = None
) -> MetricsSummary:
    """Every client's figures for ``cycle`` (or those of ``client_ids``), by client id."""
    query = select(Client).order_by(Client.id)
    if client_ids is not None:
        query = query.where(Client.id.in_(list(client_ids)))
    clients = session.scalars(query).all()
    return MetricsSummary(
        cycle, now, tuple(client_metrics(session, client, cycle, now) for client in clients)
    )


def _compliance(session: Session, client_id: str, at: datetime) -> ComplianceFigures:
    return compliance(compliance_facts(session, client_id, at).devices, at)
