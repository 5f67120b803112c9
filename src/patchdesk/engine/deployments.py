"""Step 1: open a deployment for every window occurrence that has started, with its targets;
close deployments whose window has ended and whose targets are all settled.

A target is an in-scope, not-in-maintenance-mode device the window applies to, with the
approved patches it misses (``engine.approval`` decides, rings respected). A device with
nothing approved gets no target; a device already in flight in another deployment, or
waiting there to be dispatched (windows of one client may overlap), is left to that one.
The missing patches of the window's devices are refreshed from the connector first, so the
targets match what the devices report now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from patchdesk.connectors.base import Connector
from patchdesk.domain import (
    ApprovalDecisionKind,
    DeploymentState,
    MissingPatchState,
    OsFamily,
    Role,
    TargetState,
)
from patchdesk.engine.counts import StepCounts
from patchdesk.engine.schedule import WindowSchedule
from patchdesk.engine.sync import IN_FLIGHT
from patchdesk.rules.approval import ApprovalState, Blocklist, decide
from patchdesk.rules.narrowing import Narrowed, Narrowing, applies_to, narrowness
from patchdesk.store import direct
from patchdesk.store.approval_inputs import DeviceRow, load_for_devices
from patchdesk.store.approval_policy import load_blocklist
from patchdesk.store.bulk import execute_many
from patchdesk.store.events import record_event
from patchdesk.store.missing_refresh import record_reported
from patchdesk.store.models import (
    Deployment,
    Device,
    MaintenanceWindow,
    Patch,
    Site,
    Target,
    TargetPatch,
)
from patchdesk.store.window_views import ClientWindow

SETTLED = frozenset(
    {
        TargetState.VERIFIED,
        TargetState.INSTALL_FAILED,
        TargetState.REBOOT_FAILED,
        TargetState.NO_CHECKIN,
        TargetState.REGRESSION,
        TargetState.MISSED,
        TargetState.SKIPPED,
    }
)


_DEPLOYED = select(Deployment.window_id, Deployment.occurrence_start).where(
    Deployment.window_id.in_(bindparam("windows", expanding=True)),
    Deployment.occurrence_start.in_(bindparam("starts", expanding=True)),
)


def open_now(
    session: Session, now: datetime, schedule: WindowSchedule | None = None
) -> list[tuple[ClientWindow, datetime, datetime]]:
    """(window, start, end) of every occurrence open at ``now`` with no deployment yet.

    The schedule remembers occurrences found with a deployment (its caller opens one for
    each occurrence returned), so an open window costs no query after its first step.
    """
    schedule = schedule if schedule is not None else WindowSchedule()
    schedule.refresh(session)
    unknown = [
        (window, occurrence)
        for window, occurrence in schedule.open_at(now)
        if (window.window_id, occurrence.start_utc) not in schedule.deployed
    ]
    if not unknown:
        return []
    params = {
        "windows": sorted({window.window_id for window, _ in unknown}),
        "starts": sorted({occurrence.start_utc for _, occurrence in unknown}),
    }
    schedule.deployed.update(
        (window_id, start)
        for window_id, start in direct.rows(session.connection(), _DEPLOYED, params)
        if window_id is not None
    )
    found = [
        (window, occurrence.start_utc, occurrence.end_utc)
        for window, occurrence in unknown
        if (window.window_id, occurrence.start_utc) not in schedule.deployed
    ]
    schedule.deployed.update((window.window_id, start) for window, start, _ in found)
    return found


def opening_order(
    session: Session, found: Sequence[tuple[ClientWindow, datetime, datetime]]
) -> list[tuple[ClientWindow, datetime, datetime]]:
    """Occurrences starting together open narrowest window first: a device both a role's
    window and a catch-all window apply to is patched in its role's window (with that
    window's reboot policy), the catch-all keeping those no narrower window took."""

    def key(item: tuple[ClientWindow, datetime, datetime]) -> tuple[datetime, int, int]:
        window, start, _ = item
        row = session.get(MaintenanceWindow, window.window_id)
        return (start, -(narrowness(row) if row is not None else 0), window.window_id)

    return sorted(found, key=key)


class Candidate(NamedTuple):
    id: int
    connector_id: str
    hostname: str


