"""Approval inputs from the store: what ``rules.approval`` decides from, per client.

Loading (``load_approvals``): for each client, its rules, rings and time zone
(``store.approval_policy``), the patches its in-scope devices miss (``device_patches`` not
``installed``, patch in the client's scope, the device not excluded from it by a technician:
``store.exclusions``) with those devices and their rings, the client's manual decisions on
those patches, and each ring's progress with each patch from deployments, targets, target
patches and open regression exceptions (counting as ``rules.rings`` documents). The global
block list is loaded once (``store.approval_policy.load_blocklist``). What is decided from
them is ``rules.approval``'s job.
The engine, opening a window, loads the same inputs cut to the window's devices
(``load_for_devices``: the patches they miss; the rings' progress still counts the client's
every device, so each decision is the one ``load_client`` gives). What some devices miss may
be given to it, when the caller has just read or written their rows
(``missing_refresh.record_reported`` returns it): their rows are not read again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from patchdesk.domain import ExceptionState, FailureClass, MissingPatchState, OsFamily, Role
from patchdesk.rules.approval import ApprovalPolicy, ManualDecision
from patchdesk.rules.approval_rows import ClientApprovals, DeviceNeed, PatchNeed
from patchdesk.rules.approval_rules import PatchFacts
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
from patchdesk.store.approval_policy import (
    client_ids,
    client_zone,
    decisions_of,
    load_rings,
    load_rules,
    load_scope,
)
from patchdesk.store.exclusions import active_pairs
from patchdesk.store.models import (
    Deployment,
    Device,
    DevicePatch,
    Patch,
    PatchException,
    Site,
    Target,
    TargetPatch,
)


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


def _decisions(
    session: Session, client_id: str, patch_ids: Sequence[int]
) -> dict[int, list[ManualDecision]]:
    return {
        patch_id: found
        for (_, patch_id), found in decisions_of(
            session, ((client_id, patch_id) for patch_id in patch_ids)
        ).items()
    }


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
