"""Approval inputs from the store, and technicians' approval decisions into it.

Loading (``load_approvals``): for each client, its rules, rings and time zone, the patches
its in-scope devices miss (``device_patches`` not ``installed``, patch in the client's
scope, the device not excluded from it by a technician: ``store.exclusions``) with those
devices and their rings, the client's manual decisions on those patches,
and each ring's progress with each patch from deployments, targets, target patches and
open regression exceptions (counting as ``engine.rings`` documents). The global block list
is loaded once (``load_blocklist``). What is decided from them is ``engine.approval``'s job.
The engine, opening a window, loads the same inputs cut to the window's devices
(``load_for_devices``: the patches they miss; the rings' progress still counts the client's
every device, so each decision is the one ``load_client`` gives). What some devices miss may
be given to it, when the caller has just read or written their rows
(``missing_refresh.record_reported`` returns it): their rows are not read again.

Recording (``record_decision``): one ``approval_decisions`` row, one ``approval.decided``
event and one remediation-log record (action ``approval.<kind>``, actor and operator the
technician) in the caller's transaction; use a ``Database.writer()`` session. A request is
validated whole first and refused with every problem (``DecisionError``), writing nothing.
The emergency-patch metric counts ``approval_decisions`` rows whose decision is
``emergency``, by ``decided_at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from patchdesk.domain import (
    ApprovalDecisionKind,
    ExceptionState,
    FailureClass,
    MissingPatchState,
    OsFamily,
    Role,
)
from patchdesk.rules.approval import ApprovalPolicy, BlockEntry, Blocklist, ManualDecision
from patchdesk.rules.approval_rows import ClientApprovals, DeviceNeed, PatchNeed
from patchdesk.rules.approval_rules import PatchFacts, Rule, RuleMatch
from patchdesk.rules.rings import (
    DeviceOutcome,
    Outcome,
    RingProgress,
    RingSpec,
    outcome_of,
    ring_of,
    ring_progress,
)
from patchdesk.rules.scope import Scope, ScopedDevice, device_in_scope, patch_in_scope
from patchdesk.store import direct
from patchdesk.store.events import record_event
from patchdesk.store.exclusions import active_pairs
from patchdesk.store.models import (
    ApprovalDecision,
    ApprovalRule,
    BlockedPatch,
    Client,
    ClientScope,
    Deployment,
    Device,
    DevicePatch,
    Patch,
    PatchException,
    Ring,
    Site,
    Target,
    TargetPatch,
)
from patchdesk.store.remediation_log import LogEntry, append

EVENT_KIND = "approval.decided"
MAX_OPERATOR = 100

# --- loading --------------------------------------------------------------------------------


_BLOCKLIST = select(
    BlockedPatch.patch_vendor_id, BlockedPatch.reason, BlockedPatch.blocked_by,
    BlockedPatch.blocked_at,
).order_by(BlockedPatch.id)  # fmt: skip


def load_blocklist(session: Session) -> Blocklist:
    return Blocklist(BlockEntry(*row) for row in direct.rows(session.connection(), _BLOCKLIST))


def client_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Client.id).order_by(Client.id)))


def load_approvals(session: Session, client_id: str | None = None) -> list[ClientApprovals]:
    """Approval inputs of one client, or of every client (by id); [] for an unknown id."""
    ids = client_ids(session) if client_id is None else [client_id]
    loaded = (load_client(session, cid) for cid in ids)
    return [client for client in loaded if client is not None]


class _Device(NamedTuple):
    """A device of the client, judged (a named tuple: one is made per device per load)."""

    id: int
    hostname: str
    tags: tuple[str, ...]
    in_scope: bool
    ring: RingSpec | None


def load_client(session: Session, client_id: str) -> ClientApprovals | None:
    """Approval inputs of one client: every patch its in-scope devices miss."""
    return _load(session, client_id, None, None, None)


def load_for_devices(
    session: Session,
    client_id: str,
    device_ids: Iterable[int],
    device_rows: Iterable[DeviceRow] | None = None,
    missing: Mapping[int, Set[int]] | None = None,
) -> ClientApprovals | None:
    """``load_client`` cut to what deciding for ``device_ids`` needs (the engine, when a
    window opens, decides for the window's devices only): the patches those devices miss,
    each with those of its devices among them. A decision depends on the rest of the client
    only through the rings' progress, which is still counted over every device of the
    client, so every decision made from this is the one made from ``load_client``.

    ``device_rows``: the client's devices as ``_CLIENT_DEVICES`` reads them, when the
    caller has read them already in this transaction (read here otherwise).

    ``missing``: device id -> ids of the patches it misses (its ``device_patches`` rows not
    installed), for devices whose rows the caller knows as they stand in this transaction:
    those rows are taken from it, not read (the other devices' rows are read)."""
    return _load(session, client_id, frozenset(device_ids), device_rows, missing)


def _load(
    session: Session,
    client_id: str,
    wanted: frozenset[int] | None,
    device_rows: Iterable[DeviceRow] | None,
    known: Mapping[int, Set[int]] | None,
) -> ClientApprovals | None:
    zone = client_zone(session, client_id)
    if zone is None:
        return None
    policy = ApprovalPolicy(
        rules=load_rules(session, client_id),
        rings=load_rings(session, client_id),
        zone=zone,
    )
    scope = load_scope(session, client_id)
    if device_rows is None:
        device_rows = session.connection().execute(_CLIENT_DEVICES, {"client": client_id})
    devices = _judged(device_rows, scope, policy.rings)
    missing = _missing(session, client_id, scope, devices, wanted, bool(policy.rings), known)
    missing = _without_exclusions(missing, active_pairs(session, client_id))
    patch_ids = sorted(missing)
    decisions = _decisions(session, client_id, patch_ids)
    progress = _progress(session, client_id, patch_ids, devices, missing, policy.rings)
    # One DeviceNeed per device, shared by every patch it misses (they are immutable).
    need_of = {
        device.id: DeviceNeed(device.id, device.hostname, device.ring)
        for device in devices.values()
        if wanted is None or device.id in wanted
    }
    needs = tuple(
        PatchNeed(
            patch=patch,
            devices=tuple([need_of[device.id] for device in needing if device.id in need_of]),
            decisions=tuple(decisions.get(patch_id, ())),
            progress=progress.get(patch_id, {}),
        )
        for patch_id, (patch, needing) in sorted(missing.items())
    )
    return ClientApprovals(client_id, policy, needs)


# Rules, rings, scope and zone as plain rows, not ORM objects: the engine loads them each
# time a window opens, and building the objects cost more than the queries. (Read through
# ``direct``, after ``Session.flush``: pending changes are flushed first, as the ORM queries
# and ``Session.execute`` did; a flush with nothing pending costs nothing.)
_RULES = (
    select(ApprovalRule.name, ApprovalRule.match, ApprovalRule.action, ApprovalRule.days)
    .where(ApprovalRule.client_id == bindparam("client"))
    .order_by(ApprovalRule.position)
)
_RINGS = (
    select(Ring.name, Ring.tags, Ring.soak_hours, Ring.min_success_rate)
    .where(Ring.client_id == bindparam("client"))
    .order_by(Ring.position)
)
_SCOPE = select(
    ClientScope.include_roles, ClientScope.include_tags, ClientScope.include_sites,
    ClientScope.include_os, ClientScope.exclude_devices, ClientScope.patch_os,
    ClientScope.third_party,
).where(ClientScope.client_id == bindparam("client"))  # fmt: skip
_TIMEZONE = select(Client.timezone).where(Client.id == bindparam("client"))


def load_rules(session: Session, client_id: str) -> tuple[Rule, ...]:
    session.flush()
    rows = direct.rows(session.connection(), _RULES, {"client": client_id})
    return tuple(
        Rule(number, name, RuleMatch.from_stored(match), action, days)
        for number, (name, match, action, days) in enumerate(rows, start=1)
    )


def load_rings(session: Session, client_id: str) -> tuple[RingSpec, ...]:
    session.flush()
    rows = direct.rows(session.connection(), _RINGS, {"client": client_id})
    return tuple(
        RingSpec.of(position, name, tags, soak_hours, min_success_rate)
        for position, (name, tags, soak_hours, min_success_rate) in enumerate(rows)
    )


def load_scope(session: Session, client_id: str) -> Scope:
    session.flush()
    found = direct.rows(session.connection(), _SCOPE, {"client": client_id})
    if not found:
        return Scope.unrestricted()
    roles, tags, sites, os_families, excluded, patch_os, third_party = found[0]
    return Scope.of(
        include_roles=roles,
        include_tags=tags,
        include_sites=sites,
        include_os=os_families,
        exclude_devices=excluded,
        patch_os=patch_os,
        third_party=third_party,
    )


def scoped_device(device: Device, site: str | None) -> ScopedDevice:
    return ScopedDevice(
        hostname=device.hostname,
        role=Role(device.role),
        os_family=OsFamily(device.os_family),
        site=site,
        tags=tuple(device.tags),
    )


_CLIENT_DEVICES = (
    select(Device.id, Device.hostname, Device.role, Device.os_family, Device.tags, Site.name)
    .outerjoin(Site, Device.site_id == Site.id)
    .where(Device.client_id == bindparam("client"))
)


DeviceRow = tuple[int, str, Role, OsFamily, Sequence[str], "str | None"]
"""A device as ``_CLIENT_DEVICES`` reads it: id, hostname, role, os family, tags, site."""


def _judged(
    rows: Iterable[Sequence[Any]], scope: Scope, rings: Sequence[RingSpec]
) -> dict[int, _Device]:
    """Each device (by id) with whether it is in scope and its ring."""
    # Scope and ring depend on a device's hostname only through the scope's exclusions:
    # devices alike otherwise (most of a client's) are judged once (the engine loads a
    # client each time one of its windows opens).
    in_scope: dict[tuple[Any, ...], bool] = {}
    ring: dict[tuple[str, ...], RingSpec | None] = {}
    found: dict[int, _Device] = {}
    for device_id, hostname, role, os_family, tags, site in rows:
        tag_tuple = tuple(tags)
        if scope.everything:
            scoped = True
        else:
            key = (hostname.strip().casefold() in scope.exclude_devices, role, os_family, site,
                   tag_tuple)  # fmt: skip
            scoped_or_none = in_scope.get(key)
            if scoped_or_none is None:
                device = ScopedDevice(hostname, Role(role), OsFamily(os_family), site, tag_tuple)
                scoped_or_none = in_scope[key] = device_in_scope(scope, device)
            scoped = scoped_or_none
        if tag_tuple not in ring:
            ring[tag_tuple] = ring_of(tag_tuple, rings)
        found[device_id] = _Device(device_id, hostname, tag_tuple, scoped, ring[tag_tuple])
    return found


def patch_facts(patch: Patch) -> PatchFacts:
    return PatchFacts(
        vendor_id=patch.vendor_id,
        title=patch.title,
        vendor=patch.vendor,
        product=patch.product,
        classification=patch.classification,
        severity=patch.severity,
        release_date=patch.release_date,
    )


_CLIENT_MISSING = (
    select(DevicePatch.patch_id, DevicePatch.device_id)
    .join(Device, DevicePatch.device_id == Device.id)
    .where(
        Device.client_id == bindparam("client"), DevicePatch.state != MissingPatchState.INSTALLED
    )
    .order_by(DevicePatch.patch_id, DevicePatch.device_id)
)


_PATCH_FACTS = select(
    Patch.id, Patch.vendor_id, Patch.title, Patch.vendor, Patch.product, Patch.classification,
    Patch.severity, Patch.release_date,
).where(Patch.id.in_(bindparam("ids", expanding=True)))  # fmt: skip


_DEVICES_MISSING = select(DevicePatch.patch_id, DevicePatch.device_id).where(
    DevicePatch.device_id.in_(bindparam("devices", expanding=True)),
    DevicePatch.state != MissingPatchState.INSTALLED,
)
_CHUNK = 5_000  # device ids per IN (...) list


def _missing(
    session: Session,
    client_id: str,
    scope: Scope,
    devices: dict[int, _Device],
    wanted: frozenset[int] | None = None,
    rings: bool = True,
    known: Mapping[int, Set[int]] | None = None,
) -> dict[int, tuple[PatchFacts, list[_Device]]]:
    """Patch id -> (the patch, in-scope devices still missing it), for in-scope patches;
    with ``wanted``, only the patches an in-scope device among them misses, each with all
    its devices when the client has ``rings`` (they count them), else with those wanted
    (then only their rows are read: the others would not be looked at). ``known``: what
    some devices miss (see ``load_for_devices``), taken instead of their rows; with it the
    rows of the client's other devices are read by device, not the client's every row."""
    scoped = [device_id for device_id, device in devices.items() if device.in_scope]
    if wanted is not None and not rings:
        needing = _needing_of(session, sorted(wanted.intersection(scoped)), known)
    elif wanted is not None and known:
        needing = _needing_of(session, sorted(scoped), known)
    else:
        rows = direct.rows(session.connection(), _CLIENT_MISSING, {"client": client_id})
        needing = _needing(rows, frozenset(scoped))
    if wanted is None:
        named = sorted(needing)
    else:
        named = sorted(p for p, ids in needing.items() if not wanted.isdisjoint(ids))
    if not named:
        return {}
    patches = direct.rows(session.connection(), _PATCH_FACTS, {"ids": named})
    facts = {row[0]: PatchFacts(*row[1:]) for row in patches}
    return {
        patch_id: (facts[patch_id], [devices[device_id] for device_id in needing[patch_id]])
        for patch_id in named
        if patch_id in facts
        and patch_in_scope(scope, facts[patch_id].classification, facts[patch_id].product)
    }


def _without_exclusions(
    missing: dict[int, tuple[PatchFacts, list[_Device]]], excluded: Set[tuple[int, int]]
) -> dict[int, tuple[PatchFacts, list[_Device]]]:
    """``missing`` less the (device, patch) pairs a technician excluded (``store.exclusions``):
    an excluded device does not need the patch, for its targets and its ring's progress; a
    patch no device needs any more is left out."""
    if not excluded:
        return missing
    kept: dict[int, tuple[PatchFacts, list[_Device]]] = {}
    for patch_id, (patch, needing) in missing.items():
        still = [device for device in needing if (device.id, patch_id) not in excluded]
        if still:
            kept[patch_id] = (patch, still)
    return kept


def _needing(rows: Iterable[tuple[int, int]], scoped: Set[int]) -> dict[int, list[int]]:
    """Patch id -> ids of the ``scoped`` devices missing it, from (patch id, device id) rows
    (in device id order when the rows are, as _CLIENT_MISSING's)."""
    needing: dict[int, list[int]] = {}
    for patch_id, device_id in rows:
        if device_id in scoped:
            ids = needing.get(patch_id)
            if ids is None:
                needing[patch_id] = [device_id]
            else:
                ids.append(device_id)
    return needing


def _needing_of(
    session: Session, device_ids: Sequence[int], known: Mapping[int, Set[int]] | None = None
) -> dict[int, list[int]]:
    """Patch id -> ids of these devices (given ascending) missing it, ascending: from
    ``known`` for the devices it gives, from their rows for the others."""
    known = known or {}
    read: dict[int, list[int]] = {}
    unknown = [device_id for device_id in device_ids if device_id not in known]
    for first in range(0, len(unknown), _CHUNK):
        chunk = unknown[first : first + _CHUNK]
        for patch_id, device_id in direct.rows(
            session.connection(), _DEVICES_MISSING, {"devices": chunk}
        ):
            read.setdefault(device_id, []).append(patch_id)
    needing: dict[int, list[int]] = {}
    for device_id in device_ids:
        patch_ids = known[device_id] if device_id in known else read.get(device_id, ())
        for patch_id in patch_ids:
            ids = needing.get(patch_id)
            if ids is None:
                needing[patch_id] = [device_id]
            else:
                ids.append(device_id)
    return needing


def manual_decision(row: ApprovalDecision) -> ManualDecision:
    return ManualDecision(
        kind=row.decision,
        decided_at=row.decided_at,
        operator=row.operator,
        reason=row.reason,
        until=row.until,
        device_ids=frozenset(row.device_ids),
        id=row.id,
    )


# Manual decisions as plain rows (the engine reads them at every dispatch: no ORM objects).
_DECISIONS = (
    select(
        ApprovalDecision.client_id,
        ApprovalDecision.patch_id,
        ApprovalDecision.decision,
        ApprovalDecision.decided_at,
        ApprovalDecision.operator,
        ApprovalDecision.reason,
        ApprovalDecision.until,
        ApprovalDecision.device_ids,
        ApprovalDecision.id,
    )
    .where(
        ApprovalDecision.client_id.in_(bindparam("clients", expanding=True)),
        ApprovalDecision.patch_id.in_(bindparam("patches", expanding=True)),
    )
    .order_by(ApprovalDecision.decided_at, ApprovalDecision.id)
)


def _decisions(
    session: Session, client_id: str, patch_ids: Sequence[int]
) -> dict[int, list[ManualDecision]]:
    return {
        patch_id: found
        for (_, patch_id), found in decisions_of(
            session, ((client_id, patch_id) for patch_id in patch_ids)
        ).items()
    }


def decisions_of(
    session: Session, pairs: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], list[ManualDecision]]:
    """The manual decisions (oldest first) on each (client id, patch id) pair given: one
    query for all of them."""
    wanted = set(pairs)
    if not wanted:
        return {}
    params = {
        "clients": sorted({client_id for client_id, _ in wanted}),
        "patches": sorted({patch_id for _, patch_id in wanted}),
    }
    found: dict[tuple[str, int], list[ManualDecision]] = {}
    for (
        client_id,
        patch_id,
        kind,
        decided_at,
        operator,
        reason,
        until,
        devices,
        row_id,
    ) in direct.rows(session.connection(), _DECISIONS, params):
        if (client_id, patch_id) in wanted:
            found.setdefault((client_id, patch_id), []).append(
                ManualDecision(
                    kind=kind,
                    decided_at=decided_at,
                    operator=operator,
                    reason=reason,
                    until=until,
                    device_ids=frozenset(devices),
                    id=row_id,
                )
            )
    return found


def _progress(
    session: Session,
    client_id: str,
    patch_ids: Sequence[int],
    devices: dict[int, _Device],
    missing: dict[int, tuple[PatchFacts, list[_Device]]],
    rings: Sequence[RingSpec],
) -> dict[int, dict[str, RingProgress]]:
    """Patch id -> ring name -> the ring's progress with the patch."""
    if not rings or not patch_ids:
        return {}
    outcomes = _outcomes(session, client_id, patch_ids, devices)
    regressions = _open_regressions(session, client_id, patch_ids, devices)
    progress: dict[int, dict[str, RingProgress]] = {}
    for patch_id in patch_ids:
        needing: dict[str, int] = defaultdict(int)
        for device in missing[patch_id][1]:
            if device.ring is not None:
                needing[device.ring.name] += 1
        progress[patch_id] = {
            ring.name: ring_progress(
                outcomes.get((patch_id, ring.name), ()),
                needing=needing[ring.name],
                open_regressions=regressions.get((patch_id, ring.name), 0),
            )
            for ring in rings
        }
    return progress


_OUTCOMES = (
    select(
        TargetPatch.patch_id,
        Target.device_id,
        Target.state,
        TargetPatch.state,
        Target.verified_at,
        Target.updated_at,
    )
    .join(Target, TargetPatch.target_id == Target.id)
    .join(Deployment, Target.deployment_id == Deployment.id)
    .where(
        Deployment.client_id == bindparam("client"),
        TargetPatch.patch_id.in_(bindparam("patches", expanding=True)),
    )
    .order_by(Deployment.occurrence_start, Target.id)
)


def _outcomes(
    session: Session, client_id: str, patch_ids: Sequence[int], devices: dict[int, _Device]
) -> dict[tuple[int, str], list[DeviceOutcome]]:
    """(patch id, ring name) -> its devices' target outcomes, oldest first."""
    found: dict[tuple[int, str], list[DeviceOutcome]] = defaultdict(list)
    params = {"client": client_id, "patches": list(patch_ids)}
    for patch_id, device_id, target_state, patch_state, verified_at, updated_at in direct.rows(
        session.connection(), _OUTCOMES, params
    ):
        device = devices.get(device_id)
        if device is None or device.ring is None:
            continue
        outcome = outcome_of(target_state, patch_state)
        at = verified_at if outcome is Outcome.SUCCEEDED and verified_at else updated_at
        found[(patch_id, device.ring.name)].append(DeviceOutcome(device_id, outcome, at))
    return found


_OPEN_REGRESSIONS = select(PatchException.device_id, PatchException.patch_ids).where(
    PatchException.client_id == bindparam("client"),
    PatchException.failure_class == FailureClass.REGRESSION,
    PatchException.state != ExceptionState.RESOLVED,
)


def _open_regressions(
    session: Session, client_id: str, patch_ids: Sequence[int], devices: dict[int, _Device]
) -> dict[tuple[int, str], int]:
    """(patch id, ring name) -> unresolved regression exceptions that name the patch."""
    wanted = set(patch_ids)
    rows = direct.rows(session.connection(), _OPEN_REGRESSIONS, {"client": client_id})
    found: dict[tuple[int, str], int] = defaultdict(int)
    for device_id, named in rows:
        device = devices.get(device_id)
        if device is None or device.ring is None:
            continue
        for patch_id in set(named) & wanted:
            found[(patch_id, device.ring.name)] += 1
    return found


# --- recording ------------------------------------------------------------------------------


class DecisionError(Exception):
    """A decision that cannot be recorded; ``problems``: one line each, for people."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class DecisionRequest:
    """A technician's decision. ``patch_id`` is the vendor id (KB number, package+version);
    ``hostnames`` are the devices of an emergency."""

    client_id: str
    patch_id: str
    kind: ApprovalDecisionKind
    operator: str
    reason: str = ""
    until: datetime | None = None
    hostnames: tuple[str, ...] = ()


def client_zone(session: Session, client_id: str) -> ZoneInfo | None:
    session.flush()
    found = direct.scalars(session.connection(), _TIMEZONE, {"client": client_id})
    timezone = found[0] if found else None
    return None if timezone is None else ZoneInfo(timezone)


def find_patch(session: Session, vendor_id: str) -> Patch | None:
    """The patch with this id, else the only one equal to it ignoring case."""
    exact = session.scalars(select(Patch).where(Patch.vendor_id == vendor_id)).first()
    if exact is not None:
        return exact
    folded = session.scalars(
        select(Patch).where(func.lower(Patch.vendor_id) == vendor_id.lower())
    ).all()
    return folded[0] if len(folded) == 1 else None


@dataclass(frozen=True)
class RecordedDecision:
    """What was written: the decision's id, client, patch (vendor id) and its log note."""

    id: int
    client_id: str
    patch_id: str
    note: str


def record_decision(
    session: Session, request: DecisionRequest, *, now: datetime
) -> RecordedDecision:
    """Validate ``request`` whole (``DecisionError`` with every problem), then write it."""
    problems = _request_problems(request, now)
    client = session.get(Client, request.client_id)
    if client is None:
        known = client_ids(session)
        hint = f" (known: {', '.join(known[:20])})" if known else " (run 'patchdesk policy apply')"
        problems.append(f"unknown client {request.client_id!r}{hint}")
    patch = find_patch(session, request.patch_id)
    if patch is None:
        problems.append(
            f"unknown patch {request.patch_id!r} (patches come from 'patchdesk inventory patches')"
        )
    else:
        problems += _blocklist_problems(session, patch, request.kind)
    devices: list[Device] = []
    if client is not None and request.kind is ApprovalDecisionKind.EMERGENCY:
        devices, device_problems = _emergency_devices(session, client.id, request.hostnames)
        problems += device_problems
    if problems or patch is None or client is None:
        raise DecisionError(problems)
    row = ApprovalDecision(
        client_id=client.id,
        patch_id=patch.id,
        decision=request.kind,
        until=request.until,
        reason=request.reason.strip(),
        device_ids=[device.id for device in devices],
        operator=request.operator,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    note = decision_note(row, patch.vendor_id, [device.hostname for device in devices])
    _log(session, row, patch, devices, note, now)
    return RecordedDecision(row.id, row.client_id, patch.vendor_id, note)


def _request_problems(request: DecisionRequest, now: datetime) -> list[str]:
    """What is wrong with the request on its own (no database needed)."""
    problems: list[str] = []
    kind = request.kind
    operator = request.operator.strip()
    if not operator:
        problems.append("operator: must not be blank (set --operator or the operator setting)")
    elif len(operator) > MAX_OPERATOR:
        problems.append(f"operator: longer than {MAX_OPERATOR} characters")
    if "\x00" in request.reason:
        problems.append("--reason: must not contain NUL characters")
    if kind in (ApprovalDecisionKind.BLOCK, ApprovalDecisionKind.EMERGENCY) and not (
        request.reason.strip()
    ):
        problems.append(f"--reason: required for {kind.value}: say why, for the log")
    if kind is ApprovalDecisionKind.DEFER:
        if request.until is None:
            problems.append("--until: required for defer: the date or time the patch may go")
        elif request.until <= now:
            problems.append(
                f"--until: {request.until.isoformat()} is not in the future "
                f"(now is {now.isoformat(timespec='seconds')})"
            )
    elif request.until is not None:
        problems.append(f"--until: only for defer, not {kind.value}")
    if kind is ApprovalDecisionKind.EMERGENCY:
        if not request.hostnames:
            problems.append("--device: an emergency needs at least one device")
    elif request.hostnames:
        problems.append(f"--device: only for emergency, not {kind.value}")
    return problems


def _blocklist_problems(session: Session, patch: Patch, kind: ApprovalDecisionKind) -> list[str]:
    if kind not in (ApprovalDecisionKind.APPROVE, ApprovalDecisionKind.EMERGENCY):
        return []
    entry = load_blocklist(session).find(patch.vendor_id)
    if entry is None:
        return []
    return [
        f"{patch.vendor_id} is on the global block list ({entry.reason}); the block list wins "
        "over every approval, so lift the block first"
    ]


def _emergency_devices(
    session: Session, client_id: str, hostnames: Iterable[str]
) -> tuple[list[Device], list[str]]:
    """The client's devices named by ``hostnames`` (ignoring case), and what is wrong."""
    rows = session.execute(
        select(Device, Site.name)
        .outerjoin(Site, Device.site_id == Site.id)
        .where(Device.client_id == client_id)
    )
    by_name: dict[str, list[tuple[Device, str | None]]] = defaultdict(list)
    for row_device, row_site in rows:
        by_name[row_device.hostname.casefold()].append((row_device, row_site))
    scope = load_scope(session, client_id)
    chosen: dict[int, Device] = {}
    problems: list[str] = []
    for hostname in hostnames:
        exact = [(d, s) for d, s in by_name.get(hostname.casefold(), []) if d.hostname == hostname]
        matches = exact or by_name.get(hostname.casefold(), [])
        if len(matches) != 1:
            problems.append(f"--device: {hostname!r} is not a device of client {client_id!r}")
            continue
        device, site = matches[0]
        if not device_in_scope(scope, scoped_device(device, site)):
            problems.append(
                f"--device: {device.hostname!r} is outside the patch scope of {client_id!r}; "
                "patchdesk never patches it"
            )
            continue
        chosen[device.id] = device
    return list(chosen.values()), problems


def _log(
    session: Session,
    row: ApprovalDecision,
    patch: Patch,
    devices: Sequence[Device],
    note: str,
    now: datetime,
) -> None:
    hostnames = [device.hostname for device in devices]
    payload: dict[str, Any] = {
        "decision": row.decision.value,
        "patch_id": patch.vendor_id,
        "patch": patch.id,
        "operator": row.operator,
        "reason": row.reason,
        "until": row.until.isoformat() if row.until else None,
        "device_ids": list(row.device_ids),
        "hostnames": hostnames,
        "emergency": row.decision is ApprovalDecisionKind.EMERGENCY,
    }
    record_event(
        session,
        at=now,
        kind=EVENT_KIND,
        entity="approval_decision",
        entity_id=row.id,
        client_id=row.client_id,
        payload=payload,
    )
    append(
        session,
        LogEntry(
            at=now,
            actor=row.operator,
            operator=row.operator,
            action=f"approval.{row.decision.value}",
            outcome="recorded",
            note=note,
            client_id=row.client_id,
            device_id=devices[0].id if len(devices) == 1 else None,
        ),
    )


def decision_note(row: ApprovalDecision, vendor_id: str, hostnames: Sequence[str]) -> str:
    """The remediation-log note: what was decided, on what, and why."""
    words = {
        ApprovalDecisionKind.APPROVE: f"approved {vendor_id}",
        ApprovalDecisionKind.BLOCK: f"blocked {vendor_id}",
        ApprovalDecisionKind.DEFER: f"deferred {vendor_id}"
        + (f" until {row.until.isoformat()}" if row.until else ""),
        ApprovalDecisionKind.EMERGENCY: f"emergency approval of {vendor_id} for "
        + ", ".join(hostnames),
    }[row.decision]
    return f"{words}: {row.reason}" if row.reason else words
