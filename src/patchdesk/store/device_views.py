"""One device in full, for the device screen: its facts, the windows that apply to it with
their next occurrences, its current and past targets with each patch's state, the check-in
and boot timeline around its last deployment, every exception with its whole remediation
history and commands, the patches excluded on it (``store.exclusions``), and the device's
own log (maintenance-mode changes, exclusions lifted).

Finding a device by hostname is ``store.device_search``; its targets are read by
``store.device_targets``.

Everything is read in the caller's session (a screen's worker thread) and returned as frozen
values. Text inside (hostnames, titles, notes, error messages, command results) is untrusted
and stored as given: whatever displays it must escape it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import (
    CLASS_RANK,
    Criticality,
    ExceptionState,
    FailureClass,
    OsFamily,
    RebootPolicy,
    Role,
    Tier,
    tier_of,
)
from patchdesk.rules.calendar import Occurrence, next_occurrences
from patchdesk.rules.narrowing import applies
from patchdesk.rules.presence import DEFAULT_STALE_AFTER, Presence, presence
from patchdesk.rules.scope import Scope, ScopedDevice, device_in_scope
from patchdesk.store.device_targets import FAILED, DeviceTarget, recent_targets
from patchdesk.store.exception_views import HistoryEntry, QueueRow, RequestView, fleet_read_at
from patchdesk.store.exclusions import ExclusionView, device_exclusions
from patchdesk.store.models import (
    CheckIn,
    Client,
    ClientScope,
    Device,
    MaintenanceWindow,
    OperatorRequest,
    Patch,
    PatchException,
    RemediationRecord,
    Site,
)
from patchdesk.store.queue_views import rows_by_id
from patchdesk.store.window_views import spec_of

OCCURRENCES = 3  # next occurrences shown per window
CHECKINS = 40  # check-ins in the timeline at most
# The timeline covers the last deployment and this much either side of it.
TIMELINE_MARGIN = timedelta(hours=2)


@dataclass(frozen=True)
class DeviceFacts:
    id: int
    hostname: str
    client_id: str
    client_name: str
    client_timezone: str
    site: str | None
    role: Role
    criticality: Criticality
    tier: Tier
    os_family: OsFamily
    os_name: str
    os_version: str
    tags: tuple[str, ...]
    in_scope: bool
    maintenance_mode: bool  # what the engine acts on
    rmm_maintenance_mode: bool  # what the RMM reports
    maintenance_override: bool | None  # a technician's setting (None: follows the RMM)
    maintenance_override_by: str | None
    maintenance_override_at: datetime | None
    online: bool | None
    last_seen: datetime | None
    last_boot: datetime | None
    connector_id: str | None
    # When an engine last read the fleet (check-in evidence of an online device:
    # engine.presence); None: no engine holds the lease.
    fleet_read_at: datetime | None = None

    def presence(self, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER) -> Presence:
        """online, stale, offline or unknown, at ``now`` (``rules.presence``)."""
        return presence(self.online, self.last_seen, now, stale_after, self.fleet_read_at)


@dataclass(frozen=True)
class DeviceWindow:
    """A window of the device's client that applies to the device, and what comes next."""

    id: int
    name: str
    reboot_policy: RebootPolicy
    checkin_timeout_minutes: int
    occurrences: tuple[Occurrence, ...]  # the next ones (an open one first)


@dataclass(frozen=True)
class TimelineEntry:
    """One moment around the last deployment. ``detail`` may hold untrusted text."""

    at: datetime
    what: str
    detail: str = ""
    upcoming: bool = False  # a deadline or window end still ahead


@dataclass(frozen=True)
class DeviceException:
    """An exception of the device (any state) with its whole remediation history."""

    row: QueueRow
    history: tuple[HistoryEntry, ...]
    commands: tuple[RequestView, ...]

    @property
    def unresolved(self) -> bool:
        return self.row.state is not ExceptionState.RESOLVED


@dataclass(frozen=True)
class DeviceDetail:
    facts: DeviceFacts
    windows: tuple[DeviceWindow, ...]
    targets: tuple[DeviceTarget, ...]  # newest first, at most ``TARGETS``
    targets_total: int
    timeline_targets: tuple[int, ...]  # the targets the timeline is about (the latest ones)
    timeline: tuple[TimelineEntry, ...]
    # Unresolved ones first, in triage order (the most urgent first), then resolved ones,
    # the most recently resolved first.
    exceptions: tuple[DeviceException, ...]
    device_log: tuple[HistoryEntry, ...]  # records about the device, not an exception
    read_at: datetime
    # Active exclusions (by patch), then the most recently lifted ones.
    exclusions: tuple[ExclusionView, ...] = ()

    @property
    def active_exclusions(self) -> tuple[ExclusionView, ...]:
        return tuple(e for e in self.exclusions if e.active)

    @property
    def open_exceptions(self) -> tuple[DeviceException, ...]:
        return tuple(e for e in self.exceptions if e.unresolved)

    def open_exception(self, failure_class: FailureClass) -> DeviceException | None:
        """The unresolved exception of this class (there is at most one per device)."""
        return next((e for e in self.open_exceptions if e.row.failure_class is failure_class), None)

    def exception(self, exception_id: int) -> DeviceException | None:
        return next((e for e in self.exceptions if e.row.id == exception_id), None)


