"""Devices a window should have patched and did not, with the reason and the next window.

A device is *not patched* this cycle when its latest target of the cycle (the newest
deployment that took it) ended ``missed`` or ``skipped``:

- ``capacity``: the window closed before its turn (capacity, servers one at a time);
- ``offline``: offline for the whole window (an ``offline`` exception owns it);
- ``maintenance``: in maintenance mode when its turn came;
- ``skipped``: taken out of patching otherwise (its patches were excluded or withdrawn).

A later target of the device (the next window took it) replaces the row: once it is
verified the device is patched. The next window that will carry a device is the earliest
occurrence, starting after now, of its client's active windows that apply to it (roles,
tags, sites), blackouts honoured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import (
    TIER_LABELS,
    ExceptionState,
    FailureClass,
    Role,
    TargetState,
    Tier,
    tier_of,
)
from patchdesk.rules.calendar import Occurrence, next_occurrences, patch_tuesday
from patchdesk.rules.narrowing import applies
from patchdesk.store.models import (
    Client,
    Deployment,
    Device,
    MaintenanceWindow,
    PatchException,
    Site,
    Target,
)
from patchdesk.store.window_views import spec_of

# How the engine words a target the window closed on before its turn (engine.progress).
CAPACITY_WORDS = "window closed before dispatch (capacity)"

REASONS: dict[str, str] = {
    "offline": "offline for the whole window",
    "capacity": "window closed before its turn",
    "maintenance": "in maintenance mode",
    "skipped": "taken out of patching",
}
# The same, in a word (the board).
SHORT_REASONS: dict[str, str] = {
    "offline": "offline",
    "capacity": "not reached",
    "maintenance": "maintenance",
    "skipped": "skipped",
}
# Triage order of the reasons within a tier (as the exception classes: offline first).
REASON_RANK: dict[str, int] = {"offline": 0, "capacity": 1, "maintenance": 2, "skipped": 3}


@dataclass(frozen=True)
class NextWindow:
    name: str
    start_utc: datetime
    start_local: datetime  # in the client's zone

    def describe(self) -> str:
        local = self.start_local
        return f"{self.name} {local:%a %Y-%m-%d %H:%M} {local.tzname()}"


@dataclass(frozen=True)
class NotPatched:
    device_id: int
    hostname: str
    client_id: str
    client_name: str
    tier: Tier
    reason: str  # a key of REASONS
    window_end: datetime  # when the window that did not patch it closed (UTC)
    next_window: NextWindow | None  # None: no window of its client will carry it
    exception_id: int | None  # the open exception that owns it (missed or offline), if any

    @property
    def reason_text(self) -> str:
        return REASONS[self.reason]

    @property
    def tier_label(self) -> str:
        return TIER_LABELS[self.tier]

    @property
    def next_text(self) -> str:
        return self.next_window.describe() if self.next_window else "no window ahead"


def client_zone(name: str) -> ZoneInfo:
    """The client's zone (UTC when the stored name is not one)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cycle_start(now: datetime) -> datetime:
    """The start (UTC midnight of Patch Tuesday) of the patch cycle ``now`` is in."""
    day = now.astimezone(UTC).date()
    tuesday = patch_tuesday(day.year, day.month)
    if day < tuesday:
        year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
        tuesday = patch_tuesday(year, month)
    return datetime.combine(tuesday, time(0), tzinfo=UTC)


def reason_of(state: TargetState, error_message: str | None) -> str:
    message = error_message or ""
    if state is TargetState.SKIPPED:
        return "maintenance" if "maintenance mode" in message else "skipped"
    return "capacity" if message.startswith(CAPACITY_WORDS) else "offline"


def next_windows(
    session: Session,
    client_id: str,
    zone: ZoneInfo,
    devices: Sequence[Device],
    sites: dict[int, str],
    now: datetime,
) -> dict[int, NextWindow | None]:
    """Per device, the next window occurrence (starting after ``now``) that applies to it."""
    windows = session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.client_id == client_id, MaintenanceWindow.active)
        .options(selectinload(MaintenanceWindow.blackouts))
        .order_by(MaintenanceWindow.name)
    ).all()
    upcoming: list[tuple[MaintenanceWindow, Occurrence]] = []
    for window in windows:
        for occurrence in next_occurrences(spec_of(window), zone, now, 3):
            if occurrence.start_utc > now:
                upcoming.append((window, occurrence))
                break
    upcoming.sort(key=lambda item: (item[1].start_utc, item[0].name))
    found: dict[int, NextWindow | None] = {}
    for device in devices:
        site = sites.get(device.site_id) if device.site_id is not None else None
        found[device.id] = next(
            (
                NextWindow(window.name, occurrence.start_utc, occurrence.start_local)
                for window, occurrence in upcoming
                if applies(window, Role(device.role), device.tags, site)
            ),
            None,
        )
    return found


