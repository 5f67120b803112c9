"""What the Clients screens read: a row per client (devices per role, how many are in scope,
open exceptions per tier, the next window) and one client's policy in full (scope, windows
with their next occurrences, approval rules and rings in words).

The words come from ``patchdesk.policy.describe`` over the policy ``policy export`` reads
(``policy.export.read_export``): the screen, the markdown export and the JSON export say the
same sentences. Rows are plain frozen values, safe to hand from a worker thread to a screen.
Their text (client, window, rule and ring names, tags, sites ...) is untrusted and stored as
given: whatever displays it must escape it.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session, selectinload

from patchdesk.domain import OsFamily, Role, Tier
from patchdesk.policy import describe
from patchdesk.rules.calendar import Occurrence, next_occurrences
from patchdesk.rules.narrowing import applies
from patchdesk.rules.scope import Scope, ScopedDevice, device_in_scope
from patchdesk.store.approval_policy import load_scope
from patchdesk.store.exception_views import unresolved
from patchdesk.store.models import (
    Client,
    ClientScope,
    Device,
    MaintenanceWindow,
    PatchException,
    Site,
)
from patchdesk.store.policy_views import read_export
from patchdesk.store.window_views import spec_of

Lines = tuple[tuple[str, str], ...]
ROLES: tuple[Role, ...] = (Role.SERVER, Role.SHARED_WORKSTATION, Role.SINGLE_USER)
TIERS: tuple[Tier, ...] = tuple(Tier)
NO_SCOPE = (
    (
        "Scope",
        "no scope is stored for this client: every device, every operating-system and "
        "third-party patch is in scope",
    ),
)


@dataclass(frozen=True)
class RoleCounts:
    """Devices per role (every device of the client, in scope or not)."""

    server: int = 0
    shared_workstation: int = 0
    single_user: int = 0

    @classmethod
    def of(cls, counts: Mapping[Role, int]) -> RoleCounts:
        return cls(*(counts.get(role, 0) for role in ROLES))

    def __getitem__(self, role: Role) -> int:
        return int(getattr(self, role.value))

    @property
    def total(self) -> int:
        return self.server + self.shared_workstation + self.single_user


@dataclass(frozen=True)
class TierCounts:
    """Open (unresolved) exceptions per triage tier, in tier order."""

    counts: tuple[int, int, int, int] = (0, 0, 0, 0)

    @classmethod
    def of(cls, counts: Mapping[Tier, int]) -> TierCounts:
        one, two, three, four = (counts.get(tier, 0) for tier in TIERS)
        return cls((one, two, three, four))

    def __getitem__(self, tier: Tier) -> int:
        return self.counts[TIERS.index(tier)]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class ClientRow:
    """One client in the list. ``next_window`` is the soonest occurrence of its active windows
    that has not ended (an open one included), None when it has no window."""

    id: str
    name: str
    timezone: str
    sla_tier: str
    devices: RoleCounts
    in_scope: int
    open_exceptions: TierCounts
    next_window: Occurrence | None


@dataclass(frozen=True)
class WindowDetail:
    """One active window in words, the devices in scope it applies to, its next occurrences
    (client-local and UTC; an open one first)."""

    name: str
    lines: Lines
    devices_in_scope: int
    upcoming: tuple[Occurrence, ...]


@dataclass(frozen=True)
class ClientDetail:
    """One client's policy and figures. ``problem`` is set (and the policy sections empty)
    when the stored policy no longer validates as a policy file."""

    row: ClientRow
    scope: Lines
    windows: tuple[WindowDetail, ...]
    rules: Lines  # (rule name, the rule in words), in order
    unmatched: str | None  # what happens to a patch no rule matches
    rings: Lines  # (ring name, the ring in words), in order
    blocked_globally: int  # patches on the global block list (they override every rule)
    maintenance_mode: int  # devices in maintenance mode (never patched while in it)
    problem: str | None = None


@dataclass(frozen=True)
class DirectoryEntry:
    id: str
    name: str


# --- reading --------------------------------------------------------------------------------


def client_directory(session: Session) -> list[DirectoryEntry]:
    """Every client's id and name, by id."""
    return [
        DirectoryEntry(client_id, name)
        for client_id, name in session.execute(select(Client.id, Client.name).order_by(Client.id))
    ]