def device_detail(session: Session, device_id: int, now: datetime) -> DeviceDetail | None:
    """Everything the device screen shows about one device as of ``now``, or None."""
    found = session.execute(
        select(Device, Client, Site.name)
        .join(Client, Client.id == Device.client_id)
        .outerjoin(Site, Site.id == Device.site_id)
        .where(Device.id == device_id)
    ).first()
    if found is None:
        return None
    device, client, site = found
    facts = _facts(session, device, client, site)
    targets, total = recent_targets(session, device_id)
    exceptions = _exceptions(session, device_id)
    # The last deployment, and any other of the device's deployments that started with it
    # (two windows of the client may open together).
    last = targets[0].occurrence_start if targets else None
    around = tuple(
        t for t in targets if last is not None and t.occurrence_start >= last - TIMELINE_MARGIN
    )
    return DeviceDetail(
        facts=facts,
        windows=_windows(session, facts, now),
        targets=targets,
        targets_total=total,
        timeline_targets=tuple(t.id for t in around),
        timeline=_timeline(session, facts, around, exceptions, now) if around else (),
        exceptions=exceptions,
        device_log=_device_log(session, device_id),
        read_at=now,
        exclusions=device_exclusions(session, device_id),
    )


def client_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _facts(session: Session, device: Device, client: Client, site: str | None) -> DeviceFacts:
    stored = session.get(ClientScope, client.id)
    scope = (
        Scope.of(
            include_roles=stored.include_roles,
            include_tags=stored.include_tags,
            include_sites=stored.include_sites,
            include_os=stored.include_os,
            exclude_devices=stored.exclude_devices,
            patch_os=stored.patch_os,
            third_party=stored.third_party,
        )
        if stored is not None
        else Scope.unrestricted()
    )
    tags = tuple(device.tags)
    scoped = ScopedDevice(device.hostname, device.role, device.os_family, site, tags)
    return DeviceFacts(
        id=device.id,
        hostname=device.hostname,
        client_id=client.id,
        client_name=client.name,
        client_timezone=client.timezone,
        site=site,
        role=device.role,
        criticality=device.criticality,
        tier=tier_of(device.role, device.criticality),
        os_family=device.os_family,
        os_name=device.os_name,
        os_version=device.os_version,
        tags=tags,
        in_scope=device_in_scope(scope, scoped),
        maintenance_mode=device.maintenance_mode,
        rmm_maintenance_mode=device.rmm_maintenance_mode,
        maintenance_override=device.maintenance_override,
        maintenance_override_by=device.maintenance_override_by,
        maintenance_override_at=device.maintenance_override_at,
        online=device.online,
        last_seen=device.last_seen,
        last_boot=device.last_boot,
        connector_id=device.connector_id,
        fleet_read_at=fleet_read_at(session),
    )


def _windows(session: Session, facts: DeviceFacts, now: datetime) -> tuple[DeviceWindow, ...]:
    windows = session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.client_id == facts.client_id, MaintenanceWindow.active)
        .options(selectinload(MaintenanceWindow.blackouts))
        .order_by(MaintenanceWindow.name)
    ).all()
    zone = client_zone(facts.client_timezone)
    found = [
        DeviceWindow(
            id=window.id,
            name=window.name,
            reboot_policy=window.reboot_policy,
            checkin_timeout_minutes=window.checkin_timeout_minutes,
            occurrences=tuple(next_occurrences(spec_of(window), zone, now, OCCURRENCES)),
        )
        for window in windows
        if applies(window, facts.role, facts.tags, facts.site)
    ]
    # The window opening first comes first (one without occurrences last).
    never = now + timedelta(days=100 * 366)
    return tuple(
        sorted(
            found, key=lambda w: (w.occurrences[0].start_utc if w.occurrences else never, w.name)
        )
    )


def _exceptions(session: Session, device_id: int) -> tuple[DeviceException, ...]:
    ids = list(
        session.scalars(select(PatchException.id).where(PatchException.device_id == device_id))
    )
    if not ids:
        return ()
    rows = rows_by_id(session, ids)
    history: dict[int, list[HistoryEntry]] = {i: [] for i in ids}
    for record in session.scalars(
        select(RemediationRecord)
        .where(RemediationRecord.exception_id.in_(ids))
        .order_by(RemediationRecord.seq)
    ):
        assert record.exception_id is not None
        history[record.exception_id].append(HistoryEntry.of(record))
    commands: dict[int, list[RequestView]] = {i: [] for i in ids}
    for command, vendor_id in session.execute(
        select(OperatorRequest, Patch.vendor_id)
        .outerjoin(Patch, Patch.id == OperatorRequest.patch_id)
        .where(OperatorRequest.exception_id.in_(ids))
        .order_by(OperatorRequest.id)
    ):
        assert command.exception_id is not None
        commands[command.exception_id].append(RequestView.of(command, vendor_id))
    found = [
        DeviceException(rows[i], tuple(history[i]), tuple(commands[i])) for i in ids if i in rows
    ]
    return tuple(sorted(found, key=_exception_order))