# Only the client's devices are looked up in the busy set: its busy devices are read through
# the client's devices (a few targets each), not from every pending and in-flight target of
# the fleet (which grows with it).
def _client_busy(states: tuple[TargetState, ...]) -> Select[Any]:
    return (
        select(Target.device_id)
        .join(Device, Target.device_id == Device.id)
        .where(Device.client_id == bindparam("client"), Target.state.in_(states))
    )


_CLIENT_BUSY = _client_busy(IN_FLIGHT)
_CLIENT_BUSY_OR_WAITING = _client_busy((TargetState.PENDING, *IN_FLIGHT))


def reachable(
    session: Session,
    client_id: str,
    window: MaintenanceWindow | None = None,
    *,
    waiting_is_busy: bool = False,
) -> dict[int, Candidate]:
    """The client's devices the engine can reach and may patch now (with a connector id,
    not in maintenance mode, not in flight in a deployment; with ``waiting_is_busy`` not
    pending in another deployment either), those the window applies to."""
    busy = _busy_of(session, client_id, waiting_is_busy=waiting_is_busy)
    return _reachable_among(_client_devices(session, client_id), busy, window)


def _busy_of(session: Session, client_id: str, *, waiting_is_busy: bool) -> set[int]:
    statement = _CLIENT_BUSY_OR_WAITING if waiting_is_busy else _CLIENT_BUSY
    return set(direct.scalars(session.connection(), statement, {"client": client_id}))


# A device of the client as the opening reads it: the approvals take the first six fields
# (a ``DeviceRow``), ``reachable`` the last two with them: id, hostname, role, os family,
# tags, site, connector id, maintenance mode.
_ClientDevice = tuple[int, str, Role, OsFamily, list[str], str | None, str | None, bool]

_CLIENT_DEVICES = (
    select(
        Device.id, Device.hostname, Device.role, Device.os_family, Device.tags, Site.name,
        Device.connector_id, Device.maintenance_mode,
    )
    .outerjoin(Site, Device.site_id == Site.id)
    .where(Device.client_id == bindparam("client"))
    .order_by(Device.id)
)  # fmt: skip


def _client_devices(session: Session, client_id: str) -> list[_ClientDevice]:
    """Every device of the client, by id: read once when a window opens, for both the
    devices the window reaches and the approvals (one read of tags and enums, not two).

    Plain rows (``direct``), not ``Session.execute``'s ORM result; pending changes are
    flushed first all the same, as ``Session.execute`` does."""
    session.flush()
    rows = direct.rows(session.connection(), _CLIENT_DEVICES, {"client": client_id})
    return cast(list[_ClientDevice], rows)


def _opening_devices(
    session: Session, client_id: str, window: Narrowed
) -> tuple[list[_ClientDevice], dict[int, Candidate]]:
    """The client's devices, and of them ``reachable(..., window, waiting_is_busy=True)``."""
    busy = _busy_of(session, client_id, waiting_is_busy=True)
    devices = _client_devices(session, client_id)
    return devices, _reachable_among(devices, busy, window)


def _reachable_among(
    devices: Iterable[_ClientDevice],
    busy: Set[int],
    window: Narrowed | None,
) -> dict[int, Candidate]:
    """``reachable`` from rows already read: a connector id, not in maintenance mode, not
    busy, the window (if any) applying to it; by id."""
    check = None if window is None else applies_to(window)
    return {
        device_id: Candidate(device_id, connector_id or "", hostname)
        for device_id, hostname, role, _, tags, site, connector_id, maintenance in devices
        if connector_id is not None
        and not maintenance
        and device_id not in busy
        and (check is None or check(role, tags, site))
    }


def refresh_missing(
    session: Session,
    connector: Connector,
    client_id: str,
    devices: Iterable[Candidate],
    now: datetime,
) -> dict[int, frozenset[int]]:
    """Record what the connector says these devices miss: patches added or reopened, and
    patches a device no longer reports marked installed (out of band: by hand, by another
    tool, superseded). A device the connector says nothing about is left as it was.

    Returns what the devices the connector answered for miss now (device id -> patch ids
    of its rows not installed: ``record_reported``'s)."""
    by_connector: dict[str, Candidate] = {}
    for device in devices:
        # Of devices sharing a connector id (only a database changed behind the schema's
        # back has them: ``engine.links``) the answer is the lowest id's, as the sync's is.
        held = by_connector.get(device.connector_id)
        if device.connector_id and (held is None or device.id < held.id):
            by_connector[device.connector_id] = device
    if not by_connector:
        return {}
    reported = connector.missing_patches(sorted(by_connector))
    rows = [
        (by_connector[cid].id, patches)
        for cid, patches in sorted(reported.items())
        if cid in by_connector
    ]
    return record_reported(session, client_id, rows, now)