def next_window_of(session: Session, device_id: int, now: datetime) -> NextWindow | None:
    """The next window occurrence that will carry one device."""
    found = session.execute(
        select(Device, Client.timezone)
        .join(Client, Client.id == Device.client_id)
        .where(Device.id == device_id)
    ).first()
    if found is None:
        return None
    device, timezone = found
    sites = dict(
        session.execute(select(Site.id, Site.name).where(Site.client_id == device.client_id)).all()
    )
    return next_windows(session, device.client_id, client_zone(timezone), [device], sites, now)[
        device.id
    ]


def not_patched(
    session: Session, now: datetime, *, client_id: str | None = None
) -> list[NotPatched]:
    """The devices not patched this cycle, in triage order (tier, reason, oldest first)."""
    since = cycle_start(now)
    latest = (
        select(Target.device_id, func.max(Deployment.occurrence_start).label("start"))
        .join(Deployment, Deployment.id == Target.deployment_id)
        .where(Deployment.occurrence_start >= since, Deployment.emergency.is_(False))
        .group_by(Target.device_id)
    )
    if client_id is not None:
        latest = latest.where(Deployment.client_id == client_id)
    latest_sq = latest.subquery()
    rows = session.execute(
        select(Target.state, Target.error_message, Deployment.occurrence_end, Device, Client)
        .join(Deployment, Deployment.id == Target.deployment_id)
        .join(
            latest_sq,
            (latest_sq.c.device_id == Target.device_id)
            & (latest_sq.c.start == Deployment.occurrence_start),
        )
        .join(Device, Device.id == Target.device_id)
        .join(Client, Client.id == Device.client_id)
        .where(Target.state.in_((TargetState.MISSED, TargetState.SKIPPED)))
        .where(Deployment.emergency.is_(False))
    ).all()
    if not rows:
        return []
    device_ids = [device.id for _, _, _, device, _ in rows]
    owners = dict(
        session.execute(
            select(PatchException.device_id, func.min(PatchException.id))
            .where(
                PatchException.device_id.in_(device_ids),
                PatchException.state != ExceptionState.RESOLVED,
                PatchException.failure_class.in_((FailureClass.MISSED, FailureClass.OFFLINE)),
            )
            .group_by(PatchException.device_id)
        ).all()
    )
    by_client: dict[str, tuple[Client, list[Device]]] = {}
    for _, _, _, device, client in rows:
        by_client.setdefault(client.id, (client, []))[1].append(device)
    nexts: dict[int, NextWindow | None] = {}
    for cid, (client, devices) in by_client.items():
        sites = dict(session.execute(select(Site.id, Site.name).where(Site.client_id == cid)).all())
        nexts.update(next_windows(session, cid, client_zone(client.timezone), devices, sites, now))
    seen: set[int] = set()
    found: list[NotPatched] = []
    for state, message, end, device, client in rows:
        if device.id in seen:  # two windows of one start took it: one row
            continue
        seen.add(device.id)
        found.append(
            NotPatched(
                device_id=device.id,
                hostname=device.hostname,
                client_id=client.id,
                client_name=client.name,
                tier=tier_of(device.role, device.criticality),
                reason=reason_of(state, message),
                window_end=end if end.tzinfo else end.replace(tzinfo=UTC),
                next_window=nexts.get(device.id),
                exception_id=owners.get(device.id),
            )
        )
    found.sort(
        key=lambda r: (r.tier.value, REASON_RANK[r.reason], r.window_end, r.client_id, r.hostname)
    )
    return found


@dataclass(frozen=True)
class ClientNotPatched:
    """One client's devices not patched this cycle, by reason (in triage order of reasons)."""

    client_id: str
    client_name: str
    reasons: tuple[tuple[str, int], ...]  # (reason key, devices)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.reasons)


def by_client(rows: Sequence[NotPatched]) -> list[ClientNotPatched]:
    """Per client (most devices first, then by name), the count of each reason."""
    names: dict[str, str] = {}
    for row in rows:
        names[row.client_id] = row.client_name
    found = [
        ClientNotPatched(
            client_id,
            names[client_id],
            tuple(sorted(reasons.items(), key=lambda item: REASON_RANK[item[0]])),
        )
        for client_id, reasons in counts_by_client(rows).items()
    ]
    return sorted(found, key=lambda c: (-c.total, c.client_name, c.client_id))


def counts_by_client(rows: Sequence[NotPatched]) -> dict[str, dict[str, int]]:
    """Per client, how many devices are not patched for each reason."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        per = counts.setdefault(row.client_id, {})
        per[row.reason] = per.get(row.reason, 0) + 1
    return counts


__all__ = [
    "REASONS",
    "SHORT_REASONS",
    "ClientNotPatched",
    "NextWindow",
    "NotPatched",
    "by_client",
    "counts_by_client",
    "cycle_start",
    "next_window_of",
    "not_patched",
]