def _exception_order(item: DeviceException) -> tuple[int, float, int]:
    row = item.row
    if row.state is not ExceptionState.RESOLVED:  # triage order within one device
        return (CLASS_RANK[row.failure_class], row.opened_at.timestamp(), row.id)
    resolved = row.resolved_at or row.updated_at
    return (len(CLASS_RANK) + 1, -resolved.timestamp(), -row.id)


def _device_log(session: Session, device_id: int) -> tuple[HistoryEntry, ...]:
    return tuple(
        HistoryEntry.of(record)
        for record in session.scalars(
            select(RemediationRecord)
            .where(
                RemediationRecord.device_id == device_id,
                RemediationRecord.exception_id.is_(None),
            )
            .order_by(RemediationRecord.seq)
        )
    )


def _timeline(
    session: Session,
    facts: DeviceFacts,
    targets: Sequence[DeviceTarget],
    exceptions: Sequence[DeviceException],
    now: datetime,
) -> tuple[TimelineEntry, ...]:
    """The last deployment's moments for this device (each of ``targets``), its check-ins
    (with the boot time each reported, a new boot marked) and the exceptions opened meanwhile,
    in time order."""
    entries: list[TimelineEntry] = []

    def add(at: datetime | None, what: str, detail: str = "", *, deadline: bool = False) -> None:
        if at is not None:
            entries.append(TimelineEntry(at, what, detail, upcoming=deadline and at > now))

    several = len(targets) > 1
    for target in targets:
        name = target.window_name or "emergency"
        of = f"{name}: " if several else ""
        opening = "emergency deployment opens" if target.emergency else "window opens"
        add(target.occurrence_start, opening, name)
        closing = "emergency deployment ends" if target.emergency else "window closes"
        add(target.occurrence_end, closing, name, deadline=True)
        attempt = f"attempt {target.attempts}" if target.attempts > 1 else ""
        add(target.dispatched_at, "install dispatched", (of + attempt).strip(": "))
        add(target.installed_at, "install reported done", of.strip(": "))
        add(target.reboot_requested_at, "reboot requested", of.strip(": "))
        if target.verified_at is None:
            add(target.reboot_deadline, "reboot deadline", of.strip(": "), deadline=True)
            add(target.checkin_deadline, "check-in deadline", of.strip(": "), deadline=True)
        add(target.verified_at, "verified", of.strip(": "))
        if target.state in FAILED and (target.error_code or target.error_message):
            error = " ".join(p for p in (target.error_code, target.error_message) if p)
            add(target.updated_at, f"target {target.state.value}", of + error)
    first = min(target.occurrence_start for target in targets)
    for item in exceptions:
        row = item.row
        if row.opened_at >= first - TIMELINE_MARGIN:
            add(row.opened_at, f"exception #{row.id} opened", row.failure_class.value)

    known = [e.at for e in entries]
    start = min(known) - TIMELINE_MARGIN
    end = max(e.at for e in entries if e.at <= now) if any(e.at <= now for e in entries) else now
    end = max(end, min(now, max(t.occurrence_end for t in targets))) + TIMELINE_MARGIN
    checkins = session.execute(
        select(CheckIn.at, CheckIn.boot_time)
        .where(CheckIn.device_id == facts.id, CheckIn.at >= start, CheckIn.at <= end)
        .order_by(CheckIn.at, CheckIn.id)
        .limit(CHECKINS)
    ).all()
    previous_boot: datetime | None = None
    for at, boot in checkins:
        if boot is None:
            detail = "no boot time reported"
        else:
            detail = f"boot time {boot:%m-%d %H:%M} UTC"
            if previous_boot is not None and boot != previous_boot:
                detail += " (a new boot)"
            if boot > at:  # the connector reported a boot after the device was last seen
                detail += ", after this check-in: no check-in since that boot"
        add(at, "check-in", detail)
        previous_boot = boot if boot is not None else previous_boot
    # The boots themselves, as the check-ins and the device's facts report them.
    boots = {boot for _, boot in checkins if boot is not None}
    if facts.last_boot is not None:
        boots.add(facts.last_boot)
    for boot in sorted(boots):
        if start <= boot <= end:
            add(boot, "booted", "the last boot reported" if boot == facts.last_boot else "")
    return tuple(sorted(entries, key=lambda e: e.at))