_PATCH_IDS = select(Patch.vendor_id, Patch.id).where(
    Patch.vendor_id.in_(bindparam("vendor_ids", expanding=True))
)


def approved_patches(
    session: Session,
    client_id: str,
    device_ids: Iterable[int],
    blocklist: Blocklist,
    now: datetime,
    device_rows: Iterable[DeviceRow] | None = None,
    missing: Mapping[int, Set[int]] | None = None,
) -> dict[int, list[int]]:
    """Device id -> ids of the patches approved for it now. ``device_rows``: the client's
    devices, and ``missing``: what some devices miss, when already read in this transaction
    (see ``load_for_devices``)."""
    wanted = set(device_ids)
    loaded = load_for_devices(session, client_id, wanted, device_rows, missing)
    if loaded is None:
        return {}
    vendor_ids = [need.patch.vendor_id for need in loaded.needs]
    patch_ids = dict(direct.rows(session.connection(), _PATCH_IDS, {"vendor_ids": vendor_ids}))
    approved: dict[int, list[int]] = defaultdict(list)
    for need in loaded.needs:
        # The decision depends on the device through its ring, and through its id only
        # when an emergency decision names devices: decide once per ring otherwise.
        per_device = any(d.kind is ApprovalDecisionKind.EMERGENCY for d in need.decisions)
        decided: dict[object, bool] = {}
        for device in need.devices:
            if device.device_id not in wanted:
                continue
            key = device.device_id if per_device else (device.ring.name if device.ring else None)
            if key not in decided:
                decision = decide(
                    need.patch,
                    device_id=device.device_id,
                    ring=device.ring,
                    policy=loaded.policy,
                    blocklist=blocklist,
                    decisions=need.decisions,
                    progress=need.progress,
                    now=now,
                )
                decided[key] = decision.state is ApprovalState.APPROVED
            if decided[key]:
                approved[device.device_id].append(patch_ids[need.patch.vendor_id])
    return approved


def open_deployment(
    session: Session,
    connector: Connector,
    window: ClientWindow,
    start: datetime,
    end: datetime,
    now: datetime,
    report: StepCounts,
) -> int:
    """Open the occurrence's deployment with its targets; its id."""
    session.flush()  # (as loading the window's ORM object did: the reads below see it all)
    found = direct.rows(session.connection(), _NARROWING, {"window": window.window_id})
    assert found, window.window_id
    client_devices, devices = _opening_devices(session, window.client_id, Narrowing(*found[0]))
    missing = refresh_missing(session, connector, window.client_id, devices.values(), now)
    # (refresh_missing writes patches and device_patches only: the devices read stand; what
    # it returns is what the devices it refreshed miss now, so their rows are not read again.)
    approved = approved_patches(
        session,
        window.client_id,
        devices,
        load_blocklist(session),
        now,
        [cast(DeviceRow, device[:6]) for device in client_devices],
        missing,
    )
    deployment_id = _insert_deployment(session, window, start, end, now)
    add_targets(session, deployment_id, approved, end, now)
    record_event(
        session,
        at=now,
        kind="deployment.opened",
        entity="deployment",
        entity_id=deployment_id,
        client_id=window.client_id,
        payload={
            "window": window.spec.name,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "targets": len(approved),
        },
    )
    report.deployments_opened += 1
    report.targets_created += len(approved)
    return deployment_id


_NARROWING = select(
    MaintenanceWindow.applies_roles, MaintenanceWindow.applies_tags,
    MaintenanceWindow.applies_sites,
).where(MaintenanceWindow.id == bindparam("window"))  # fmt: skip
_INSERT_DEPLOYMENT = insert(cast(Table, Deployment.__table__))