def client_rows(session: Session, now: datetime) -> list[ClientRow]:
    """Every client, by name (then id)."""
    clients = [
        (client_id, name, timezone, sla_tier)
        for client_id, name, timezone, sla_tier in session.execute(
            select(Client.id, Client.name, Client.timezone, Client.sla_tier)
        )
    ]
    return sorted(
        _rows(session, clients, now, client_id=None),
        key=lambda row: (row.name.casefold(), row.id),
    )


def client_detail(session: Session, client_id: str, now: datetime) -> ClientDetail | None:
    """One client in full at ``now``, or None when there is no such client."""
    client = session.get(Client, client_id)
    if client is None:
        return None
    (row,) = _rows(
        session,
        [(client.id, client.name, client.timezone, client.sla_tier)],
        now,
        client_id=client_id,
    )
    devices = _scoped_devices(session, [client_id])
    scope = load_scope(session, client_id)
    in_scope = [device for device in devices[client_id] if device_in_scope(scope, device)]
    maintenance = int(
        session.scalar(
            select(func.count())
            .select_from(Device)
            .where(Device.client_id == client_id, Device.maintenance_mode)
        )
        or 0
    )
    try:
        policy = read_export(session, client_id, now=now)
    except ValidationError as exc:
        return ClientDetail(
            row=row,
            scope=(),
            windows=(),
            rules=(),
            unmatched=None,
            rings=(),
            blocked_globally=0,
            maintenance_mode=maintenance,
            problem=f"the stored policy is not valid any more ({exc.error_count()} problems): "
            "apply the client's policy file again",
        )
    assert policy is not None  # the client exists
    stored = {
        window.name: window
        for window in session.scalars(
            select(MaintenanceWindow).where(
                MaintenanceWindow.client_id == client_id, MaintenanceWindow.active
            )
        )
    }
    document = policy.client
    windows = tuple(
        WindowDetail(
            name=window.name,
            lines=tuple(describe.window_lines(window, document.timezone)),
            devices_in_scope=sum(
                1
                for device in in_scope
                if window.name in stored
                and applies(stored[window.name], device.role, device.tags, device.site)
            ),
            upcoming=tuple(policy.upcoming.get(window.name, [])),
        )
        for window in document.windows
    )
    last = len(document.rings) - 1
    return ClientDetail(
        row=row,
        scope=(
            tuple(describe.scope_lines(document.scope))
            if session.get(ClientScope, client_id) is not None
            else NO_SCOPE
        ),
        windows=windows,
        rules=tuple((rule.name, describe.rule_text(rule)) for rule in document.approval_rules),
        unmatched=describe.unmatched_text(document.approval_rules),
        rings=tuple(
            (ring.name, describe.ring_text(ring, index == last))
            for index, ring in enumerate(document.rings)
        ),
        blocked_globally=len(policy.blocklist),
        maintenance_mode=maintenance,
    )


def _rows(
    session: Session,
    clients: Sequence[tuple[str, str, str, str]],
    now: datetime,
    *,
    client_id: str | None,
) -> list[ClientRow]:
    roles: dict[str, Counter[Role]] = defaultdict(Counter)
    role_query = select(Device.client_id, Device.role, func.count()).group_by(
        Device.client_id, Device.role
    )
    tier_query = (
        select(PatchException.client_id, PatchException.tier, func.count())
        .where(unresolved())
        .group_by(PatchException.client_id, PatchException.tier)
    )
    if client_id is not None:
        role_query = role_query.where(Device.client_id == client_id)
        tier_query = tier_query.where(PatchException.client_id == client_id)
    for owner, role, count in session.execute(role_query):
        roles[owner][Role(role)] += int(count)
    tiers: dict[str, Counter[Tier]] = defaultdict(Counter)
    for owner, tier, count in session.execute(tier_query):
        tiers[owner][Tier(tier)] += int(count)
    in_scope = _in_scope_counts(
        session, client_id, {owner: sum(counts.values()) for owner, counts in roles.items()}
    )
    upcoming = _next_windows(session, now, client_id)
    return [
        ClientRow(
            id=cid,
            name=name,
            timezone=timezone,
            sla_tier=sla_tier,
            devices=RoleCounts.of(roles[cid]),
            in_scope=in_scope.get(cid, 0),
            open_exceptions=TierCounts.of(tiers[cid]),
            next_window=upcoming.get(cid),
        )
        for cid, name, timezone, sla_tier in clients
    ]


