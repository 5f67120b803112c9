"""What the board reads: the engine's state, open windows with their progress, windows
opening in the next hours, and the figures of the KPI strip.

Rows are plain frozen values, safe to hand from a worker thread to a screen. Client and
window names are untrusted text (policy files): whatever displays them must escape them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patchdesk.domain import DeploymentState, ExceptionState, FailureClass, TargetState, Tier
from patchdesk.rules.calendar import patch_tuesday
from patchdesk.store.models import (
    Client,
    Deployment,
    Device,
    EngineLease,
    EngineState,
    Event,
    MaintenanceWindow,
    PatchException,
    Target,
)
from patchdesk.store.triage_order import TRIAGE_ORDER
from patchdesk.store.window_views import in_range, load_windows

CONNECTOR_KEY = "connector"  # engine.state.CONNECTOR
RUNNER_KEY = "runner"  # engine.live.RUNNER_KEY
LEASE_NAME = "engine"  # engine.lease.LEASE_NAME

FAILED: frozenset[TargetState] = frozenset(
    {
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
        TargetState.MISSED,
    }
)
IN_FLIGHT: frozenset[TargetState] = frozenset(
    {
        TargetState.DISPATCHED,
        TargetState.INSTALLING,
        TargetState.INSTALLED,
        TargetState.REBOOT_PENDING,
        TargetState.REBOOTING,
        TargetState.AWAITING_CHECKIN,
    }
)


# --------------------------------------------------------------------------- engine


@dataclass(frozen=True)
class EngineView:
    """Who dispatches, when the engine last stepped, whether the fleet answers."""

    lease_holder: str | None = None
    lease_expires_at: datetime | None = None
    connector_reachable: bool | None = None  # None: never recorded
    connector_since: datetime | None = None
    last_step_at: datetime | None = None
    last_step_holder: str | None = None
    last_summary: str = ""


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def read_engine(session: Session) -> EngineView:
    lease = session.get(EngineLease, LEASE_NAME)
    connector = session.get(EngineState, CONNECTOR_KEY)
    runner = session.get(EngineState, RUNNER_KEY)
    connector_value = dict(connector.value) if connector is not None else {}
    runner_value = dict(runner.value) if runner is not None else {}
    reachable = connector_value.get("reachable")
    holder = runner_value.get("holder")
    return EngineView(
        lease_holder=lease.holder if lease is not None else None,
        lease_expires_at=_aware(lease.expires_at) if lease is not None else None,
        connector_reachable=reachable if isinstance(reachable, bool) else None,
        connector_since=_parse(connector_value.get("since")),
        last_step_at=_parse(runner_value.get("at")),
        last_step_holder=holder if isinstance(holder, str) else None,
        last_summary=str(runner_value.get("summary", "")),
    )


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class WindowProgress:
    """One open deployment (a window occurrence of one client) and its targets by state."""

    deployment_id: int
    client_id: str
    client_name: str
    zone: str
    window_name: str
    start: datetime
    end: datetime
    emergency: bool
    counts: Mapping[TargetState, int] = field(default_factory=dict)
    fleet_devices: int | None = None  # the client's devices the fleet connector reported

    @property
    def fleet_knows_none(self) -> bool:
        """No target, and the fleet connector knows no device of the client."""
        return self.total == 0 and self.fleet_devices == 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, states: Collection[TargetState]) -> int:
        return sum(n for state, n in self.counts.items() if state in states)

    @property
    def verified(self) -> int:
        return self.counts.get(TargetState.VERIFIED, 0)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def in_flight(self) -> int:
        return self.count(IN_FLIGHT)

    @property
    def pending(self) -> int:
        return self.counts.get(TargetState.PENDING, 0)

    @property
    def deferred(self) -> int:
        return self.counts.get(TargetState.DEFERRED, 0)

    @property
    def skipped(self) -> int:
        return self.counts.get(TargetState.SKIPPED, 0)

    @property
    def settled(self) -> int:
        return self.verified + self.failed + self.skipped


def read_open_windows(
    session: Session, now: datetime, client_ids: Collection[str] | None = None
) -> list[WindowProgress]:
    """Open deployments that have started, by start, client and window (``client_ids``:
    only those clients')."""
    query = (
        select(Deployment, Client.name, Client.timezone, MaintenanceWindow.name)
        .join(Client, Client.id == Deployment.client_id)
        .outerjoin(MaintenanceWindow, MaintenanceWindow.id == Deployment.window_id)
        .where(Deployment.state == DeploymentState.OPEN, Deployment.occurrence_start <= now)
        .order_by(Deployment.occurrence_start, Client.name, MaintenanceWindow.name, Deployment.id)
    )
    if client_ids is not None:
        query = query.where(Deployment.client_id.in_(list(client_ids)))
    rows = session.execute(query).all()
    ids = [deployment.id for deployment, *_ in rows]
    counts: dict[int, Counter[TargetState]] = {i: Counter() for i in ids}
    if ids:
        grouped = session.execute(
            select(Target.deployment_id, Target.state, func.count())
            .where(Target.deployment_id.in_(ids))
            .group_by(Target.deployment_id, Target.state)
        ).all()
        for deployment_id, state, n in grouped:
            counts[deployment_id][state] = n
    clients = sorted({deployment.client_id for deployment, *_ in rows})
    known: dict[str, int] = dict.fromkeys(clients, 0)
    if clients:
        for client_id, n in session.execute(
            select(Device.client_id, func.count())
            .where(
                Device.client_id.in_(clients),
                Device.connector_id.is_not(None),  # and reported by the connector once
                Device.online.is_not(None) | Device.last_seen.is_not(None),
            )
            .group_by(Device.client_id)
        ).all():
            known[client_id] = n
    return [
        WindowProgress(
            deployment_id=deployment.id,
            client_id=deployment.client_id,
            client_name=client_name,
            zone=zone,
            window_name=window_name or ("Emergency" if deployment.emergency else "(window gone)"),
            start=_aware(deployment.occurrence_start) or now,
            end=_aware(deployment.occurrence_end) or now,
            emergency=deployment.emergency,
            counts=dict(counts[deployment.id]),
            fleet_devices=known[deployment.client_id],
        )
        for deployment, client_name, zone, window_name in rows
    ]


@dataclass(frozen=True)
class UpcomingWindow:
    client_id: str
    client_name: str
    zone: str
    window_name: str
    start: datetime
    end: datetime


def read_upcoming(
    session: Session, now: datetime, horizon: timedelta = timedelta(hours=24), limit: int = 50
) -> list[UpcomingWindow]:
    """Window occurrences that open after ``now`` and within ``horizon``, soonest first."""
    found = [
        item
        for item in in_range(load_windows(session), now, now + horizon)
        if item.occurrence.start_utc > now
    ]
    return [
        UpcomingWindow(
            client_id=item.window.client_id,
            client_name=item.window.client_name,
            zone=item.window.timezone,
            window_name=item.window.spec.name,
            start=item.occurrence.start_utc,
            end=item.occurrence.end_utc,
        )
        for item in found[:limit]
    ]


# ------------------------------------------------------------------------------ KPIs


def cycle_start(now: datetime) -> date:
    """The Patch Tuesday that opened the cycle ``now`` is in (``rules.metrics.cycles``)."""
    today = now.astimezone(UTC).date()
    tuesday = patch_tuesday(today.year, today.month)
    if today >= tuesday:
        return tuesday
    previous = today.replace(day=1) - timedelta(days=1)
    return patch_tuesday(previous.year, previous.month)


@dataclass(frozen=True)
class Unacknowledged:
    """An exception nobody has acknowledged yet, as the KPI strip names it."""

    exception_id: int
    device_id: int
    hostname: str  # untrusted
    tier: Tier
    failure_class: FailureClass
    opened_at: datetime


@dataclass(frozen=True)
class Kpis:
    open_by_tier: Mapping[Tier, int]
    cycle: date
    verified: int  # targets verified this cycle
    failed: int  # targets of this cycle's deployments in a failure state
    most_urgent: Unacknowledged | None = None  # the first unacknowledged one in triage order
    oldest: Unacknowledged | None = None  # the unacknowledged one opened first

    @property
    def open_total(self) -> int:
        return sum(self.open_by_tier.values())


_UNACKNOWLEDGED = (
    select(
        PatchException.id,
        Device.id,
        Device.hostname,
        PatchException.tier,
        PatchException.failure_class,
        PatchException.opened_at,
    )
    .join(Device, Device.id == PatchException.device_id)
    .where(PatchException.state == ExceptionState.OPEN)
    .limit(1)
)


def _first_unacknowledged(session: Session, *order: Any) -> Unacknowledged | None:
    found = session.execute(_UNACKNOWLEDGED.order_by(*order)).first()
    if found is None:
        return None
    exception_id, device_id, hostname, tier, failure_class, opened_at = found
    return Unacknowledged(
        exception_id, device_id, hostname, tier, failure_class, _aware(opened_at) or opened_at
    )


def read_kpis(session: Session, now: datetime) -> Kpis:
    by_tier = dict.fromkeys(Tier, 0)
    for tier, n in session.execute(
        select(PatchException.tier, func.count())
        .where(PatchException.state != ExceptionState.RESOLVED)
        .group_by(PatchException.tier)
    ).all():
        by_tier[tier] = n
    cycle = cycle_start(now)
    since = datetime.combine(cycle, time(0), tzinfo=UTC)
    verified = session.scalar(
        select(func.count())
        .select_from(Target)
        .where(Target.state == TargetState.VERIFIED, Target.verified_at >= since)
    )
    failed = session.scalar(
        select(func.count())
        .select_from(Target)
        .join(Deployment, Deployment.id == Target.deployment_id)
        .where(Target.state.in_(FAILED), Deployment.occurrence_start >= since)
    )
    return Kpis(
        open_by_tier=by_tier,
        cycle=cycle,
        verified=verified or 0,
        failed=failed or 0,
        # Triage order (store.triage_order): tier, class, age; the queue's order.
        most_urgent=_first_unacknowledged(session, *TRIAGE_ORDER),
        oldest=_first_unacknowledged(session, PatchException.opened_at, PatchException.id),
    )


# ---------------------------------------------------------------------------- events


def last_event_id(session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0


def client_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Client)) or 0