def _insert_deployment(
    session: Session, window: ClientWindow, start: datetime, end: datetime, now: datetime
) -> int:
    """Write the occurrence's open deployment; its id. A Core insert, not an ORM object
    flushed (the step reads deployments back as rows); pending changes are flushed first,
    so the rows are written in the order the ORM's flush wrote them."""
    session.flush()
    result = session.connection().execute(
        _INSERT_DEPLOYMENT,
        {
            "client_id": window.client_id,
            "window_id": window.window_id,
            "occurrence_start": start,
            "occurrence_end": end,
            "state": DeploymentState.OPEN,
            "opened_at": now,
        },
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_targets(
    session: Session,
    deployment_id: int,
    approved: Mapping[int, Iterable[int]],
    end: datetime,
    now: datetime,
) -> None:
    """A pending target per device (by device id) with its patches (by patch id)."""
    devices = sorted(approved)
    if not devices:
        return
    rows = [
        {
            "deployment_id": deployment_id,
            "device_id": device_id,
            "state": TargetState.PENDING,
            "updated_at": now,
            "check_at": end,  # still pending when the window closes: missed or carried over
        }
        for device_id in devices
    ]
    execute_many(session.connection(), _INSERT_TARGETS, rows)  # (RETURNING would go row by row)
    target_of = dict(
        direct.rows(session.connection(), _TARGETS_OF_DEPLOYMENT, {"deployment": deployment_id})
    )
    patches = [
        {
            "target_id": target_of[device_id],
            "patch_id": patch_id,
            "state": MissingPatchState.MISSING,
        }
        for device_id in devices
        for patch_id in sorted(set(approved[device_id]))
    ]
    execute_many(session.connection(), _INSERT_PATCHES, patches)


_TARGETS = cast(Table, Target.__table__)
_INSERT_TARGETS = insert(_TARGETS)
_TARGETS_OF_DEPLOYMENT = select(_TARGETS.c.device_id, _TARGETS.c.id).where(
    _TARGETS.c.deployment_id == bindparam("deployment")
)
_INSERT_PATCHES = insert(cast(Table, TargetPatch.__table__))


_OPEN_DEPLOYMENTS = select(
    Deployment.id, Deployment.occurrence_start, Deployment.occurrence_end
).where(Deployment.state == DeploymentState.OPEN)
_UNSETTLED = (
    select(Target.deployment_id)
    .where(
        Target.deployment_id.in_(bindparam("deployments", expanding=True)),
        Target.state.not_in(SETTLED),
    )
    .distinct()
)


def close_finished(session: Session, now: datetime, report: StepCounts) -> None:
    """Close deployments past their window whose every target has settled."""
    open_rows = sorted(direct.rows(session.connection(), _OPEN_DEPLOYMENTS))
    ended = [deployment_id for deployment_id, _, end in open_rows if end <= now]
    unsettled = (
        set(direct.scalars(session.connection(), _UNSETTLED, {"deployments": ended}))
        if ended
        else set()
    )
    started = 0
    for deployment_id, start, end in open_rows:
        if end <= now and deployment_id not in unsettled:
            _close(session, deployment_id, now)
            report.deployments_closed += 1
        elif start <= now:
            started += 1
    report.open_deployments = started


def _close(session: Session, deployment_id: int, now: datetime) -> None:
    deployment = session.get_one(Deployment, deployment_id)
    states = _target_states(session, [deployment_id]).get(deployment_id, [])
    deployment.state = DeploymentState.CLOSED
    deployment.closed_at = now
    record_event(
        session,
        at=now,
        kind="deployment.closed",
        entity="deployment",
        entity_id=deployment.id,
        client_id=deployment.client_id,
        payload=_counts(states),
    )


def _target_states(
    session: Session, deployment_ids: Sequence[int]
) -> Mapping[int, list[TargetState]]:
    found: dict[int, list[TargetState]] = defaultdict(list)
    query = select(Target.deployment_id, Target.state).where(
        Target.deployment_id.in_(deployment_ids)
    )
    for deployment_id, state in session.execute(query):
        found[deployment_id].append(state)
    return found


def _counts(states: Iterable[TargetState]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for state in states:
        counts[state.value] += 1
    return dict(counts)