def _scoped_devices(
    session: Session,
    client_ids: Sequence[str] | None,
    *,
    tags: bool = True,
    sites: bool = True,
) -> dict[str, list[ScopedDevice]]:
    """What scope looks at on the devices of ``client_ids`` (None: every client). Without
    ``tags`` or ``sites`` those fields are left empty (cheaper: tags are JSON); only for
    scopes that do not look at them."""
    query = select(
        Device.client_id,
        Device.hostname,
        Device.role,
        Device.os_family,
        Device.tags if tags else literal(None).label("tags"),
        Site.name if sites else literal(None).label("site"),
    )
    if sites:
        query = query.outerjoin(Site, Device.site_id == Site.id)
    if client_ids is not None:
        query = query.where(Device.client_id.in_(client_ids))
    found: dict[str, list[ScopedDevice]] = defaultdict(list)
    for owner, hostname, role, os_family, device_tags, site in session.execute(query):
        found[owner].append(
            ScopedDevice(
                hostname,
                role if isinstance(role, Role) else Role(role),
                os_family if isinstance(os_family, OsFamily) else OsFamily(os_family),
                site,
                tuple(device_tags or ()),
            )
        )
    return found


def _in_scope_counts(
    session: Session, client_id: str | None, totals: Mapping[str, int]
) -> dict[str, int]:
    """Devices in scope per client (``rules.scope`` decides, as the engine does). Devices
    are read only for clients whose scope narrows anything (the others: every device)."""
    scope_query = select(ClientScope)
    if client_id is not None:
        scope_query = scope_query.where(ClientScope.client_id == client_id)
    scopes: dict[str, Scope] = {
        row.client_id: Scope.of(
            include_roles=row.include_roles,
            include_tags=row.include_tags,
            include_sites=row.include_sites,
            include_os=row.include_os,
            exclude_devices=row.exclude_devices,
            patch_os=row.patch_os,
            third_party=row.third_party,
        )
        for row in session.scalars(scope_query)
    }
    narrowing = {
        owner: scope
        for owner, scope in scopes.items()
        if scope.include_roles
        or scope.include_tags
        or scope.include_sites
        or scope.include_os
        or scope.exclude_devices
    }
    counts = {owner: total for owner, total in totals.items() if owner not in narrowing}
    if narrowing:
        devices = _scoped_devices(
            session,
            sorted(narrowing),
            tags=any(scope.include_tags for scope in narrowing.values()),
            sites=any(scope.include_sites for scope in narrowing.values()),
        )
        for owner, scope in narrowing.items():
            counts[owner] = sum(1 for device in devices[owner] if device_in_scope(scope, device))
    return counts


def _next_windows(session: Session, now: datetime, client_id: str | None) -> dict[str, Occurrence]:
    query = (
        select(MaintenanceWindow, Client.timezone)
        .join(Client, Client.id == MaintenanceWindow.client_id)
        .where(MaintenanceWindow.active)
        .options(selectinload(MaintenanceWindow.blackouts))
    )
    if client_id is not None:
        query = query.where(MaintenanceWindow.client_id == client_id)
    found: dict[str, Occurrence] = {}
    for window, timezone in session.execute(query):
        zone = _zone(timezone)
        if zone is None:
            continue
        for occurrence in next_occurrences(spec_of(window), zone, now, 1):
            current = found.get(window.client_id)
            if current is None or (occurrence.start_utc, occurrence.window) < (
                current.start_utc,
                current.window,
            ):
                found[window.client_id] = occurrence
    return found


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --- finding a client by what a technician typed --------------------------------------------


def near_matches(entries: Iterable[DirectoryEntry], wanted: str, limit: int = 5) -> list[str]:
    """Client ids close to ``wanted``: ids or names containing it (ignoring case), then ids
    that look like it (a typo), at most ``limit``, best first."""
    folded = wanted.strip().casefold()
    if not folded:
        return []
    listed = list(entries)
    containing = [
        entry.id
        for entry in listed
        if folded in entry.id.casefold() or folded in entry.name.casefold()
    ]
    by_id = {entry.id.casefold(): entry.id for entry in listed}
    similar = [
        by_id[match] for match in difflib.get_close_matches(folded, by_id, n=limit, cutoff=0.6)
    ]
    return list(dict.fromkeys([*containing, *similar]))[:limit]
